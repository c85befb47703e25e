"""COCO box AP (mean over IoU 0.50:0.05:0.95, 101 recall points) with hard boxes ignored.

A NumPy re-implementation of pycocotools' ``COCOeval`` for boxes, area range "all", with the
schema's ``hard`` boxes in the role of COCO's ``iscrowd`` regions. By default
(``hard_overlap='iod'``) it **is** the reference definition: on a corpus with hard boxes, IoU
ties, tied scores, truncation by ``max_dets`` and classes without normal boxes it equals
pycocotools 2.0.8 run on the same boxes with ``iscrowd=1`` for the hard ones, to 1e-4 on AP,
AP50, AP75 and AR, overall and per class (``tests/evaluation/test_coco_pycocotools.py``). So the
COCO numbers of this package can be compared with papers' and with GluonCV's
``COCODetectionMetric``.

Matching rule, per image, per class, per IoU threshold ``t``
-----------------------------------------------------------
Detections are sorted by score (descending, stable) and only the top ``max_dets`` are kept.
Then, greedily in that order, each detection:

1. is a **true positive** if some non-hard GT box that no earlier detection took has
   ``IoU >= t``; it takes the one with the largest IoU (ties: the last such box in the
   annotation order, as pycocotools does);
2. otherwise is **ignored** (neither TP nor FP) if some hard box has ``overlap >= t``; a hard
   box can absorb any number of detections, and a detection that found a non-hard box in
   step 1 never falls through to step 2;
3. otherwise is a **false positive** (this includes duplicates on an already taken box).

``overlap`` with hard boxes is chosen by ``hard_overlap``:

- ``'iod'`` (default): intersection over the *detection's* area, which is what pycocotools
  computes for ``iscrowd`` boxes. A hard box stands for a region: any detection mostly inside
  it is ignored, however small.
- ``'iou'``: intersection over union, the same overlap as for normal boxes and as the VOC rule
  in `.voc`. A hard box then stands for one uncertain object. Not the COCO definition: numbers
  computed this way are not comparable with published COCO AP.

IoU uses continuous coordinates (``width = xmax - xmin``), like pycocotools and unlike VOC.
Hard boxes do not count in the number of positives ``n_pos``.

Accumulation, per class: detections of all images are concatenated (image order, then score
order) and stably sorted by score. With ``tp``/``fp`` the running counts (ignored detections
add to neither), ``recall = tp / n_pos`` and ``precision = tp / (tp + fp + eps)``; precision
is made non-increasing from the right; at each recall point ``r`` in ``0, 0.01, ..., 1`` the
interpolated precision is the envelope at the first detection with ``recall >= r`` (0 if
none). AP is the mean over the 101 points; a class with ``n_pos == 0`` has no AP and is left
out of the means. Not reported: the area ranges (small, medium, large) and AR at 1 and 10
detections. Known differences, for boxes no network outputs: a detection with ``xmax < xmin``
or ``ymax < ymin`` is a false positive here, while pycocotools ignores it (its negative area
is outside every area range); one of zero area inside a hard box is a false positive here,
while pycocotools' crowd overlap divides by its zero area.
"""
import numpy as np

from gluoncv_hard import schema

__all__ = ['IOU_THRESHOLDS', 'RECALL_THRESHOLDS', 'HARD_OVERLAP_MODES', 'MAX_DETS',
           'TRUE_POSITIVE', 'FALSE_POSITIVE', 'IGNORED', 'pairwise_overlap', 'match_detections',
           'coco_map']

# pycocotools' Params for bbox evaluation.
IOU_THRESHOLDS = np.linspace(0.5, 0.95, 10)
RECALL_THRESHOLDS = np.linspace(0.0, 1.0, 101)
MAX_DETS = 100
HARD_OVERLAP_MODES = ('iou', 'iod')

# Outcome of one detection at one IoU threshold.
TRUE_POSITIVE = 1
FALSE_POSITIVE = 0
IGNORED = -1

# pycocotools adds np.spacing(1) to the precision denominator.
_EPS = np.spacing(1)


def pairwise_overlap(boxes_a, boxes_b, mode='iou'):
    """Overlap of every box in ``boxes_a`` with every box in ``boxes_b``.

    Parameters
    ----------
    boxes_a : numpy.ndarray, shape (K, 4)
        ``xmin, ymin, xmax, ymax``; continuous coordinates.
    boxes_b : numpy.ndarray, shape (G, 4)
    mode : {'iou', 'iod'}
        ``'iou'``: intersection over union. ``'iod'``: intersection over the area of the
        ``boxes_a`` box (the detection).

    Returns
    -------
    numpy.ndarray, float64, shape (K, G)
        0 where the denominator is 0 (degenerate boxes).
    """
    if mode not in HARD_OVERLAP_MODES:
        raise ValueError('mode must be one of {}, got {!r}'.format(HARD_OVERLAP_MODES, mode))
    a = np.asarray(boxes_a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(boxes_b, dtype=np.float64).reshape(-1, 4)
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.maximum(bottom_right - top_left, 0), axis=2)
    area_a = np.prod(np.maximum(a[:, 2:] - a[:, :2], 0), axis=1)
    if mode == 'iou':
        area_b = np.prod(np.maximum(b[:, 2:] - b[:, :2], 0), axis=1)
        denominator = area_a[:, None] + area_b[None, :] - inter
    else:
        denominator = np.broadcast_to(area_a[:, None], inter.shape)
    out = np.zeros(inter.shape)
    np.divide(inter, denominator, out=out, where=denominator > 0)
    return out


def match_detections(det_boxes, gt_boxes, gt_hard, iou_thresholds=IOU_THRESHOLDS,
                     hard_overlap='iod'):
    """Label the detections of one class in one image TP / FP / ignored (module rule).

    Parameters
    ----------
    det_boxes : numpy.ndarray, shape (K, 4)
        Already sorted by descending score (and truncated to ``max_dets``).
    gt_boxes : numpy.ndarray, shape (G, 4)
    gt_hard : numpy.ndarray, bool, shape (G,)
    iou_thresholds : numpy.ndarray, shape (T,)
    hard_overlap : {'iou', 'iod'}

    Returns
    -------
    numpy.ndarray, int8, shape (T, K)
        ``TRUE_POSITIVE``, ``FALSE_POSITIVE`` or ``IGNORED``.
    """
    thresholds = np.asarray(iou_thresholds, dtype=np.float64).reshape(-1, 1)  # (T, 1)
    num_dets = len(det_boxes)
    gt_hard = np.asarray(gt_hard, dtype=bool)
    status = np.full((len(thresholds), num_dets), FALSE_POSITIVE, dtype=np.int8)
    if num_dets == 0 or len(gt_boxes) == 0:
        return status

    hard_boxes = gt_boxes[gt_hard]
    if len(hard_boxes):
        best_hard = pairwise_overlap(det_boxes, hard_boxes, hard_overlap).max(axis=1)  # (K,)
        status[best_hard[None, :] >= thresholds] = IGNORED

    normal_iou = pairwise_overlap(det_boxes, gt_boxes[~gt_hard], 'iou')  # (K, G')
    if normal_iou.shape[1] == 0:
        return status
    taken = np.zeros((len(thresholds), normal_iou.shape[1]), dtype=bool)  # (T, G')
    rows = np.arange(len(thresholds))
    last = normal_iou.shape[1] - 1
    # Greedy by score is sequential over detections; thresholds and GT are vectorised.
    # A detection below the lowest threshold with every box can neither match nor take one.
    could_match = normal_iou.max(axis=1) >= thresholds.min()
    for k in np.flatnonzero(could_match):
        free_iou = np.where(taken, -np.inf, normal_iou[k][None, :])  # (T, G')
        best = last - free_iou[:, ::-1].argmax(axis=1)  # ties: the last box, as pycocotools
        matched = free_iou[rows, best] >= thresholds[:, 0]
        status[matched, k] = TRUE_POSITIVE
        taken[rows[matched], best[matched]] = True
    return status


def _interpolated_precision(status, n_pos, recall_thresholds):
    """101-point interpolated precision and final recall of one class.

    Parameters
    ----------
    status : numpy.ndarray, int8, shape (T, D)
        Outcomes of all detections of the class, sorted by descending score.
    n_pos : int
        Number of non-hard GT boxes, > 0.
    recall_thresholds : numpy.ndarray, shape (R,)

    Returns
    -------
    precision : numpy.ndarray, shape (T, R)
    recall : numpy.ndarray, shape (T,)
    """
    num_thresholds, num_dets = status.shape
    if num_dets == 0:
        return np.zeros((num_thresholds, len(recall_thresholds))), np.zeros(num_thresholds)
    tp = np.cumsum(status == TRUE_POSITIVE, axis=1, dtype=np.float64)
    fp = np.cumsum(status == FALSE_POSITIVE, axis=1, dtype=np.float64)
    recall = tp / n_pos
    precision = tp / (tp + fp + _EPS)
    envelope = np.maximum.accumulate(precision[:, ::-1], axis=1)[:, ::-1]
    out = np.zeros((num_thresholds, len(recall_thresholds)))
    for t in range(num_thresholds):
        first = np.searchsorted(recall[t], recall_thresholds, side='left')
        reached = first < num_dets
        out[t, reached] = envelope[t, first[reached]]
    return out, recall[:, -1]


def _none_if_nan(value):
    value = float(value)
    return None if np.isnan(value) else value


def coco_map(records, class_names, iou_thresholds=IOU_THRESHOLDS, max_dets=MAX_DETS,
             hard_overlap='iod', recall_thresholds=RECALL_THRESHOLDS):
    """COCO-style AP over a set of images, hard GT boxes ignored (module rule).

    Parameters
    ----------
    records : sequence of `ImageRecord`
    class_names : sequence of str
    iou_thresholds : array-like, shape (T,)
        Must contain 0.5 and 0.75 for AP50 / AP75 to be reported (the default does).
    max_dets : int
        Detections kept per image and class, highest scores first (pycocotools' maxDets).
    hard_overlap : {'iou', 'iod'}
    recall_thresholds : array-like, shape (R,)

    Returns
    -------
    dict
        ``AP``, ``AP50``, ``AP75`` (means over classes with ``n_pos > 0``), ``AR`` (recall at
        ``max_dets`` averaged over thresholds and classes), and ``per_class``: ``{name: dict}``
        with the same keys and ``n_pos``; values are ``None`` where undefined.
    """
    if hard_overlap not in HARD_OVERLAP_MODES:
        raise ValueError('hard_overlap must be one of {}, got {!r}'
                         .format(HARD_OVERLAP_MODES, hard_overlap))
    if int(max_dets) < 1:
        raise ValueError('max_dets must be >= 1, got {}'.format(max_dets))
    iou_thresholds = np.asarray(iou_thresholds, dtype=np.float64)
    recall_thresholds = np.asarray(recall_thresholds, dtype=np.float64)
    num_thresholds = len(iou_thresholds)
    num_classes = len(class_names)

    scores = [[] for _ in range(num_classes)]
    statuses = [[] for _ in range(num_classes)]
    n_pos = np.zeros(num_classes, dtype=np.int64)
    for record in records:
        gt_boxes, gt_classes, gt_hard = schema.split_label(record.gt_label)
        gt_classes = gt_classes.astype(np.int64)
        n_pos += np.bincount(gt_classes[~gt_hard], minlength=num_classes)
        for c in np.unique(record.det_labels):
            in_class = np.flatnonzero(record.det_labels == c)
            order = np.argsort(-record.det_scores[in_class], kind='mergesort')[:int(max_dets)]
            keep = in_class[order]
            gt_in_class = gt_classes == c
            statuses[c].append(match_detections(record.det_boxes[keep], gt_boxes[gt_in_class],
                                                gt_hard[gt_in_class], iou_thresholds,
                                                hard_overlap))
            scores[c].append(record.det_scores[keep])

    precision = np.full((num_classes, num_thresholds, len(recall_thresholds)), np.nan)
    recall = np.full((num_classes, num_thresholds), np.nan)
    for c in range(num_classes):
        if n_pos[c] == 0:
            continue
        if scores[c]:
            class_scores = np.concatenate(scores[c])
            class_status = np.concatenate(statuses[c], axis=1)
            order = np.argsort(-class_scores, kind='mergesort')
            class_status = class_status[:, order]
        else:
            class_status = np.zeros((num_thresholds, 0), dtype=np.int8)
        precision[c], recall[c] = _interpolated_precision(class_status, n_pos[c],
                                                          recall_thresholds)

    def threshold_index(value):
        hits = np.flatnonzero(np.isclose(iou_thresholds, value))
        return int(hits[0]) if len(hits) else None

    def summarize(class_precision, class_recall):
        """Scalars for one class (1-D input rows) or all classes (stacked)."""
        out = {'AP': np.mean(class_precision, axis=(-2, -1)),
               'AR': np.mean(class_recall, axis=-1)}
        for key, value in (('AP50', 0.5), ('AP75', 0.75)):
            index = threshold_index(value)
            out[key] = (np.mean(class_precision[..., index, :], axis=-1) if index is not None
                        else np.full(class_precision.shape[:-2], np.nan))
        return out

    per_class_values = summarize(precision, recall)  # each (C,)
    defined = n_pos > 0
    result = {}
    for key, values in per_class_values.items():
        result[key] = _none_if_nan(np.mean(values[defined])) if defined.any() else None
    result['per_class'] = {
        name: dict({key: _none_if_nan(values[c]) for key, values in per_class_values.items()},
                   n_pos=int(n_pos[c]))
        for c, name in enumerate(class_names)}
    return result
