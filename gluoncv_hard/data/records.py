"""Format and parse detection records: ``.lst`` lines and ``.rec``/``.idx`` entries.

One record describes one image::

    idx \\t A \\t B \\t W \\t H \\t cls xmin ymin xmax ymax hard (x N) \\t relative/path   (.lst)
    IRHeader(label=[A, B, W, H, cls, xmin, ...], id=idx) + image bytes              (.rec)

(see ``gluoncv_hard.schema``). The ``.rec`` header label holds exactly the numbers written in the
``.lst`` line: both are made from the same formatted fields. An image without boxes is a record
with the header only. Records written by others with ``B = 5`` (no hard field) read as hard = 0.
"""
import os
from typing import NamedTuple, Optional

import numpy as np

from gluoncv_hard import schema
from gluoncv_hard.errors import InputError, InputNotFoundError

__all__ = ['RecordFormatError', 'RecordLabel', 'LstLine', 'record_fields', 'check_lst_path',
           'format_lst_line', 'parse_record_label', 'parse_lst_line', 'checked_label', 'read_lst',
           'label_to_pixels', 'pack_record', 'unpack_record', 'rec_index_path',
           'require_rec_files', 'open_rec', 'iter_rec_labels']

# Internal label column of each record field, in record order.
_COLUMN_OF_FIELD = {'cls': schema.CLASS_ID, 'xmin': schema.XMIN, 'ymin': schema.YMIN,
                    'xmax': schema.XMAX, 'ymax': schema.YMAX, 'hard': schema.HARD}
RECORD_COLUMNS = [_COLUMN_OF_FIELD[name] for name in schema.LST_FIELDS]
# Fields up to and including 'cls' and the box are required; 'hard' may be absent (B = 5).
MIN_OBJECT_WIDTH = schema.LST_FIELDS.index('hard')
_INTEGER_FIELDS = frozenset(('cls', 'hard'))
# Normalized coordinates are written with 6 decimals: 0.005 px on a 10,000 px side.
_COORDINATE_FORMAT = '{:.6f}'


class RecordFormatError(InputError):
    """A ``.lst`` line or ``.rec`` header label does not follow the record format."""


class RecordLabel(NamedTuple):
    """A parsed record label.

    Attributes
    ----------
    header_width : int
        ``A``, the number of header fields.
    object_width : int
        ``B``, the number of fields per box in the record.
    width, height : int or None
        Image size from the header, or None when the header is shorter than ``A = 4``.
    label : numpy.ndarray, float32, shape (N, 6)
        Internal label ``xmin, ymin, xmax, ymax, cls, hard`` in record units (normalized if
        the record is); ``(0, 6)`` for a record without boxes.
    """
    header_width: int
    object_width: int
    width: Optional[int]
    height: Optional[int]
    label: np.ndarray


class LstLine(NamedTuple):
    """One parsed ``.lst`` line: record ``index``, ``RecordLabel`` and relative image ``path``."""
    index: int
    record: RecordLabel
    path: str


def record_fields(width, height, label):
    """The text fields of a record label: ``A, B, W, H`` then 6 fields per box.

    Parameters
    ----------
    width, height : int
        Image size in pixels (as decoded).
    label : numpy.ndarray, shape (N, 6)
        Internal label in pixels; class ids and hard flags must be integers.

    Returns
    -------
    list of str
        Coordinates are normalized by ``width``/``height`` and written with 6 decimals.
    """
    fields = [str(schema.LST_HEADER_WIDTH), str(schema.LST_OBJECT_WIDTH),
              str(int(width)), str(int(height))]
    scale = {'xmin': width, 'xmax': width, 'ymin': height, 'ymax': height}
    for row in np.asarray(label, dtype=np.float64):
        for name, column in zip(schema.LST_FIELDS, RECORD_COLUMNS):
            if name in _INTEGER_FIELDS:
                fields.append(str(int(round(row[column]))))
            else:
                fields.append(_COORDINATE_FORMAT.format(row[column] / scale[name]))
    return fields


def check_lst_path(path):
    """Raise ``RecordFormatError`` if an image path cannot be written into a ``.lst`` line."""
    if any(c in path for c in '\t\n\r'):
        raise RecordFormatError('image path {!r} contains a tab or newline, which the .lst format '
                                'cannot hold; rename the file'.format(path))


def format_lst_line(index, path, fields):
    """One ``.lst`` line (with newline): record index, ``record_fields`` and relative path."""
    check_lst_path(path)
    return '\t'.join([str(int(index))] + list(fields) + [path]) + '\n'


def parse_record_label(values, where):
    """Parse the numbers of a record label (``A, B, [W, H, ...], boxes``).

    Parameters
    ----------
    values : sequence of float
        The label as stored in a ``.rec`` header or the middle fields of a ``.lst`` line.
    where : str
        Names the record in error messages (file and line or record index).

    Returns
    -------
    RecordLabel

    Raises
    ------
    RecordFormatError
        If ``A`` or ``B`` is invalid or the box fields do not divide into ``B``-wide rows.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    if len(values) < 2:
        raise RecordFormatError('{}: record label has {} numbers; it needs at least A and B '
                                '(header width, fields per box)'.format(where, len(values)))
    if not np.isfinite(values).all():
        raise RecordFormatError('{}: record label contains NaN or infinity; re-create the record'
                                .format(where))
    header_width, object_width = values[0], values[1]
    if header_width != int(header_width) or not 2 <= header_width <= len(values):
        raise RecordFormatError('{}: header width A = {} is not an integer between 2 and the '
                                'label length {}'.format(where, header_width, len(values)))
    if object_width != int(object_width) or object_width < MIN_OBJECT_WIDTH:
        raise RecordFormatError('{}: box width B = {} must be an integer >= {} ({})'.format(
            where, object_width, MIN_OBJECT_WIDTH, ' '.join(schema.LST_FIELDS)))
    header_width, object_width = int(header_width), int(object_width)
    box_values = values[header_width:]
    if len(box_values) % object_width:
        raise RecordFormatError(
            '{}: {} box fields after the {}-field header do not divide into boxes of {} fields; '
            'the record is truncated or A/B are wrong'.format(
                where, len(box_values), header_width, object_width))
    width = height = None
    if header_width >= schema.LST_HEADER_WIDTH:
        width, height = int(values[2]), int(values[3])
    fields = box_values.reshape(-1, object_width)
    label = np.zeros((len(fields), schema.LABEL_WIDTH), dtype=np.float32)
    present = min(object_width, schema.LST_OBJECT_WIDTH)
    for field_index, column in enumerate(RECORD_COLUMNS[:present]):
        label[:, column] = fields[:, field_index]
    return RecordLabel(header_width, object_width, width, height, label)


def parse_lst_line(line, where):
    """Parse one ``.lst`` line into an ``LstLine``. Raises ``RecordFormatError``."""
    parts = line.rstrip('\r\n').split('\t')
    if len(parts) < 4:
        raise RecordFormatError('{}: expected tab-separated "index, A, B, ..., path"; found {} '
                                'field(s)'.format(where, len(parts)))
    try:
        index = int(parts[0])
        values = [float(v) for v in parts[1:-1]]
    except ValueError as e:
        raise RecordFormatError('{}: non-numeric field ({}); every field but the last (the image '
                                'path) must be a number'.format(where, e)) from None
    return LstLine(index, parse_record_label(values, where), parts[-1])


def checked_label(record, where):
    """``record.label`` checked by ``schema.validate_label``.

    The label was read from a file, so a NaN coordinate or a hard flag other than 0 and 1 is the
    file's fault: it raises ``RecordFormatError`` (an ``InputError``), naming ``where``.
    """
    try:
        return schema.validate_label(record.label, where)
    except ValueError as e:
        raise RecordFormatError(str(e)) from None


def read_lst(path):
    """Yield ``(line_number, LstLine)`` for every non-blank line of a ``.lst`` file."""
    with open(path, encoding='utf-8') as f:
        for line_number, line in enumerate(f, 1):
            if line.strip():
                yield line_number, parse_lst_line(line, '{}:{}'.format(path, line_number))


def label_to_pixels(label, width, height):
    """Scale a normalized ``(N, 6)`` label to pixels (returns a new float32 array)."""
    label = np.array(label, dtype=np.float32)
    label[:, [schema.XMIN, schema.XMAX]] *= width
    label[:, [schema.YMIN, schema.YMAX]] *= height
    return label


def pack_record(index, fields, image_bytes):
    """One ``.rec`` entry: ``IRHeader(label=fields as float32, id=index)`` + image bytes."""
    from mxnet import recordio
    header = recordio.IRHeader(0, np.array(fields, dtype=np.float32), int(index), 0)
    return recordio.pack(header, image_bytes)


def unpack_record(raw):
    """Split a ``.rec`` entry into ``(header_label float32 array, record id, image bytes)``."""
    from mxnet import recordio
    header, image_bytes = recordio.unpack(raw)
    return np.atleast_1d(np.asarray(header.label, dtype=np.float32)), header.id, image_bytes


def rec_index_path(rec_path):
    """The ``.idx`` file that belongs to a ``.rec`` file (same name, as MXNet expects)."""
    return os.path.splitext(rec_path)[0] + '.idx'


def require_rec_files(rec_path, idx_path=None):
    """Raise ``InputNotFoundError`` (a ``FileNotFoundError``) naming the missing file if the
    ``.rec`` or its ``.idx`` does not exist."""
    for path in (rec_path, idx_path or rec_index_path(rec_path)):
        if not os.path.isfile(path):
            raise InputNotFoundError(
                '{} does not exist; a .rec file needs its .idx index beside it (re-create both: '
                'convert_to_lst(..., rec=True), or gluoncv-hard-convert --rec)'.format(path))


def open_rec(rec_path, mode='r', idx_path=None):
    """Open an indexed record file (``mode`` ``'r'`` or ``'w'``); ``.idx`` beside it by default."""
    from mxnet import recordio
    idx_path = idx_path or rec_index_path(rec_path)
    if mode == 'r':
        require_rec_files(rec_path, idx_path)
    return recordio.MXIndexedRecordIO(idx_path, rec_path, mode)


def iter_rec_labels(rec_path):
    """Yield ``(position, record_id, RecordLabel)`` for every record, without decoding images."""
    record_file = open_rec(rec_path)
    try:
        for position, key in enumerate(record_file.keys):
            values, record_id, _ = unpack_record(record_file.read_idx(key))
            where = '{} record {}'.format(rec_path, position)
            yield position, record_id, parse_record_label(values, where)
    finally:
        record_file.close()
