"""Format and parse detection records: ``.lst`` lines and ``.rec``/``.idx`` entries.

One record describes one image::

    idx \\t A \\t B \\t W \\t H \\t cls xmin ymin xmax ymax hard (x N) \\t relative/path   (.lst)
    IRHeader(label=[A, B, W, H, cls, xmin, ...], id=idx) + image bytes              (.rec)

(see ``gluoncv_hard.schema``). The ``.rec`` header label holds exactly the numbers written in the
``.lst`` line: both are made from the same formatted fields. An image without boxes is a record
with the header only. Records written by others with ``B = 5`` (no hard field) read as hard = 0.
"""
import io
import os
from typing import NamedTuple, Optional

import numpy as np

from gluoncv_hard import schema
from gluoncv_hard.data.recordio import (
    REBUILD_HINT,
    RecordFileError,
    open_indexed,
    pack_payload,
    read_header,
    split_payload,
)
from gluoncv_hard.errors import InputError, InputNotFoundError

__all__ = ['RecordFormatError', 'RecordLabel', 'LstLine', 'record_fields', 'check_lst_path',
           'format_lst_line', 'parse_record_label', 'parse_lst_line', 'checked_label', 'read_lst',
           'label_to_pixels', 'pack_record', 'unpack_record', 'rec_index_path',
           'require_rec_files', 'open_rec', 'open_rec_records', 'rec_record_where',
           'iter_rec_labels', 'check_record_id', 'lst_lines', 'HEADER_WIDTHS',
           'COORDINATE_TOLERANCE']

# Internal label column of each record field, in record order.
_COLUMN_OF_FIELD = {'cls': schema.CLASS_ID, 'xmin': schema.XMIN, 'ymin': schema.YMIN,
                    'xmax': schema.XMAX, 'ymax': schema.YMAX, 'hard': schema.HARD}
RECORD_COLUMNS = [_COLUMN_OF_FIELD[name] for name in schema.LST_FIELDS]
# Fields up to and including 'cls' and the box are required; 'hard' may be absent (B = 5).
MIN_OBJECT_WIDTH = schema.LST_FIELDS.index('hard')
_INTEGER_FIELDS = frozenset(('cls', 'hard'))
# Normalized coordinates are written with 6 decimals: 0.005 px on a 10,000 px side.
_COORDINATE_FORMAT = '{:.6f}'
# The header widths a record may have: ``A, B`` alone, or ``A, B, W, H``.
HEADER_WIDTHS = (2, schema.LST_HEADER_WIDTH)
# Coordinates this far (relative to the image side) outside the image are clipped onto its
# border; farther is an error. Rounding in other tools' writers stays well inside it.
COORDINATE_TOLERANCE = 1e-3


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
    if any(c in path for c in '\t\n\r\0'):
        raise RecordFormatError('image path {!r} contains a tab, newline or NUL, which the .lst '
                                'format cannot hold; rename the file'.format(path))


def format_lst_line(index, path, fields):
    """One ``.lst`` line (with newline): record index, ``record_fields`` and relative path."""
    check_lst_path(path)
    return '\t'.join([str(int(index))] + list(fields) + [path]) + '\n'


def parse_record_label(values, where):
    """Parse the numbers of a record label (``A, B, [W, H], boxes``).

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
        If ``A`` is not 2 or 4 (a wider header would read box fields as header fields), ``B``
        is below 5, ``W``/``H`` are not positive integers, or the box fields do not divide into
        ``B``-wide rows.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    if len(values) < 2:
        raise RecordFormatError('{}: record label has {} numbers; it needs at least A and B '
                                '(header width, fields per box)'.format(where, len(values)))
    if not np.isfinite(values).all():
        raise RecordFormatError('{}: record label contains NaN or infinity; re-create the record'
                                .format(where))
    header_width, object_width = values[0], values[1]
    if header_width not in HEADER_WIDTHS or header_width > len(values):
        raise RecordFormatError(
            '{}: header width A = {:g} with {} numbers in the label; A must be {} ("A B W H", '
            'what the converter writes) or {} ("A B", no image size); a wider header would read '
            'the first box fields as header fields'.format(
                where, header_width, len(values), schema.LST_HEADER_WIDTH, HEADER_WIDTHS[0]))
    if object_width != int(object_width) or object_width < MIN_OBJECT_WIDTH:
        raise RecordFormatError('{}: box width B = {:g} must be an integer >= {} ({})'.format(
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
        width, height = values[2], values[3]
        if not (width == int(width) and height == int(height) and width >= 1 and height >= 1):
            raise RecordFormatError(
                '{}: image size W x H = {:g} x {:g}; both must be positive integers (the size '
                'of the image in pixels): re-create the record'.format(where, width, height))
        width, height = int(width), int(height)
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


def checked_label(record, where, num_classes=None, coord_normalized=True):
    """``record.label`` checked, with coordinates within ``COORDINATE_TOLERANCE`` clipped.

    The label was read from a file, so anything wrong is the file's fault: a NaN coordinate, a
    hard flag other than 0 and 1, an inverted box (``schema.validate_label``), a class id that is
    not an integer in ``[0, num_classes)``, or a coordinate outside the image: outside [0, 1]
    when ``coord_normalized`` (pixel coordinates in a normalized file, say), outside
    ``[0, W]``/``[0, H]`` otherwise (not checked without ``W, H``). Coordinates up to
    ``COORDINATE_TOLERANCE`` (relative) outside are clipped onto the border.

    Parameters
    ----------
    record : RecordLabel
    where : str
        Names the record in the error.
    num_classes : int, optional
        The length of the class list; None checks only that ids are integers >= 0.
    coord_normalized : bool

    Returns
    -------
    numpy.ndarray, float32, shape (N, 6)
        In record units.

    Raises
    ------
    RecordFormatError
        An ``InputError`` naming ``where`` and the box.
    """
    try:
        label = schema.validate_label(record.label, where)
    except ValueError as e:
        raise RecordFormatError(str(e)) from None
    class_ids = label[:, schema.CLASS_ID]
    bad = (class_ids != np.round(class_ids)) | (class_ids < 0)
    if num_classes is not None:
        bad |= class_ids >= num_classes
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        known = 'the class list has {} name(s), ids 0 to {}'.format(
            num_classes, num_classes - 1) if num_classes is not None else 'ids count from 0'
        raise RecordFormatError('{}: box {} has class id {:g}; class ids must be integers ({}): '
                                'fix the record or give the class list it was made with'
                                .format(where, i, class_ids[i], known))
    if coord_normalized:
        scale_x = scale_y = 1.0
    elif record.width:
        scale_x, scale_y = float(record.width), float(record.height)
    else:
        return label
    box = label[:, schema.BOX] / np.array([scale_x, scale_y, scale_x, scale_y], np.float32)
    bad = ((box < -COORDINATE_TOLERANCE) | (box > 1 + COORDINATE_TOLERANCE)).any(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        text = ', '.join('{:g}'.format(v) for v in label[i, schema.BOX])
        if coord_normalized:
            raise RecordFormatError(
                '{}: box {} (xmin, ymin, xmax, ymax = {}) lies outside [0, 1]; record coordinates '
                'are normalized by the image size (pixel coordinates? re-create the file with '
                'gluoncv-hard-convert, or read it with coord_normalized=False)'.format(
                    where, i, text))
        raise RecordFormatError('{}: box {} (xmin, ymin, xmax, ymax = {}) lies outside the '
                                '{}x{} image; fix the record'.format(where, i, text, record.width,
                                                                      record.height))
    label[:, [schema.XMIN, schema.XMAX]] = np.clip(label[:, [schema.XMIN, schema.XMAX]], 0,
                                                   scale_x)
    label[:, [schema.YMIN, schema.YMAX]] = np.clip(label[:, [schema.YMIN, schema.YMAX]], 0,
                                                   scale_y)
    bad = (label[:, schema.XMAX] <= label[:, schema.XMIN]) | \
        (label[:, schema.YMAX] <= label[:, schema.YMIN])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise RecordFormatError('{}: box {} has no area inside the image once clipped to its '
                                'border (xmin, ymin, xmax, ymax = {}); remove it'.format(
                                    where, i, ', '.join('{:g}'.format(v)
                                                        for v in label[i, schema.BOX])))
    return label


def lst_lines(path):
    """``(line_number, text)`` of every line of a ``.lst`` file (newlines as in text mode).

    Raises ``RecordFormatError`` naming the line for bytes that are not UTF-8 (not a ``.lst``:
    a ``.rec`` given instead, say).
    """
    with open(path, 'rb') as f:
        data = f.read()
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError as e:
        raise RecordFormatError('{}:{}: not UTF-8 text (byte {}); a .lst is tab-separated text '
                                '(a .rec given instead?)'.format(
                                    path, data.count(b'\n', 0, e.start) + 1, e.start)) from None
    return list(enumerate(io.StringIO(text, newline=None), 1))


def read_lst(path):
    """Yield ``(line_number, LstLine)`` for every non-blank line of a ``.lst`` file."""
    for line_number, line in lst_lines(path):
        if line.strip():
            yield line_number, parse_lst_line(line, '{}:{}'.format(path, line_number))


def label_to_pixels(label, width, height):
    """Scale a normalized ``(N, 6)`` label to pixels (returns a new float32 array)."""
    label = np.array(label, dtype=np.float32)
    label[:, [schema.XMIN, schema.XMAX]] *= width
    label[:, [schema.YMIN, schema.YMAX]] *= height
    return label


def pack_record(index, fields, image_bytes):
    """One ``.rec`` entry: ``IRHeader(label=fields as float32, id=index)`` + image bytes (the
    bytes ``mxnet.recordio.pack`` makes)."""
    return pack_payload(np.array(fields, dtype=np.float32), index, image_bytes)


def unpack_record(raw):
    """Split a ``.rec`` entry into ``(header_label float32 array, record id, image bytes)``."""
    values, record_id, start = split_payload(raw, 'record')
    return values, record_id, raw[start:]


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
    """MXNet's own ``MXIndexedRecordIO`` on a ``.rec`` (``mode`` ``'r'`` or ``'w'``).

    For other tools: this package reads and writes records with :mod:`.recordio` (checked on
    open, safe in data-loader threads); MXNet's handle is neither.
    """
    from mxnet import recordio
    idx_path = idx_path or rec_index_path(rec_path)
    if mode == 'r':
        require_rec_files(rec_path, idx_path)
    return recordio.MXIndexedRecordIO(idx_path, rec_path, mode)


def open_rec_records(rec_path, idx_path=None):
    """Open a ``.rec`` and its ``.idx`` checked against each other (``recordio.open_indexed``).

    Returns ``(reader, [(IndexEntry, RecordSpan), ...])`` in ``.idx`` order; raises
    ``InputNotFoundError`` for a missing file, ``RecordFileError`` for damage.
    """
    idx_path = idx_path or rec_index_path(rec_path)
    require_rec_files(rec_path, idx_path)
    return open_indexed(rec_path, idx_path)


def rec_record_where(rec_path, position):
    """How messages name record ``position`` of a ``.rec``."""
    return '{} record {}'.format(rec_path, position)


def iter_rec_labels(rec_path):
    """Yield ``(position, record_id, RecordLabel)`` for every record, without reading images.

    The ``.idx`` is checked against the ``.rec`` first (``open_rec_records``), and every
    record's id must be its ``.idx`` key.
    """
    reader, records = open_rec_records(rec_path)
    try:
        for position, (entry, span) in enumerate(records):
            where = rec_record_where(rec_path, position)
            values, record_id, _ = read_header(reader, span, where)
            check_record_id(entry, record_id, rec_path, where)
            yield position, record_id, parse_record_label(values, where)
    finally:
        reader.close()


def check_record_id(entry, record_id, rec_path, where):
    """Raise ``RecordFileError`` unless a record's header id is its ``.idx`` key (both are the
    ``.lst`` index when MXNet's and our tools write them)."""
    if record_id != entry.key:
        raise RecordFileError(
            '{}: the record at byte {} has id {} but {}:{} lists it as key {}: the .idx belongs '
            'to another .rec, or one of them was replaced without the other; {}'.format(
                where, entry.offset, record_id, rec_index_path(rec_path), entry.line, entry.key,
                REBUILD_HINT))
