"""Pairwise overlap measures between two sets of corner-encoded boxes, in NumPy.

Boxes are ``(x1, y1, x2, y2)`` in pixels with ``x2 > x1``. Widths are ``x2 - x1`` (no ``+1``),
which is what ``mx.nd.contrib.box_iou(..., format='corner')`` uses, so ``pairwise_iou`` gives the
IoUs that GluonCV's target generators see.

Every function takes ``a`` of shape ``(N, 4)`` and ``b`` of shape ``(M, 4)`` and returns a float32
``(N, M)`` array. ``N`` or ``M`` may be 0.
"""
import numpy as np

__all__ = ['box_area', 'pairwise_intersection', 'pairwise_iou', 'pairwise_iof',
           'pairwise_cover']


def box_area(boxes):
    """``(N,)`` float32 areas of ``(N, 4)`` boxes; inverted boxes get 0."""
    boxes = np.asarray(boxes, dtype=np.float32)
    w = np.maximum(boxes[:, 2] - boxes[:, 0], 0)
    h = np.maximum(boxes[:, 3] - boxes[:, 1], 0)
    return w * h


def pairwise_intersection(a, b):
    """``(N, M)`` intersection areas of ``a (N, 4)`` and ``b (M, 4)``."""
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    # In-place updates keep this at two (N, M) temporaries: it runs for every anchor of every
    # training image.
    iw = np.minimum(a[:, 2:3], b[:, 2])
    iw -= np.maximum(a[:, 0:1], b[:, 0])
    np.maximum(iw, 0, out=iw)
    ih = np.minimum(a[:, 3:4], b[:, 3])
    ih -= np.maximum(a[:, 1:2], b[:, 1])
    np.maximum(ih, 0, out=ih)
    iw *= ih
    return iw


def _safe_divide(num, den):
    # Degenerate (zero-area) boxes overlap nothing, as in MXNet's box_iou.
    out = np.zeros_like(num)
    np.divide(num, den, out=out, where=den > 0)
    return out


def pairwise_iou(a, b):
    """``(N, M)`` intersection over union."""
    inter = pairwise_intersection(a, b)
    union = box_area(a)[:, None] + box_area(b)[None, :]
    union -= inter
    return _safe_divide(inter, union)


def pairwise_iof(a, b):
    """``(N, M)`` intersection over the area of the box from ``a`` (the "foreground" of IoF).

    With ``a`` the candidates and ``b`` the hard boxes this is the fraction of each candidate that
    lies inside each hard box: mmdetection's ``iof`` direction.
    """
    inter = pairwise_intersection(a, b)
    return _safe_divide(inter, np.broadcast_to(box_area(a)[:, None], inter.shape))


def pairwise_cover(a, b):
    """``(N, M)`` intersection over the smaller of the two areas.

    1.0 when either box lies entirely inside the other: dlib's "percent covered" test.
    """
    inter = pairwise_intersection(a, b)
    smaller = np.minimum(box_area(a)[:, None], box_area(b)[None, :])
    return _safe_divide(inter, smaller)
