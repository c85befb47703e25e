"""Shape checks of the arrays handed to the core functions.

A wrong shape is the caller's mistake, so it raises :class:`gluoncv_hard.errors.InputError` naming
the parameter; reshaping it silently (e.g. an ``(M, 5)`` label read as ``(5M / 4, 4)`` boxes) would
train on garbage.
"""
import numpy as np

from gluoncv_hard.errors import InputError

__all__ = ['as_boxes', 'as_flags', 'as_matrix']


def as_boxes(boxes, param='boxes'):
    """``boxes`` as a float32 ``(N, 4)`` array; an empty array of any shape is ``(0, 4)``."""
    boxes = np.asarray(boxes, dtype=np.float32)
    if boxes.size == 0:
        return boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise InputError('{} must be an (N, 4) array of x1, y1, x2, y2 boxes; got shape {}'
                         .format(param, boxes.shape), param=param)
    return boxes


def as_flags(flags, num, param, what='GT boxes', dtype=bool, noun='flags'):
    """``flags`` as a ``(num,)`` array of ``dtype``; any shape with ``num`` elements is accepted
    (e.g. GluonCV's ``(M, 1)`` columns). The error reads "hard has 3 flags for 2 GT boxes"."""
    flags = np.asarray(flags)
    if flags.size != num:
        raise InputError('{} has {} {} for {} {}'.format(param, flags.size, noun, num, what),
                         param=param)
    return flags.reshape(num).astype(dtype, copy=False)


def as_matrix(values, param):
    """``values`` as a float32 2-D array."""
    values = np.asarray(values, dtype=np.float32)
    if values.ndim != 2:
        raise InputError('{} must be a 2-D (N, M) array; got shape {}'.format(
            param, values.shape), param=param)
    return values
