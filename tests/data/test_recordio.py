"""Our RecordIO reader/writer against MXNet's own, and the damage they diagnose."""
import os
import pickle
import struct
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mxnet import recordio as mx_recordio

from gluoncv_hard.data.recordio import (
    RECORD_MAGIC,
    RecordFileError,
    RecordReader,
    RecordWriter,
    open_indexed,
    read_header,
    read_index,
    scan_records,
)
from gluoncv_hard.data.records import pack_record

MAGIC = struct.pack('<I', RECORD_MAGIC)
# Payloads that exercise dmlc-core's escaping: the magic number at aligned and unaligned
# positions, twice in a row, at the start and at the end, and lengths of every residue mod 4.
PAYLOADS = [b'', b'a', b'ab', b'abc', b'abcd', MAGIC, MAGIC + b'x', b'1234' + MAGIC,
            b'12' + MAGIC + b'34', MAGIC + MAGIC, b'xyzw' + MAGIC + MAGIC + b'tail!',
            b'\0' * 13, bytes(range(256)) * 3]


def _write_both(tmp_path, payloads):
    theirs = mx_recordio.MXIndexedRecordIO(str(tmp_path / 'm.idx'), str(tmp_path / 'm.rec'), 'w')
    for key, payload in enumerate(payloads):
        theirs.write_idx(key, payload)
    theirs.close()
    with open(tmp_path / 'o.rec', 'wb') as rec, open(tmp_path / 'o.idx', 'w') as idx:
        writer = RecordWriter(rec, idx)
        for key, payload in enumerate(payloads):
            writer.write(key, payload)
    return str(tmp_path / 'm'), str(tmp_path / 'o')


def test_writer_is_byte_identical_to_mxnet_and_reads_back(tmp_path):
    mine, ours = _write_both(tmp_path, PAYLOADS)
    for ext in ('.rec', '.idx'):
        with open(mine + ext, 'rb') as a, open(ours + ext, 'rb') as b:
            assert a.read() == b.read(), ext
    reader, records = open_indexed(ours + '.rec', ours + '.idx')
    assert [entry.key for entry, _ in records] == list(range(len(PAYLOADS)))
    assert [reader.payload(span) for _, span in records] == PAYLOADS
    # Records holding the magic number at an aligned position are split into chunks, as MXNet
    # does; b'12' + MAGIC + b'34' holds it unaligned and stays whole.
    assert [len(span.chunks) for _, span in records][5:11] == [2, 2, 2, 1, 3, 3]
    theirs = mx_recordio.MXIndexedRecordIO(ours + '.idx', ours + '.rec', 'r')
    assert [theirs.read_idx(k) for k in range(len(PAYLOADS))] == PAYLOADS


@settings(max_examples=40, deadline=None)
@given(st.lists(st.binary(max_size=40).map(lambda b: b.replace(b'Q', MAGIC)), max_size=6))
def test_random_payloads_round_trip(tmp_path_factory, payloads):
    tmp_path = tmp_path_factory.mktemp('rec')
    mine, ours = _write_both(tmp_path, payloads)
    with open(mine + '.rec', 'rb') as a, open(ours + '.rec', 'rb') as b:
        assert a.read() == b.read()
    reader, records = open_indexed(ours + '.rec', ours + '.idx')
    assert [reader.payload(span) for _, span in records] == payloads


def test_header_and_label_read_without_the_image(tmp_path):
    payloads = [pack_record(7, ['4', '6', '10', '20', '1', '0.1', '0.2', '0.3', '0.4', '1'],
                            b'IMAGE'), pack_record(8, ['4', '6', '1', '1'], MAGIC + b'IMG')]
    _, ours = _write_both(tmp_path, payloads)
    reader, records = open_indexed(ours + '.rec', ours + '.idx')
    values, record_id, start = read_header(reader, records[0][1], 'r0')
    assert record_id == 7 and values.dtype == np.float32
    np.testing.assert_allclose(values, [4, 6, 10, 20, 1, 0.1, 0.2, 0.3, 0.4, 1], rtol=1e-6)
    assert reader.payload(records[0][1], start) == b'IMAGE'
    values, record_id, start = read_header(reader, records[1][1], 'r1')
    assert record_id == 8 and values.tolist() == [4, 6, 1, 1]
    assert reader.payload(records[1][1], start) == MAGIC + b'IMG'


def test_reader_is_shared_safely_by_threads_and_pickles(tmp_path):
    payloads = [bytes([k]) * (1000 + 37 * k) for k in range(40)]
    _, ours = _write_both(tmp_path, payloads)
    reader, records = open_indexed(ours + '.rec', ours + '.idx')
    wrong = []

    def read_all(order):
        for k in order:
            if reader.payload(records[k][1]) != payloads[k]:
                wrong.append(k)
    rng = np.random.default_rng(0)
    threads = [threading.Thread(target=read_all, args=(rng.permutation(40).tolist() * 20,))
               for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
    copy = pickle.loads(pickle.dumps(reader))
    assert copy.payload(records[3][1]) == payloads[3]


def test_a_forked_process_reads_with_its_own_descriptor(tmp_path):
    payloads = [b'first', b'second!!']
    _, ours = _write_both(tmp_path, payloads)
    reader, records = open_indexed(ours + '.rec', ours + '.idx')
    assert reader.payload(records[0][1]) == b'first'
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report what it reads, then leave without cleanup
        try:
            ok = reader.payload(records[1][1]) == b'second!!' and reader._pid == os.getpid()
            os.write(write_end, b'1' if ok else b'0')
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read_end, 1) == b'1'
    assert reader.payload(records[1][1]) == b'second!!'


# --- damage ---------------------------------------------------------------------------------

@pytest.fixture
def good(tmp_path):
    payloads = [pack_record(k, ['4', '6', '8', '8'], bytes([k]) * (50 + k)) for k in range(6)]
    return _write_both(tmp_path, payloads)[1]


def _idx_lines(base):
    with open(base + '.idx') as f:
        return f.read().splitlines(keepends=True)


def _write(path, data):
    with open(path, 'wb' if isinstance(data, bytes) else 'w') as f:
        f.write(data)


def test_an_index_cut_at_a_line_is_found(good):
    _write(good + '.idx', ''.join(_idx_lines(good)[:3]))
    with pytest.raises(RecordFileError, match=r'o.idx lists 3 records but .*o.rec holds 6 \(the '
                                              r'first unlisted one at byte \d+\): the index was '
                                              r'cut short'):
        open_indexed(good + '.rec', good + '.idx')


def test_duplicated_index_lines_are_found(good):
    lines = _idx_lines(good)
    _write(good + '.idx', ''.join(lines + lines[2:3]))
    with pytest.raises(RecordFileError, match=r'o.idx:7: key 2 is listed again \(first at line '
                                              r'3\): duplicated lines'):
        read_index(good + '.idx')
    _write(good + '.idx', ''.join(lines[:3] + ['9\t' + lines[2].split('\t')[1]] + lines[3:]))
    with pytest.raises(RecordFileError, match=r'o.idx:4: offset \d+ is listed again'):
        read_index(good + '.idx')


@pytest.mark.parametrize('cut', ['4\t', '4', '4\t1x', 'x\t0'])
def test_an_index_cut_mid_line_is_found(good, cut):
    _write(good + '.idx', ''.join(_idx_lines(good)[:4]) + cut)
    with pytest.raises(RecordFileError, match=r'o.idx:5: expected "key<TAB>offset"'):
        read_index(good + '.idx')


def test_an_offset_that_is_no_record_start_is_found(good):
    lines = _idx_lines(good)
    key, offset = lines[2].split('\t')
    _write(good + '.idx', ''.join(lines[:2] + ['{}\t{}\n'.format(key, int(offset) + 4)]
                                  + lines[3:]))
    with pytest.raises(RecordFileError, match=r'o.idx:3: offset \d+ of key 2 is not where a '
                                              r'record of .*o.rec starts'):
        open_indexed(good + '.rec', good + '.idx')


@pytest.mark.parametrize('keep', [3, 9, 60, -1, -3])
def test_a_truncated_rec_is_found(good, keep):
    with open(good + '.rec', 'rb') as f:
        data = f.read()
    _write(good + '.rec', data[:keep] if keep > 0 else data[:len(data) + keep])
    with pytest.raises(RecordFileError, match=r'o.rec: the (file ends inside|record at byte \d+ '
                                              r'needs).* truncated'):
        scan_records(RecordReader(good + '.rec'))


def test_garbage_in_a_rec_is_found(good, tmp_path):
    with open(good + '.rec', 'r+b') as f:
        f.seek(0, 2)
        f.write(b'JUNKJUNK')
    with pytest.raises(RecordFileError, match=r'no record starts at byte \d+ \(after 6 records\)'):
        scan_records(RecordReader(good + '.rec'))
    _write(str(tmp_path / 'x.rec'), b'\x0a\x23\xd7\xce' + struct.pack('<I', 2 << 29 | 4) + b'abcd')
    with pytest.raises(RecordFileError, match='has flag 2, which cannot start a record'):
        scan_records(RecordReader(str(tmp_path / 'x.rec')))
    _write(str(tmp_path / 'bin.idx'), b'\xff\xfe\x00')
    with pytest.raises(RecordFileError, match='not a .idx file'):
        read_index(str(tmp_path / 'bin.idx'))
