"""MXNet's RecordIO container (``.rec``) and its ``.idx`` index, read and written in Python.

The format is dmlc-core's, byte for byte. A ``.rec`` is a chain of chunks::

    uint32 magic 0xced7230a | uint32 lrec = cflag << 29 | length | data | zero padding to 4 bytes

all little-endian. A record is one chunk (``cflag`` 0) or several (1 first, 2 middle, 3 last):
MXNet's writer cuts a record wherever its data holds the magic number at a 4-byte aligned
position, drops the magic there and the reader puts it back between the chunks. The ``.idx``
has one line per record, ``key \\t offset \\n``, the offset of its first chunk in the ``.rec``.

Why not ``mxnet.recordio``: its reader is one C handle with one read position shared by every
thread (seek, then read), so data-loader threads read each other's records (wrong images, or
``buffer is smaller than requested size``); its writer turns a full disk into an ``MXNetError``
and frees its handle twice when interrupted; it checks nothing (an ``.idx`` cut short or from
another file reads without a word). Here reads use ``os.pread`` (no shared position: safe in
threads, and the file is reopened in a forked process), writes raise ``OSError`` like any file,
and :func:`open_indexed` cross-checks the ``.idx`` against the chain of the ``.rec``.
"""
import os
import struct
import threading
from typing import NamedTuple

import numpy as np

from gluoncv_hard.errors import InputError

__all__ = ['RECORD_MAGIC', 'MAX_RECORD_BYTES', 'RecordFileError', 'RecordSpan', 'IndexEntry',
           'RecordWriter', 'RecordReader', 'read_index', 'scan_records', 'open_indexed',
           'pack_payload', 'split_payload', 'read_header']

RECORD_MAGIC = 0xced7230a
_MAGIC_BYTES = struct.pack('<I', RECORD_MAGIC)
_CHUNK_HEADER = struct.Struct('<II')
_LENGTH_BITS = 29
# dmlc-core refuses records of 2**29 bytes or more (the length field has 29 bits).
MAX_RECORD_BYTES = (1 << _LENGTH_BITS) - 1
_WHOLE, _FIRST, _MIDDLE, _LAST = range(4)
# IRHeader as mxnet.recordio packs it: flag (number of label floats), label, id, id2.
_IR_HEADER = struct.Struct('<IfQQ')
REBUILD_HINT = 're-create the .rec and .idx together (gluoncv-hard-convert --rec)'


class RecordFileError(InputError):
    """A ``.rec`` or ``.idx`` file is damaged, truncated or does not belong to its partner."""


def _padded(length):
    return (length + 3) & ~3


class RecordSpan(NamedTuple):
    """Where one record lies in a ``.rec``.

    Attributes
    ----------
    offset : int
        Byte offset of its first chunk (what the ``.idx`` stores).
    chunks : tuple of (int, int)
        ``(data offset, data length)`` of each chunk, in order.
    end : int
        Byte offset just past its last chunk's padding (the next record's offset).
    """
    offset: int
    chunks: tuple
    end: int

    @property
    def payload_size(self):
        """Bytes of the record's data once the chunks are joined (magic numbers put back)."""
        return sum(length for _, length in self.chunks) + 4 * (len(self.chunks) - 1)


class IndexEntry(NamedTuple):
    """One ``.idx`` line: record ``key``, ``offset`` in the ``.rec``, and its ``line`` number."""
    key: int
    offset: int
    line: int


class RecordWriter:
    """Append records to an open ``.rec`` and ``.idx`` (binary and text file objects).

    Writes exactly what ``mxnet.recordio.MXIndexedRecordIO.write_idx`` writes. Errors of the
    files (a full disk, say) are ``OSError`` from the file objects; closing them is the caller's.
    """

    def __init__(self, rec_file, idx_file):
        self._rec, self._idx = rec_file, idx_file
        self._position = 0
        self.count = 0

    def write(self, key, payload):
        """Write one record (``bytes``) under integer ``key``; returns its offset."""
        payload = bytes(payload)
        if len(payload) > MAX_RECORD_BYTES:
            raise InputError('record {} is {} bytes; RecordIO holds at most {} bytes per record '
                             '(use smaller images)'.format(key, len(payload), MAX_RECORD_BYTES))
        offset = self._position
        start, aligned_end = 0, len(payload) & ~3
        # dmlc-core's escaping: a magic number at an aligned position ends a chunk.
        position = payload.find(_MAGIC_BYTES, 0, aligned_end)
        while position >= 0:
            if position % 4 == 0:
                self._chunk(_FIRST if start == 0 else _MIDDLE, payload[start:position])
                start = position + 4
                position = payload.find(_MAGIC_BYTES, start, aligned_end)
            else:
                position = payload.find(_MAGIC_BYTES, position + 1, aligned_end)
        self._chunk(_LAST if start else _WHOLE, payload[start:])
        padding = _padded(len(payload)) - len(payload)
        if padding:
            self._rec.write(b'\x00' * padding)
            self._position += padding
        self._idx.write('{}\t{}\n'.format(int(key), offset))
        self.count += 1
        return offset

    def _chunk(self, cflag, data):
        self._rec.write(_CHUNK_HEADER.pack(RECORD_MAGIC, cflag << _LENGTH_BITS | len(data)))
        self._rec.write(data)
        self._position += _CHUNK_HEADER.size + len(data)


class RecordReader:
    """Random access to a ``.rec`` file, safe to share between threads and processes.

    Every read is an ``os.pread`` (no file position is shared); a process that inherited the
    reader by ``fork`` opens its own descriptor on first use. Picklable (the descriptor is not
    pickled).
    """

    def __init__(self, path):
        self.path = path
        self._lock = threading.Lock()
        self._fd, self._pid = None, None
        self.size = os.path.getsize(path)

    def _descriptor(self):
        pid = os.getpid()
        if self._pid != pid:
            with self._lock:
                if self._pid != pid:
                    self._fd, self._pid = os.open(self.path, os.O_RDONLY), pid
        return self._fd

    def read_at(self, offset, count):
        """Up to ``count`` bytes at ``offset`` (fewer only at the end of the file)."""
        fd = self._descriptor()
        parts, done = [], 0
        while done < count:
            data = os.pread(fd, count - done, offset + done)
            if not data:
                break
            parts.append(data)
            done += len(data)
        return b''.join(parts)

    def payload(self, span, start=0, count=None):
        """Bytes ``start:start+count`` of a record's joined data (all of it by default)."""
        size = span.payload_size
        count = size - start if count is None else min(count, size - start)
        if len(span.chunks) == 1:
            data = self.read_at(span.chunks[0][0] + start, count)
        else:
            data = _MAGIC_BYTES.join(self.read_at(o, n) for o, n in span.chunks)[
                start:start + count]
        if len(data) != count:
            raise RecordFileError('{}: the record at byte {} ends early (the file changed while '
                                  'it was read?); {}'.format(self.path, span.offset,
                                                             REBUILD_HINT))
        return data

    def close(self):
        """Close this process's descriptor (a later read opens it again)."""
        with self._lock:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd, self._pid = None, None

    def __getstate__(self):
        state = dict(self.__dict__)
        state.update(_lock=None, _fd=None, _pid=None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __del__(self):
        try:
            self.close()
        except (OSError, TypeError, AttributeError):  # interpreter shutdown
            pass


def read_index(idx_path):
    """Parse a ``.idx`` file strictly.

    Returns
    -------
    list of IndexEntry
        In file order.

    Raises
    ------
    RecordFileError
        For a line that is not ``integer key \\t integer offset`` (a file cut mid-line), a key
        or offset listed twice (duplicated lines), naming the file and line.
    """
    entries, line_of_key, line_of_offset = [], {}, {}
    with open(idx_path, 'rb') as f:
        data = f.read()
    try:
        text = data.decode('ascii')
    except UnicodeDecodeError:
        raise RecordFileError('{}: not a .idx file (binary content); {}'.format(
            idx_path, REBUILD_HINT)) from None
    for number, line in enumerate(text.split('\n'), 1):
        if not line.strip():
            continue
        where = '{}:{}'.format(idx_path, number)
        fields = line.strip().split('\t')
        try:
            if len(fields) != 2:
                raise ValueError
            key, offset = int(fields[0]), int(fields[1])
            if offset < 0:
                raise ValueError
        except ValueError:
            raise RecordFileError('{}: expected "key<TAB>offset" (two integers), found {!r}: the '
                                  'index is damaged or cut mid-line; {}'.format(
                                      where, line[:60], REBUILD_HINT)) from None
        if key in line_of_key:
            raise RecordFileError('{}: key {} is listed again (first at line {}): duplicated '
                                  'lines; {}'.format(where, key, line_of_key[key], REBUILD_HINT))
        if offset in line_of_offset:
            raise RecordFileError('{}: offset {} is listed again (first at line {}): duplicated '
                                  'lines; {}'.format(where, offset, line_of_offset[offset],
                                                     REBUILD_HINT))
        line_of_key[key], line_of_offset[offset] = number, number
        entries.append(IndexEntry(key, offset, number))
    return entries


def scan_records(reader):
    """Walk the chain of chunks of a ``.rec`` from its first byte to its last.

    Parameters
    ----------
    reader : RecordReader

    Returns
    -------
    dict
        ``offset -> RecordSpan`` of every record, in file order.

    Raises
    ------
    RecordFileError
        When a chunk does not start with the magic number, its flags do not continue the
        record, or the file ends inside a chunk (a truncated ``.rec``), naming the byte offset.
    """
    spans, position, size, path = {}, 0, reader.size, reader.path
    while position < size:
        start, chunks = position, []
        while True:
            header = reader.read_at(position, _CHUNK_HEADER.size)
            if len(header) < _CHUNK_HEADER.size:
                raise RecordFileError(
                    '{}: the file ends inside the record at byte {} ({} bytes, {} records '
                    'before it): the .rec is truncated; {}'.format(path, start, size,
                                                                   len(spans), REBUILD_HINT))
            magic, lrec = _CHUNK_HEADER.unpack(header)
            if magic != RECORD_MAGIC:
                raise RecordFileError(
                    '{}: no record starts at byte {} (after {} records): the file is damaged '
                    'or not a RecordIO file; {}'.format(path, position, len(spans),
                                                        REBUILD_HINT))
            cflag, length = lrec >> _LENGTH_BITS, lrec & MAX_RECORD_BYTES
            expected = (_WHOLE, _FIRST) if not chunks else (_MIDDLE, _LAST)
            if cflag not in expected:
                raise RecordFileError('{}: the chunk at byte {} has flag {}, which cannot {} a '
                                      'record: the file is damaged; {}'.format(
                                          path, position, cflag,
                                          'start' if not chunks else 'continue', REBUILD_HINT))
            data_offset = position + _CHUNK_HEADER.size
            position = data_offset + _padded(length)
            if position > size:
                raise RecordFileError(
                    '{}: the record at byte {} needs {} bytes but the file ends after {}: the '
                    '.rec is truncated; {}'.format(path, start, position - start, size - start,
                                                   REBUILD_HINT))
            chunks.append((data_offset, length))
            if cflag in (_WHOLE, _LAST):
                break
        spans[start] = RecordSpan(start, tuple(chunks), position)
    return spans


def pack_payload(label, record_id, image_bytes):
    """A record's data as ``mxnet.recordio.pack(IRHeader(0, label, record_id, 0), image_bytes)``
    makes it, without importing MXNet: the IRHeader (``flag`` = number of label floats), the
    float32 label, then the image bytes."""
    label = np.asarray(label, dtype='<f4').ravel()
    return _IR_HEADER.pack(label.size, 0.0, int(record_id), 0) + label.tobytes() + \
        bytes(image_bytes)


def split_payload(payload_head, where):
    """The IRHeader of a record from the first bytes of its data.

    Parameters
    ----------
    payload_head : bytes
        At least ``_IR_HEADER.size`` bytes, plus ``4 * flag`` for the label.
    where : str

    Returns
    -------
    (label float32 array, record id, header bytes)
        ``header bytes`` is where the image starts in the payload.
    """
    if len(payload_head) < _IR_HEADER.size:
        raise RecordFileError('{}: the record holds {} bytes, fewer than its {}-byte header; '
                              '{}'.format(where, len(payload_head), _IR_HEADER.size,
                                          REBUILD_HINT))
    flag, label, record_id, _ = _IR_HEADER.unpack_from(payload_head)
    if flag == 0:
        return np.array([label], dtype=np.float32), record_id, _IR_HEADER.size
    end = _IR_HEADER.size + 4 * flag
    if len(payload_head) < end:
        raise RecordFileError('{}: the header says the label has {} numbers but the record '
                              'ends before them; {}'.format(where, flag, REBUILD_HINT))
    values = np.frombuffer(payload_head, dtype='<f4', count=flag, offset=_IR_HEADER.size)
    return values.astype(np.float32), record_id, end


def open_indexed(rec_path, idx_path):
    """Open a ``.rec`` with its ``.idx`` and check that they belong together.

    Returns
    -------
    reader : RecordReader
    records : list of (IndexEntry, RecordSpan)
        In ``.idx`` order (the data set order, as MXNet's ``RecordFileDataset``).

    Raises
    ------
    RecordFileError
        For a damaged ``.idx`` (see :func:`read_index`) or ``.rec`` (see :func:`scan_records`),
        an ``.idx`` offset that is not the start of a record, or a ``.rec`` holding records the
        ``.idx`` does not list (an index cut short, or from another file).
    """
    reader = RecordReader(rec_path)
    entries = read_index(idx_path)
    spans = scan_records(reader)
    records = []
    for entry in entries:
        span = spans.get(entry.offset)
        if span is None:
            raise RecordFileError(
                '{}:{}: offset {} of key {} is not where a record of {} starts: the .idx belongs '
                'to another .rec, or one of them was replaced without the other; {}'.format(
                    idx_path, entry.line, entry.offset, entry.key, rec_path, REBUILD_HINT))
        records.append((entry, span))
    if len(entries) != len(spans):
        listed = {entry.offset for entry in entries}
        missing = next(offset for offset in spans if offset not in listed)
        raise RecordFileError(
            '{} lists {} records but {} holds {} (the first unlisted one at byte {}): the index '
            'was cut short or belongs to another .rec; {}'.format(
                idx_path, len(entries), rec_path, len(spans), missing, REBUILD_HINT))
    return reader, records


def read_header(reader, span, where):
    """The IRHeader of a record, read without its image: ``(label, record id, image start)``.

    ``label`` is a float32 array, ``image start`` the offset of the image bytes in the record's
    data. See :func:`split_payload`.
    """
    head = reader.payload(span, 0, _IR_HEADER.size)
    if len(head) == _IR_HEADER.size:
        flag = _IR_HEADER.unpack_from(head)[0]
        if flag:
            head = reader.payload(span, 0, _IR_HEADER.size + 4 * flag)
    return split_payload(head, where)
