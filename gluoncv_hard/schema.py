"""The layout of box labels and of ``.lst``/``.rec`` records, defined once.

Every module that reads, writes or slices a label uses the names below; no other module spells
out a column number.

Internal label (what datasets return and transforms consume)
-------------------------------------------------------------
A float array of shape ``(N, 6)``, one row per box::

    xmin, ymin, xmax, ymax, cls, hard

This is GluonCV's own layout: ``LstDetection``/``RecordFileDetection`` produce it from width-6
records and ``VOCDetection`` produces it with ``difficult`` in the last column. ``hard`` is 0 or 1.
A 5-column label (no ``hard`` column) means "no box is hard".

An image without boxes is an ``(0, 6)`` array in the data sets. Past the train transform it is
represented by a single padding row of ``PAD_VALUE`` in every column, because MXNet 1.x cannot
create zero-size arrays and GluonCV's batchify pads with the same value. A padding row is
neither a box nor hard: the one hard test is :func:`is_hard`.

Inside the network
------------------
``HardFasterRCNN`` hands its RCNN sampler and target generator one ``(B, M, 5)`` tensor: the four
box columns (``BOX``), then the hard flag in column ``GT_BOX_HARD``.

Record (``.lst`` line / ``.rec`` header label)
----------------------------------------------
GluonCV's detection list format::

    idx \\t A \\t B \\t W \\t H \\t cls xmin ymin xmax ymax hard (x N) \\t relative/path

``A`` (= ``LST_HEADER_WIDTH``) counts the header fields ``A, B, W, H``; ``B`` (=
``LST_OBJECT_WIDTH``) is the number of fields per box. Coordinates are normalized to [0, 1].
"""
import numpy as np

from gluoncv_hard.errors import InputError

__all__ = [
    'XMIN', 'YMIN', 'XMAX', 'YMAX', 'CLASS_ID', 'HARD', 'BOX', 'LABEL_WIDTH',
    'LEGACY_LABEL_WIDTH', 'PAD_VALUE', 'HARD_FLAG', 'NORMAL_FLAG', 'GT_BOX_HARD', 'GT_BOX_WIDTH',
    'LST_HEADER_WIDTH', 'LST_OBJECT_WIDTH', 'LST_FIELDS', 'empty_label', 'padding_label',
    'is_padding_row', 'is_hard', 'validate_label', 'split_label',
]

# Internal label columns.
XMIN, YMIN, XMAX, YMAX, CLASS_ID, HARD = range(6)
BOX = slice(XMIN, YMAX + 1)
LABEL_WIDTH = 6
LEGACY_LABEL_WIDTH = 5
PAD_VALUE = -1.0
# Values of the hard column.
HARD_FLAG = 1.0
NORMAL_FLAG = 0.0
# Flags above this are hard: 0/1 survive float round trips, padding (-1) is not hard.
_HARD_CUT = 0.5

# The network's (B, M, 5) gt_box tensor: BOX columns, then the hard flag.
GT_BOX_HARD = YMAX + 1
GT_BOX_WIDTH = GT_BOX_HARD + 1

# Record layout. The fields of one box, in record order.
LST_FIELDS = ('cls', 'xmin', 'ymin', 'xmax', 'ymax', 'hard')
LST_OBJECT_WIDTH = len(LST_FIELDS)
# A, B, W, H
LST_HEADER_WIDTH = 4


def empty_label(dtype=np.float32):
    """An image with no boxes, as data sets return it: shape ``(0, LABEL_WIDTH)``."""
    return np.zeros((0, LABEL_WIDTH), dtype=dtype)


def padding_label(dtype=np.float32):
    """An image with no boxes past the transform: one row of ``PAD_VALUE``, ``(1, 6)``."""
    return np.full((1, LABEL_WIDTH), PAD_VALUE, dtype=dtype)


def is_padding_row(label):
    """``(N,)`` bool: rows that are batchify/transform padding (every column ``PAD_VALUE``)."""
    label = np.asarray(label)
    return np.all(label == PAD_VALUE, axis=-1)


def is_hard(flags):
    """Which of ``flags`` (any shape, the values of a hard column) mark a hard box: a bool array of
    the same shape. Padding (``PAD_VALUE``) is not hard."""
    return np.asarray(flags) > _HARD_CUT


def validate_label(label, where='label'):
    """Check a label and return it as a float32 ``(N, 6)`` array.

    Parameters
    ----------
    label : array-like, shape (N, 5) or (N, 6)
        Rows ``xmin, ymin, xmax, ymax, cls[, hard]`` in pixels. A 5-column label gets a hard
        column of zeros. Rows that are entirely ``PAD_VALUE`` are padding and are removed.
    where : str
        Names the label in error messages (e.g. an image id or file name).

    Returns
    -------
    numpy.ndarray, float32, shape (N', 6)

    Raises
    ------
    gluoncv_hard.errors.InputError
        For a width other than 5 or 6, NaN/inf values, a hard flag other than 0/1, or an
        inverted or zero-area box. The message names the box index and the problem.
    """
    label = np.asarray(label, dtype=np.float32)
    if label.ndim == 1 and label.size == 0:
        label = label.reshape(0, LABEL_WIDTH)
    if label.ndim != 2 or label.shape[1] not in (LEGACY_LABEL_WIDTH, LABEL_WIDTH):
        raise InputError(
            '{}: expected a label of shape (N, 5) or (N, 6) with columns '
            'xmin, ymin, xmax, ymax, cls[, hard]; got shape {}'.format(where, label.shape))
    if label.shape[1] == LEGACY_LABEL_WIDTH:
        label = np.concatenate([label, np.zeros((len(label), 1), np.float32)], axis=1)
    label = label[~is_padding_row(label)]
    bad = ~np.isfinite(label).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError('{}: box {} has a NaN or infinite value: {}; fix or remove this box'
                         .format(where, i, label[i].tolist()))
    bad = (label[:, HARD] != NORMAL_FLAG) & (label[:, HARD] != HARD_FLAG)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError('{}: box {} has hard flag {}; the hard column must be 0 or 1'
                         .format(where, i, label[i, HARD]))
    bad = (label[:, XMAX] <= label[:, XMIN]) | (label[:, YMAX] <= label[:, YMIN])
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError('{}: box {} is inverted or has zero area (xmin, ymin, xmax, ymax = {}); '
                         'xmax must exceed xmin and ymax must exceed ymin'
                         .format(where, i, label[i, BOX].tolist()))
    return label


def split_label(label):
    """Split a validated ``(N, 6)`` label into ``boxes (N, 4)``, ``cls (N,)`` and
    ``hard (N,) bool``."""
    label = np.asarray(label)
    return label[:, BOX], label[:, CLASS_ID], is_hard(label[:, HARD])
