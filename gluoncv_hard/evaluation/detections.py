"""Per-image detections and ground truth, validated once, in the form every metric reads.

Also converts GluonCV Faster R-CNN outputs (batched, ``-1``-padded NDArrays on the network
input scale) into per-image NumPy arrays on the original image scale.
"""
from typing import NamedTuple

import numpy as np

from gluoncv_hard import schema
from gluoncv_hard.errors import TrainingDiverged

__all__ = ['ImageRecord', 'make_image_record', 'faster_rcnn_to_arrays', 'rescale_boxes']


class ImageRecord(NamedTuple):
    """One evaluated image.

    Attributes
    ----------
    det_boxes : numpy.ndarray, float64, shape (K, 4)
        ``xmin, ymin, xmax, ymax`` in pixels.
    det_scores : numpy.ndarray, float64, shape (K,)
    det_labels : numpy.ndarray, int64, shape (K,)
        Class ids in ``[0, num_classes)``.
    gt_label : numpy.ndarray, float32, shape (N, 6)
        Schema layout (``schema.XMIN`` ... ``schema.HARD``), padding removed; ``N`` may be 0.
    """
    det_boxes: np.ndarray
    det_scores: np.ndarray
    det_labels: np.ndarray
    gt_label: np.ndarray


def _as_numpy(array):
    """NDArray or array-like -> numpy.ndarray (MXNet is only touched if it is given)."""
    if hasattr(array, 'asnumpy'):
        return array.asnumpy()
    return np.asarray(array)


def make_image_record(det_boxes, det_scores, det_labels, gt_label, num_classes, where='image'):
    """Validate one image's detections and ground truth and pack them in an `ImageRecord`.

    Parameters
    ----------
    det_boxes : array-like, shape (K, 4)
    det_scores : array-like, shape (K,)
    det_labels : array-like, shape (K,)
        Integer-valued class ids in ``[0, num_classes)``.
    gt_label : array-like of shape (N, 5) or (N, 6), or None
        ``None`` means "no object" and equals ``schema.empty_label()``. Padding rows are dropped.
    num_classes : int
    where : str
        Names the image in error messages.

    Returns
    -------
    ImageRecord

    Raises
    ------
    ValueError
        On inconsistent shapes, non-finite boxes or scores, or class ids out of range.
    """
    boxes = _as_numpy(det_boxes).astype(np.float64)
    scores = _as_numpy(det_scores).astype(np.float64).reshape(-1)
    labels = _as_numpy(det_labels).astype(np.float64).reshape(-1)
    if boxes.size == 0:
        boxes = boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4:
        raise ValueError('{}: det_boxes must have shape (K, 4), got {}'.format(where, boxes.shape))
    if not len(boxes) == len(scores) == len(labels):
        raise ValueError('{}: det_boxes, det_scores and det_labels disagree on the number of '
                         'detections: {}, {}, {}'.format(where, len(boxes), len(scores),
                                                          len(labels)))
    if not (np.isfinite(boxes).all() and np.isfinite(scores).all()):
        raise ValueError('{}: a detection box or score is NaN or infinite'.format(where))
    bad = (labels != np.round(labels)) | (labels < 0) | (labels >= num_classes)
    if bad.any():
        raise ValueError('{}: detection class id {} is not an integer in [0, {}); drop padding '
                         'rows (id -1) first, e.g. with faster_rcnn_to_arrays'
                         .format(where, labels[bad][0], num_classes))

    gt = schema.empty_label() if gt_label is None else schema.validate_label(
        _as_numpy(gt_label), where)
    gt_classes = gt[:, schema.CLASS_ID]
    bad = (gt_classes != np.round(gt_classes)) | (gt_classes < 0) | (gt_classes >= num_classes)
    if bad.any():
        raise ValueError('{}: ground-truth class id {} is not an integer in [0, {})'
                         .format(where, gt_classes[bad][0], num_classes))
    return ImageRecord(boxes, scores, labels.astype(np.int64), gt)


def rescale_boxes(boxes, scale):
    """Map boxes from the network input back to the original image.

    Parameters
    ----------
    boxes : numpy.ndarray, shape (K, 4)
    scale : float or size-1 array
        ``original size / network input size``: the third output (``im_scale``) of GluonCV's
        ``FasterRCNNDefaultValTransform``, which the upstream ``validate()`` multiplies by.

    Returns
    -------
    numpy.ndarray, float64, shape (K, 4)
    """
    scale = float(np.asarray(_as_numpy(scale), dtype=np.float64).reshape(-1)[0])
    if not scale > 0:
        raise ValueError('scale must be positive, got {}'.format(scale))
    return np.asarray(boxes, dtype=np.float64) * scale


def faster_rcnn_to_arrays(ids, scores, bboxes, scale=1.0):
    """Per-image arrays from the output of a GluonCV Faster R-CNN in inference mode.

    Parameters
    ----------
    ids : NDArray or numpy.ndarray, shape (1, K, 1)
        Class ids; padding rows have id ``-1``.
    scores : NDArray or numpy.ndarray, shape (1, K, 1)
    bboxes : NDArray or numpy.ndarray, shape (1, K, 4)
        On the network input scale.
    scale : float or size-1 array
        See `rescale_boxes`; 1.0 keeps the input scale.

    Returns
    -------
    det_boxes : numpy.ndarray, float64, shape (K', 4)
    det_scores : numpy.ndarray, float64, shape (K',)
    det_labels : numpy.ndarray, int64, shape (K',)
        ``K'`` counts the non-padding rows; it may be 0.

    Raises
    ------
    gluoncv_hard.errors.TrainingDiverged
        When an id, score or box is NaN or infinite: the network itself is broken (its weights,
        or activations that overflow), not the image; a training's validation stops on it like
        on a non-finite loss.
    """
    ids, scores, bboxes = (_as_numpy(a) for a in (ids, scores, bboxes))
    finite = [np.isfinite(a).all() for a in (ids, scores, bboxes)]
    if not all(finite):
        raise TrainingDiverged('the network output non-finite detection {} (NaN or infinite): '
                               'its parameters are not finite or its activations overflow'
                               .format(', '.join(
                                   n for n, ok in zip(('ids', 'scores', 'boxes'), finite)
                                   if not ok)))
    if ids.shape[0] != 1 or scores.shape[0] != 1 or bboxes.shape[0] != 1:
        raise ValueError('expected a batch of one image (shapes (1, K, 1), (1, K, 1), (1, K, 4)), '
                         'got {}, {}, {}; split the batch first'
                         .format(ids.shape, scores.shape, bboxes.shape))
    ids = ids.reshape(-1)
    scores = scores.reshape(-1)
    bboxes = bboxes.reshape(-1, 4)
    keep = ids >= 0
    return (rescale_boxes(bboxes[keep], scale), scores[keep].astype(np.float64),
            ids[keep].astype(np.int64))
