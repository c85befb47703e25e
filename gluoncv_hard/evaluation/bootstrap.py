"""Bootstrap confidence intervals over images for every number of the evaluation report.

Recomputing `voc_map` / `coco_map` for each resample of the images is far too slow (GluonCV's
metric loops in Python over images and detections). This module matches every detection
**once** (`make_outcome_table`), after which a resample of the images is only a vector of
integer *weights* (how often each image was drawn) and every metric is a weighted cumulative
sum over detections already sorted by score (`metrics_from_weights`). On top of that:
`bootstrap_intervals` (percentile intervals), `paired_bootstrap` (two models on the same
images, the same resamples for both) and `paired_bootstrap_over_runs` (several seeds: runs and
images resampled together). Pure NumPy.

Why weights are exact
---------------------
An image drawn ``w`` times contributes each of its detections ``w`` times, with the outcome it
had once (matching never looks across images), and its positives ``w`` times. Such copies of a
detection are adjacent in score order, and between the point before them and the point after
them precision moves monotonically (``(a + m) / (c + m)`` rises for TPs, ``a / (c + m)`` falls
for FPs) while recall only rises at the last copy, so the intermediate points never change the
precision envelope, the VOC07 11-point maxima or the COCO 101-point interpolation: weights
``w`` give the metric of the record list with the image repeated ``w`` times (tested against
`voc_map` / `coco_map` on such lists). Ignored detections (hard boxes, COCO ``max_dets``
truncation) and weight-0 detections add points that repeat the previous one and change nothing.
With all weights 1 the metrics equal `voc_map` / `coco_map` on the same records to rounding.

Order of detections, and tied scores
------------------------------------
- COCO: `coco_map`'s order, defined for ties: descending score, ties by image (record order),
  then by the detection's index in its image (both sorts are stable). Tied scores give the
  same numbers as `coco_map`.
- VOC: GluonCV's `VOCMApMetric` matches each image's detections in the order of
  ``scores.argsort()[::-1]`` and accumulates all images in the order of
  ``scores.argsort()[::-1]`` over their concatenation; NumPy's default argsort is not stable,
  so tied scores come out in an order that depends on the whole array. The table applies the
  very same argsort calls to the very same arrays (per section: positive images, all images), so
  with all weights 1 tied scores match GluonCV too. A resample keeps that order; GluonCV run on
  a duplicated record list would order its tied detections of different images in yet another
  way (its tie order is arbitrary), so exact equality with duplicated lists needs scores without
  ties between detections of different outcomes.

What is resampled
-----------------
Positive images (with at least one GT box, hard or not) and negative images (no box) are
resampled independently, each group to its own size: every resample has as many positives and
negatives as the evaluation. ``positive_images/...`` metrics see the positive draw,
``all_images/...`` both, ``negative_images/...`` the negative draw.

Metric names (keys of every result): ``{section}/voc07/mAP``, ``{section}/voc07/per_class/{name}``,
the same for ``voc12``, ``{section}/coco/{AP,AP50,AP75,AR}``,
``{section}/coco/per_class/{name}/{AP,AP50,AP75,AR}`` with ``section`` ``positive_images`` and,
when there are negative images, ``all_images``; then, with negative images,
``negative_images/mean_per_image`` and ``negative_images/fraction_of_images`` (detections with
score >= 0.5, `HEADLINE_SCORE_THRESHOLD`), and always ``hard_boxes/confident_detection_rate``:
the fraction of hard GT boxes with a detection of any class, score >= 0.5 and VOC IoU >= 0.5
(how often hard objects still get confident detections). A metric is undefined (NaN in
`metrics_from_weights`, ``None`` in the results) where its denominator is 0: a class without
non-hard GT in the resample, no hard box, no negative image.
"""
from typing import NamedTuple

import numpy as np

from gluoncv_hard import schema
from gluoncv_hard.evaluation.coco import (
    FALSE_POSITIVE,
    HARD_OVERLAP_MODES,
    IGNORED,
    IOU_THRESHOLDS,
    MAX_DETS,
    RECALL_THRESHOLDS,
    TRUE_POSITIVE,
    match_detections,
)
from gluoncv_hard.evaluation.negatives import HEADLINE_SCORE_THRESHOLD

__all__ = ['DEFAULT_RESAMPLES', 'DEFAULT_LEVEL', 'HARD_DETECTION_IOU_THRESH', 'ClassOutcomes',
           'OutcomeTable', 'make_outcome_table', 'resample_image_weights',
           'metrics_from_weights', 'bootstrap_intervals', 'paired_bootstrap',
           'paired_bootstrap_over_runs']

DEFAULT_RESAMPLES = 1000
DEFAULT_LEVEL = 0.95
# VOC IoU (+1 pixel) at which a confident detection "finds" a hard box.
HARD_DETECTION_IOU_THRESH = 0.5
# GluonCV's VOC07MApMetric iterates over exactly these floats (0.30000000000000004, ...);
# recall is compared with them, so they must be the same values.
VOC07_RECALL_POINTS = np.arange(0., 1.1, 0.1)
# pycocotools adds np.spacing(1) to the precision denominator (as `coco` does).
_COCO_EPS = np.spacing(1)
# Resamples are processed in chunks of about this many (resample, threshold, detection) cells:
# large enough to amortise NumPy's per-call cost, small enough to stay in a few MB.
_CHUNK_CELLS = 1 << 20


class ClassOutcomes(NamedTuple):
    """Every detection of one class over all images of an `OutcomeTable`, matched once.

    Attributes
    ----------
    voc_scores : numpy.ndarray, float64, shape (V,)
        All detections of the class, in GluonCV's accumulation order before its final sort:
        images in table order, each image's detections in ``argsort()[::-1]`` order.
    voc_images : numpy.ndarray, int64, shape (V,)
        Image index of each detection.
    voc_outcome : numpy.ndarray, int8, shape (V,)
        ``TRUE_POSITIVE``, ``FALSE_POSITIVE`` or ``IGNORED`` by the VOC rule of `.voc`.
    coco_scores : numpy.ndarray, float64, shape (D,)
        The detections that count for COCO at some IoU threshold (the top ``max_dets`` per image
        and class, minus those ignored at every threshold), sorted as `coco_map` accumulates
        them: descending score, ties by image, then by index in the image.
    coco_images : numpy.ndarray, int64, shape (D,)
    coco_outcome : numpy.ndarray, int8, shape (T, D)
        Outcome at each of the table's ``iou_thresholds`` (`coco.match_detections`).
    """
    voc_scores: np.ndarray
    voc_images: np.ndarray
    voc_outcome: np.ndarray
    coco_scores: np.ndarray
    coco_images: np.ndarray
    coco_outcome: np.ndarray


class OutcomeTable(NamedTuple):
    """Per-image outcomes of one evaluation, from which every metric of a resample follows.

    Attributes
    ----------
    class_names : tuple of str, length C
    image_ids : tuple, length I
        One id per image, in the order of the records (the order resamples refer to).
    negative : numpy.ndarray, bool, shape (I,)
        Images without any GT box.
    num_positives : numpy.ndarray, int64, shape (I, C)
        Non-hard GT boxes per image and class (the positives of AP).
    classes : tuple of `ClassOutcomes`, length C
    num_confident : numpy.ndarray, int64, shape (I,)
        Detections of any class with score >= ``HEADLINE_SCORE_THRESHOLD``; on a negative image
        each one is a false detection.
    num_hard : numpy.ndarray, int64, shape (I,)
        Hard GT boxes per image.
    num_hard_detected : numpy.ndarray, int64, shape (I,)
        Hard GT boxes with a detection of any class, score >= ``HEADLINE_SCORE_THRESHOLD`` and
        VOC IoU >= ``HARD_DETECTION_IOU_THRESH``.
    iou_thresholds : numpy.ndarray, float64, shape (T,)
        The COCO IoU thresholds of ``coco_outcome``.
    settings : dict
        ``voc_iou_thresh``, ``max_dets``, ``hard_overlap``, ``score_threshold``,
        ``hard_detection_iou_thresh``.
    """
    class_names: tuple
    image_ids: tuple
    negative: np.ndarray
    num_positives: np.ndarray
    classes: tuple
    num_confident: np.ndarray
    num_hard: np.ndarray
    num_hard_detected: np.ndarray
    iou_thresholds: np.ndarray
    settings: dict


def _voc_iou(det_boxes, gt_boxes):
    """IoU with VOC's integer-pixel convention, computed as GluonCV's ``VOCMApMetric`` does.

    Parameters
    ----------
    det_boxes : numpy.ndarray, shape (K, 4)
    gt_boxes : numpy.ndarray, shape (G, 4)
        Each keeps its dtype for the ``+ 1`` (GluonCV adds it to float32 GT boxes in float32).

    Returns
    -------
    numpy.ndarray, float64, shape (K, G)
        ``bbox_iou(det + [0, 0, 1, 1], gt + [0, 0, 1, 1])``, NaN where the union is 0.
    """
    det = np.array(det_boxes, copy=True)
    det[:, 2:] += 1
    gt = np.array(gt_boxes, copy=True)
    gt[:, 2:] += 1
    top_left = np.maximum(det[:, None, :2], gt[:, :2])
    bottom_right = np.minimum(det[:, None, 2:4], gt[:, 2:4])
    area_i = np.prod(bottom_right - top_left, axis=2) * (top_left < bottom_right).all(axis=2)
    area_det = np.prod(det[:, 2:4] - det[:, :2], axis=1)
    area_gt = np.prod(gt[:, 2:4] - gt[:, :2], axis=1)
    with np.errstate(divide='ignore', invalid='ignore'):
        return area_i / (area_det[:, None] + area_gt - area_i)


def _voc_outcomes(det_boxes, gt_boxes, gt_hard, iou_thresh):
    """VOC outcomes of one image's detections of one class (the rule of `.voc`).

    Parameters
    ----------
    det_boxes : numpy.ndarray, shape (K, 4)
        In matching order (GluonCV's ``argsort()[::-1]`` of the scores).
    gt_boxes : numpy.ndarray, shape (G, 4)
    gt_hard : numpy.ndarray, bool, shape (G,)
    iou_thresh : float

    Returns
    -------
    numpy.ndarray, int8, shape (K,)
    """
    outcome = np.full(len(det_boxes), FALSE_POSITIVE, dtype=np.int8)
    if len(det_boxes) == 0 or len(gt_boxes) == 0:
        return outcome
    iou = _voc_iou(det_boxes, gt_boxes)
    best = iou.argmax(axis=1)
    # Written as GluonCV writes it: a NaN IoU (degenerate boxes) is "not below" the threshold.
    matched = ~(iou.max(axis=1) < iou_thresh)
    taken = np.zeros(len(gt_boxes), dtype=bool)
    for k in np.flatnonzero(matched):  # greedy in score order: sequential by nature
        box = best[k]
        if gt_hard[box]:
            outcome[k] = IGNORED
        elif not taken[box]:
            outcome[k] = TRUE_POSITIVE
        taken[box] = True
    return outcome


def make_outcome_table(records, class_names, image_ids=None, voc_iou_thresh=0.5,
                       iou_thresholds=IOU_THRESHOLDS, max_dets=MAX_DETS, hard_overlap='iod'):
    """Match every detection once: the table that `metrics_from_weights` resamples.

    Parameters
    ----------
    records : sequence of `ImageRecord`, length I
        Positive and negative images in any mix; records without GT boxes are the negatives.
        Their order is the tie order of COCO (as in `coco_map` on the same list) and the order
        weights refer to. `DetectionEvaluator.outcome_table` passes positives, then negatives,
        as its report does.
    class_names : sequence of str, length C
    image_ids : sequence of str or int, length I, optional
        Unique; default ``0 .. I-1``. Paired comparisons check them.
    voc_iou_thresh : float
        IoU threshold of the VOC metrics.
    iou_thresholds : array-like, shape (T,)
        COCO IoU thresholds; AP50 / AP75 need 0.5 / 0.75 among them.
    max_dets : int
        COCO detections kept per image and class (highest scores).
    hard_overlap : {'iod', 'iou'}
        As in `coco_map`.

    Returns
    -------
    OutcomeTable
    """
    records = list(records)
    class_names = tuple(str(name) for name in class_names)
    image_ids = tuple(range(len(records)) if image_ids is None else image_ids)
    if len(image_ids) != len(records):
        raise ValueError('got {} image ids for {} records'.format(len(image_ids), len(records)))
    if len(set(image_ids)) != len(image_ids):
        raise ValueError('image ids must be unique')
    if hard_overlap not in HARD_OVERLAP_MODES:
        raise ValueError('hard_overlap must be one of {}, got {!r}'
                         .format(HARD_OVERLAP_MODES, hard_overlap))
    if int(max_dets) < 1:
        raise ValueError('max_dets must be >= 1, got {}'.format(max_dets))
    iou_thresholds = np.asarray(iou_thresholds, dtype=np.float64).reshape(-1)
    num_images, num_classes = len(records), len(class_names)

    negative = np.zeros(num_images, dtype=bool)
    num_positives = np.zeros((num_images, num_classes), dtype=np.int64)
    num_confident = np.zeros(num_images, dtype=np.int64)
    num_hard = np.zeros(num_images, dtype=np.int64)
    num_hard_detected = np.zeros(num_images, dtype=np.int64)
    voc_parts = [([], [], []) for _ in range(num_classes)]  # scores, images, outcomes
    coco_parts = [([], [], []) for _ in range(num_classes)]
    for i, record in enumerate(records):
        gt = record.gt_label
        gt_classes = gt[:, schema.CLASS_ID].astype(np.int64)
        gt_hard = schema.is_hard(gt[:, schema.HARD])
        gt_boxes = gt[:, schema.BOX]
        negative[i] = len(gt) == 0
        num_positives[i] = np.bincount(gt_classes[~gt_hard], minlength=num_classes)
        confident = record.det_scores >= HEADLINE_SCORE_THRESHOLD
        num_confident[i] = np.count_nonzero(confident)
        num_hard[i] = np.count_nonzero(gt_hard)
        if num_hard[i] and num_confident[i]:
            iou = _voc_iou(record.det_boxes[confident], gt_boxes[gt_hard])  # (K', H)
            num_hard_detected[i] = np.count_nonzero(
                (iou >= HARD_DETECTION_IOU_THRESH).any(axis=0))

        for c in np.unique(record.det_labels):
            in_class = np.flatnonzero(record.det_labels == c)
            class_scores = record.det_scores[in_class]
            gt_in_class = gt_classes == c
            # GluonCV's own call on the same array, hence its order, also for tied scores.
            voc_order = class_scores.argsort()[::-1]
            scores_parts, images_parts, outcome_parts = voc_parts[c]
            scores_parts.append(class_scores[voc_order])
            images_parts.append(np.full(len(in_class), i, dtype=np.int64))
            outcome_parts.append(_voc_outcomes(record.det_boxes[in_class[voc_order]],
                                               gt_boxes[gt_in_class], gt_hard[gt_in_class],
                                               voc_iou_thresh))

            coco_order = np.argsort(-class_scores, kind='mergesort')[:int(max_dets)]
            scores_parts, images_parts, outcome_parts = coco_parts[c]
            scores_parts.append(class_scores[coco_order])
            images_parts.append(np.full(len(coco_order), i, dtype=np.int64))
            outcome_parts.append(match_detections(record.det_boxes[in_class[coco_order]],
                                                  gt_boxes[gt_in_class], gt_hard[gt_in_class],
                                                  iou_thresholds, hard_overlap))

    classes = []
    for c in range(num_classes):
        voc_scores, voc_images, voc_outcome = (
            np.concatenate(parts) if parts else np.zeros(0, dtype)
            for parts, dtype in zip(voc_parts[c], (np.float64, np.int64, np.int8)))
        coco_scores, coco_images = (
            np.concatenate(parts) if parts else np.zeros(0, dtype)
            for parts, dtype in zip(coco_parts[c][:2], (np.float64, np.int64)))
        coco_outcome = (np.concatenate(coco_parts[c][2], axis=1) if coco_parts[c][2]
                        else np.zeros((len(iou_thresholds), 0), dtype=np.int8))
        # coco_map's accumulation order: concatenated by image, then a stable sort by score.
        order = np.argsort(-coco_scores, kind='mergesort')
        order = order[(coco_outcome[:, order] != IGNORED).any(axis=0)]
        classes.append(ClassOutcomes(voc_scores, voc_images,
                                     voc_outcome, coco_scores[order].astype(np.float64),
                                     coco_images[order], coco_outcome[:, order]))
    settings = {'voc_iou_thresh': float(voc_iou_thresh), 'max_dets': int(max_dets),
                'hard_overlap': hard_overlap, 'score_threshold': HEADLINE_SCORE_THRESHOLD,
                'hard_detection_iou_thresh': HARD_DETECTION_IOU_THRESH}
    return OutcomeTable(class_names, image_ids, negative, num_positives, tuple(classes),
                        num_confident, num_hard, num_hard_detected, iou_thresholds, settings)


def resample_image_weights(negative, num_resamples, rng):
    """Draw bootstrap resamples of the images: positives and negatives independently.

    Parameters
    ----------
    negative : numpy.ndarray, bool, shape (I,)
        `OutcomeTable.negative`.
    num_resamples : int
        B.
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray, float64, shape (B, I)
        How often each image was drawn; each row draws as many positives (negatives) with
        replacement as there are positive (negative) images. Positives are drawn first, then
        negatives, so a seed fixes both.
    """
    negative = np.asarray(negative, dtype=bool)
    weights = np.zeros((num_resamples, len(negative)))
    rows = np.arange(num_resamples)[:, None]
    for group in (np.flatnonzero(~negative), np.flatnonzero(negative)):
        if len(group):
            drawn = group[rng.integers(0, len(group), size=(num_resamples, len(group)))]
            np.add.at(weights, (np.broadcast_to(rows, drawn.shape), drawn), 1)
    return weights


class _VocClass(NamedTuple):
    """One class's VOC detections of a section, in GluonCV's accumulation order.

    ``images (V,)``: image of each counted (not ignored) detection; ``true_positions (P,)``:
    where the true positives are among them.
    """
    images: np.ndarray
    true_positions: np.ndarray


class _CocoClass(NamedTuple):
    """One class's COCO detections of a section, in `coco_map`'s accumulation order.

    ``images (D,)``; per IoU threshold ``t``: ``true_positions[t] (P_t,)`` and
    ``ignored_positions[t] (Q_t,)`` among the D, and ``ignored_before[t] (P_t,)``, how many of
    the ignored ones precede each true positive.
    """
    images: np.ndarray
    true_positions: list
    ignored_positions: list
    ignored_before: list


def _section(table, in_section):
    """Per class ``(_VocClass, _CocoClass)`` of the images where ``in_section`` ((I,) bool) is
    set."""
    section = []
    for outcomes in table.classes:
        keep = in_section[outcomes.voc_images]
        # GluonCV sorts the concatenation of the section's images with this same call.
        order = outcomes.voc_scores[keep].argsort()[::-1]
        images = outcomes.voc_images[keep][order]
        outcome = outcomes.voc_outcome[keep][order]
        counted = outcome != IGNORED
        voc = _VocClass(images[counted], np.flatnonzero(outcome[counted] == TRUE_POSITIVE))
        keep = in_section[outcomes.coco_images]
        outcome = outcomes.coco_outcome[:, keep]
        true_positions = [np.flatnonzero(row == TRUE_POSITIVE) for row in outcome]
        ignored_positions = [np.flatnonzero(row == IGNORED) for row in outcome]
        coco = _CocoClass(outcomes.coco_images[keep], true_positions, ignored_positions,
                          [np.searchsorted(ignored, true) for true, ignored in
                           zip(true_positions, ignored_positions)])
        section.append((voc, coco))
    return section


def _chunks(rows, cells_per_row):
    """Split ``rows`` ((N,) int) into pieces of about ``_CHUNK_CELLS`` cells."""
    size = max(1, _CHUNK_CELLS // max(1, cells_per_row))
    return [rows[start:start + size] for start in range(0, len(rows), size)]


def _suffix_max(values):
    """Maximum of ``values[..., j:]`` for every ``j`` (the precision envelope)."""
    return np.maximum.accumulate(values[..., ::-1], axis=-1)[..., ::-1]


def _voc_aps(weights, num_pos, voc):
    """VOC07 and VOC12 AP of one class for every resample.

    Parameters
    ----------
    weights : numpy.ndarray, float64, shape (B, I)
    num_pos : numpy.ndarray, float64, shape (B,)
        Weighted non-hard GT boxes of the class.
    voc : _VocClass

    Returns
    -------
    ap07, ap12 : numpy.ndarray, float64, shape (B,)
        NaN where ``num_pos`` is 0.
    """
    num_resamples, num_true = len(weights), len(voc.true_positions)
    ap07 = np.full(num_resamples, np.nan)
    ap12 = np.full(num_resamples, np.nan)
    defined = np.flatnonzero(num_pos > 0)
    ap07[defined] = ap12[defined] = 0.0
    if num_true == 0:
        return ap07, ap12
    for rows in _chunks(defined, len(voc.images)):
        w = weights[rows][:, voc.images]  # (b, V)
        # Every counted detection is a TP or an FP: their sum is the running weight.
        counted = np.cumsum(w, axis=1)[:, voc.true_positions]  # (b, P)
        tp = np.cumsum(w[:, voc.true_positions], axis=1)
        # 0/0 (weight-0 detections first) is GluonCV's NaN, which it nan_to_num's to 0.
        precision = np.divide(tp, counted, out=np.zeros_like(tp), where=counted > 0)
        recall = tp / num_pos[rows, None]
        envelope = _suffix_max(precision)
        # VOC07: the max precision at recall >= t is the envelope at the first TP reaching t
        # (recall never falls); summed in GluonCV's order for its rounding.
        ap = np.zeros(len(rows))
        last = np.arange(len(rows))
        for point in VOC07_RECALL_POINTS:
            first = np.count_nonzero(recall < point, axis=1)
            reached = first < num_true
            ap = ap + np.where(reached, envelope[last, np.minimum(first, num_true - 1)],
                               0.0) / 11.
        ap07[rows] = ap
        # VOC12: recall steps times the envelope after the step; the final step to the
        # sentinel recall 1 has precision 0.
        steps = np.diff(recall, axis=1, prepend=0.0)
        ap12[rows] = np.sum(steps * envelope, axis=1)
    return ap07, ap12


def _coco_values(weights, num_pos, coco, num_thresholds, recall_thresholds=RECALL_THRESHOLDS):
    """COCO interpolated precision and final recall of one class for every resample.

    Parameters
    ----------
    weights : numpy.ndarray, float64, shape (B, I)
    num_pos : numpy.ndarray, float64, shape (B,)
    coco : _CocoClass
    num_thresholds : int
        T.
    recall_thresholds : numpy.ndarray, shape (R,)

    Returns
    -------
    precision : numpy.ndarray, float64, shape (B, T, R)
    recall : numpy.ndarray, float64, shape (B, T)
        NaN where ``num_pos`` is 0.
    """
    num_resamples = len(weights)
    out = np.full((num_resamples, num_thresholds, len(recall_thresholds)), np.nan)
    final_recall = np.full((num_resamples, num_thresholds), np.nan)
    defined = np.flatnonzero(num_pos > 0)
    out[defined] = final_recall[defined] = 0.0
    for rows in _chunks(defined, len(coco.images)):
        w = weights[rows][:, coco.images]  # (b, D)
        running = np.cumsum(w, axis=1)
        for t in range(num_thresholds):
            true_positions = coco.true_positions[t]
            num_true = len(true_positions)
            if num_true == 0:
                continue
            ignored = np.cumsum(w[:, coco.ignored_positions[t]], axis=1)
            ignored = np.concatenate([np.zeros((len(rows), 1)), ignored], axis=1)
            # TPs plus FPs so far: every detection so far minus the ignored ones.
            counted = running[:, true_positions] - ignored[:, coco.ignored_before[t]]
            tp = np.cumsum(w[:, true_positions], axis=1)  # (b, P)
            recall = tp / num_pos[rows, None]
            envelope = _suffix_max(tp / (counted + _COCO_EPS))
            for r, row in enumerate(rows):
                first = np.searchsorted(recall[r], recall_thresholds, side='left')
                reached = first < num_true
                out[row, t, reached] = envelope[r, first[reached]]
            final_recall[rows, t] = recall[:, -1]
    return out, final_recall


def _mean_over_defined(per_class):
    """Mean over the defined (non-NaN) columns of ``per_class`` ((B, C)); NaN if none."""
    defined = ~np.isnan(per_class)
    count = defined.sum(axis=1)
    total = np.where(defined, per_class, 0.0).sum(axis=1)
    return np.divide(total, count, out=np.full(len(total), np.nan), where=count > 0)


def _ratio(numerator, denominator):
    return np.divide(numerator, denominator, out=np.full(len(numerator), np.nan),
                     where=denominator > 0)


def _section_metrics(table, section, weights, prefix):
    """AP metrics of one section for every resample: {name: (B,) float64}."""
    num_pos = weights @ table.num_positives  # (B, C)
    iou_thresholds = table.iou_thresholds
    ap07, ap12 = [], []
    coco_keys = ('AP', 'AP50', 'AP75', 'AR')
    coco = {key: [] for key in coco_keys}
    index = {key: np.flatnonzero(np.isclose(iou_thresholds, value))
             for key, value in (('AP50', 0.5), ('AP75', 0.75))}
    for c, (voc, coco_class) in enumerate(section):
        class_ap07, class_ap12 = _voc_aps(weights, num_pos[:, c], voc)
        ap07.append(class_ap07)
        ap12.append(class_ap12)
        precision, recall = _coco_values(weights, num_pos[:, c], coco_class,
                                         len(iou_thresholds))
        coco['AP'].append(precision.mean(axis=(1, 2)))
        coco['AR'].append(recall.mean(axis=1))
        for key in ('AP50', 'AP75'):
            coco[key].append(precision[:, index[key][0]].mean(axis=1) if len(index[key])
                             else np.full(len(weights), np.nan))
    values = {}
    for metric, class_values in (('voc07', ap07), ('voc12', ap12)):
        per_class = np.stack(class_values, axis=1)
        values['{}/{}/mAP'.format(prefix, metric)] = _mean_over_defined(per_class)
        for c, name in enumerate(table.class_names):
            values['{}/{}/per_class/{}'.format(prefix, metric, name)] = per_class[:, c]
    for key in coco_keys:
        per_class = np.stack(coco[key], axis=1)
        values['{}/coco/{}'.format(prefix, key)] = _mean_over_defined(per_class)
        for c, name in enumerate(table.class_names):
            values['{}/coco/per_class/{}/{}'.format(prefix, name, key)] = per_class[:, c]
    return values


def metrics_from_weights(table, image_weights):
    """Every metric of the table's evaluation with images weighted (a resample: counts).

    Parameters
    ----------
    table : OutcomeTable
    image_weights : array-like, shape (B, I) or (I,)
        Non-negative; integer counts for bootstrap resamples (weight ``w`` is the image
        repeated ``w`` times), all ones for the evaluation itself.

    Returns
    -------
    dict
        ``{metric name: numpy.ndarray, float64, shape (B,)}`` (names in the module docstring),
        NaN where undefined. With all weights 1 the AP values equal `voc_map` / `coco_map` on
        the table's records to rounding (sections: positive images; all images).
    """
    weights = np.asarray(image_weights, dtype=np.float64)
    if weights.ndim == 1:
        weights = weights[None]
    num_images = len(table.image_ids)
    if weights.ndim != 2 or weights.shape[1] != num_images:
        raise ValueError('image_weights must have shape (B, {}), got {}'
                         .format(num_images, weights.shape))
    if not (np.isfinite(weights).all() and (weights >= 0).all()):
        raise ValueError('image_weights must be finite and non-negative')
    negative = table.negative
    values = {}
    sections = [('positive_images', ~negative)] + (
        [('all_images', np.ones(num_images, dtype=bool))] if negative.any() else [])
    for prefix, in_section in sections:
        values.update(_section_metrics(table, _section(table, in_section),
                                       weights * in_section, prefix))
    if negative.any():
        negative_weights = weights[:, negative]
        num_negative = negative_weights.sum(axis=1)
        confident = table.num_confident[negative]
        values['negative_images/mean_per_image'] = _ratio(negative_weights @ confident,
                                                          num_negative)
        values['negative_images/fraction_of_images'] = _ratio(
            negative_weights @ (confident > 0).astype(np.float64), num_negative)
    values['hard_boxes/confident_detection_rate'] = _ratio(weights @ table.num_hard_detected,
                                                           weights @ table.num_hard)
    return values


def _check_settings(num_resamples, level):
    if isinstance(num_resamples, bool) or int(num_resamples) != num_resamples \
            or num_resamples < 1:
        raise ValueError('num_resamples must be a positive integer, got {!r}'
                         .format(num_resamples))
    if not 0 < level < 1:
        raise ValueError('level must be in (0, 1), got {}'.format(level))
    return int(num_resamples), float(level)


def _none_if_nan(value):
    value = float(value)
    return None if np.isnan(value) else value


def _percentile_interval(samples, level):
    """``(low, high, count)``: percentile interval of the defined ``samples`` ((B,))."""
    defined = samples[~np.isnan(samples)]
    if len(defined) == 0:
        return None, None, 0
    low, high = np.percentile(defined, [50 * (1 - level), 50 * (1 + level)])
    return float(low), float(high), int(len(defined))


def _point_estimates(table):
    return {name: values[0] for name, values in
            metrics_from_weights(table, np.ones(len(table.image_ids))).items()}


def bootstrap_intervals(table, num_resamples=DEFAULT_RESAMPLES, seed=0, level=DEFAULT_LEVEL):
    """Percentile bootstrap intervals over images for every metric of an evaluation.

    Parameters
    ----------
    table : OutcomeTable
    num_resamples : int
        B; each resample draws the positive and the negative images with replacement,
        independently (`resample_image_weights`).
    seed : int
        Seeds ``numpy.random.default_rng``: the same seed draws the same resamples (also in
        `paired_bootstrap` for tables of the same images).
    level : float
        Coverage of the interval: the ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of
        the resampled values (NumPy's linear interpolation).

    Returns
    -------
    dict
        ``{metric name: {'value', 'low', 'high', 'level', 'resamples'}}``: ``value`` the point
        estimate (all weights 1), ``low``/``high`` the interval over the ``resamples`` in which
        the metric was defined; ``None`` where undefined. The percentile interval of a biased
        statistic need not contain ``value`` (AP of very few images can be skewed).
    """
    num_resamples, level = _check_settings(num_resamples, level)
    weights = resample_image_weights(table.negative, num_resamples,
                                     np.random.default_rng(seed))
    samples = metrics_from_weights(table, weights)
    result = {}
    for name, value in _point_estimates(table).items():
        low, high, count = _percentile_interval(samples[name], level)
        result[name] = {'value': _none_if_nan(value), 'low': low, 'high': high, 'level': level,
                        'resamples': count}
    return result


def _check_same_images(table_a, table_b, what):
    """Raise ValueError unless the two tables evaluate the same images and ground truth."""
    if tuple(table_a.image_ids) != tuple(table_b.image_ids):
        a, b = list(table_a.image_ids), list(table_b.image_ids)
        if sorted(map(str, a)) == sorted(map(str, b)) and len(a) == len(b):
            detail = 'the same ids in another order; evaluate the images in the same order'
        else:
            detail = '{} and {} images, {} in common'.format(len(a), len(b),
                                                            len(set(a) & set(b)))
        raise ValueError('{} must evaluate the same image ids in the same order: {}'
                         .format(what, detail))
    if tuple(table_a.class_names) != tuple(table_b.class_names):
        raise ValueError('{} have different classes: {} and {}'
                         .format(what, list(table_a.class_names), list(table_b.class_names)))
    for field in ('negative', 'num_positives', 'num_hard'):
        if not np.array_equal(getattr(table_a, field), getattr(table_b, field)):
            raise ValueError('{} have the same image ids but different ground truth ({})'
                             .format(what, field))
    if not np.array_equal(table_a.iou_thresholds, table_b.iou_thresholds) \
            or table_a.settings != table_b.settings:
        raise ValueError('{} were evaluated with different settings: {} and {}'
                         .format(what, table_a.settings, table_b.settings))


def _difference_entry(difference, samples, level, **extra):
    low, high, count = _percentile_interval(samples, level)
    return dict({'difference': _none_if_nan(difference), 'low': low, 'high': high,
                 'level': level, 'resamples': count}, **extra)


def paired_bootstrap(table_a, table_b, num_resamples=DEFAULT_RESAMPLES, seed=0,
                     level=DEFAULT_LEVEL):
    """Difference ``b - a`` of every metric of two evaluations of the same images.

    Parameters
    ----------
    table_a, table_b : OutcomeTable
        The same image ids in the same order, the same classes, ground truth and settings (two
        models, or two policies, on one test set).
    num_resamples, seed, level
        As in `bootstrap_intervals`; each resample weights the images of both tables alike,
        so the interval is that of the paired difference (image difficulty cancels out).

    Returns
    -------
    dict
        ``{metric name: {'a', 'b', 'difference', 'low', 'high', 'level', 'resamples'}}``:
        ``a`` and ``b`` the point estimates, ``difference`` ``b - a``, ``low``/``high`` its
        interval over the ``resamples`` where both are defined; ``None`` where undefined.

    Raises
    ------
    ValueError
        When the tables do not evaluate the same images (ids, order, ground truth).
    """
    _check_same_images(table_a, table_b, 'table_a and table_b')
    num_resamples, level = _check_settings(num_resamples, level)
    weights = resample_image_weights(table_a.negative, num_resamples,
                                     np.random.default_rng(seed))
    samples_a = metrics_from_weights(table_a, weights)
    samples_b = metrics_from_weights(table_b, weights)
    point_a, point_b = _point_estimates(table_a), _point_estimates(table_b)
    return {name: _difference_entry(point_b[name] - point_a[name],
                                    samples_b[name] - samples_a[name], level,
                                    a=_none_if_nan(point_a[name]), b=_none_if_nan(point_b[name]))
            for name in point_a}


def paired_bootstrap_over_runs(pairs, num_resamples=DEFAULT_RESAMPLES, seed=0,
                               level=DEFAULT_LEVEL):
    """Mean paired difference over several runs (seeds), runs and images resampled together.

    Two-level bootstrap: each resample draws S runs with replacement from the S pairs and,
    independently, the images (positives and negatives separately, as in
    `bootstrap_intervals`); its value is the mean over the drawn runs of ``b - a`` on the drawn
    images. The image draw is shared by every run because every run is evaluated on the same
    test set: the spread of the interval then holds both the seed-to-seed variation and the
    test-set sampling. With one pair it equals `paired_bootstrap` (same seed, same images).

    Parameters
    ----------
    pairs : sequence of (OutcomeTable, OutcomeTable), length S >= 1
        ``(a, b)`` per run (for instance baseline and new policy trained with the same seed);
        every table evaluates the same images in the same order.
    num_resamples, seed, level
        As in `bootstrap_intervals`.

    Returns
    -------
    dict
        ``{metric name: {'difference', 'low', 'high', 'level', 'resamples', 'runs',
        'per_run'}}``: ``difference`` the mean over runs of the point differences, its
        interval over the ``resamples`` where it is defined, ``runs`` S, ``per_run`` the S
        point differences; ``None`` where undefined (the mean is undefined when one drawn
        run's difference is).

    Raises
    ------
    ValueError
        When there is no pair or the tables do not all evaluate the same images.
    """
    pairs = [tuple(pair) for pair in pairs]
    if not pairs or any(len(pair) != 2 for pair in pairs):
        raise ValueError('pairs must be a non-empty sequence of (table_a, table_b)')
    reference = pairs[0][0]
    for s, (table_a, table_b) in enumerate(pairs):
        _check_same_images(reference, table_a, 'run 0 and run {} (a)'.format(s))
        _check_same_images(reference, table_b, 'run 0 and run {} (b)'.format(s))
    num_resamples, level = _check_settings(num_resamples, level)
    rng = np.random.default_rng(seed)
    weights = resample_image_weights(reference.negative, num_resamples, rng)
    num_runs = len(pairs)
    drawn_runs = rng.integers(0, num_runs, size=(num_resamples, num_runs))  # (B, S)
    differences, points = [], []  # per run: {name: (B,)}, {name: float}
    for table_a, table_b in pairs:
        samples_a = metrics_from_weights(table_a, weights)
        samples_b = metrics_from_weights(table_b, weights)
        differences.append({name: samples_b[name] - samples_a[name] for name in samples_a})
        point_a, point_b = _point_estimates(table_a), _point_estimates(table_b)
        points.append({name: point_b[name] - point_a[name] for name in point_a})
    result = {}
    columns = np.arange(num_resamples)[:, None]
    for name in points[0]:
        per_run = np.stack([d[name] for d in differences])  # (S, B)
        samples = per_run[drawn_runs, columns].mean(axis=1)  # (B,)
        per_run_points = np.array([p[name] for p in points])
        result[name] = _difference_entry(per_run_points.mean(), samples, level, runs=num_runs,
                                         per_run=[_none_if_nan(v) for v in per_run_points])
    return result
