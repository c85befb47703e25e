"""Data set audit: cross-validated detections compared with the labels, image by image.

dlib's curation loop: split the labelled images into ``k`` folds, train on ``k - 1`` folds,
detect on the held-out one, and look at where the detector and the labels disagree. A model
that never saw an image has no memory of its labels, so a confident detection where nothing is
labelled is often an object someone forgot to box, and a box nothing detects is often a wrong,
misplaced or very hard label.

Per image (:func:`classify_image`), with *confident* detections = ``score >= score_thresh``:

- **missed** GT: a normal (not hard) GT box that no confident detection of its class overlaps
  with ``IoU >= iou_thresh``;
- **matched** detection: a confident detection with ``IoU >= iou_thresh`` with a normal GT box
  of its class (several detections may match one box: duplicates are the detector's business,
  not the labels');
- **hard hit**: a confident detection that matches no normal box but a hard box of its class
  (``IoU >= iou_thresh``): not an error of the detector, as in the evaluation, and not in the
  badness; the report lists them because a box the detector finds with confidence may be
  labelled hard by mistake;
- **false alarm**: any other confident detection;
- **suspect**: a false alarm with ``score >= suspect_thresh`` whose IoU with every GT box (any
  class, hard or not) is below ``near_iou``: confident, and nowhere near a label. Maybe an
  unlabelled object.

Images are sorted worst first by ``badness = misses + false alarms + suspects`` (a suspect is
also a false alarm, so it counts twice: suspected label errors are what the audit is for), then
by the highest suspect score, then by image id.

IoU is intersection over union with ``width = xmax - xmin`` (:mod:`gluoncv_hard.overlaps`).
"""
from typing import Callable, NamedTuple

import numpy as np

from gluoncv_hard import schema
from gluoncv_hard.core.overlaps import pairwise_iou
from gluoncv_hard.errors import InputError

__all__ = ['DEFAULT_SCORE_THRESH', 'DEFAULT_SUSPECT_THRESH', 'DEFAULT_IOU_THRESH',
           'DEFAULT_NEAR_IOU', 'AuditSettings', 'ImageFindings', 'ImageAudit', 'classify_image',
           'badness', 'sort_worst_first', 'make_folds', 'subset_indices', 'audit_dataset']

DEFAULT_SCORE_THRESH = 0.5
DEFAULT_SUSPECT_THRESH = 0.8
DEFAULT_IOU_THRESH = 0.5
DEFAULT_NEAR_IOU = 0.1


class AuditSettings(NamedTuple):
    """Thresholds of :func:`classify_image` (see the module docstring)."""
    score_thresh: float = DEFAULT_SCORE_THRESH
    suspect_thresh: float = DEFAULT_SUSPECT_THRESH
    iou_thresh: float = DEFAULT_IOU_THRESH
    near_iou: float = DEFAULT_NEAR_IOU

    def check(self):
        for name, value in self._asdict().items():
            if not 0 <= value <= 1:
                raise InputError('{} must be in [0, 1], got {}'.format(name, value), param=name)
        if self.suspect_thresh < self.score_thresh:
            raise InputError('suspect_thresh ({}) must not be below score_thresh ({}): a '
                             'suspect is a confident false alarm'.format(self.suspect_thresh,
                                                                        self.score_thresh),
                             param='suspect_thresh')
        return self


# Immutable, so one shared default instance is safe.
DEFAULT_SETTINGS = AuditSettings()


class ImageFindings(NamedTuple):
    """What :func:`classify_image` found; every field is an int64 index array.

    Attributes
    ----------
    missed : (M,) -- rows of the GT label (normal boxes) nothing confident detected
    matched : (D1,) -- detections matching a normal GT box
    hard_hits : (D2,) -- detections matching only a hard box
    false_alarms : (D3,) -- other confident detections (includes the suspects)
    suspects : (D4,) -- false alarms with a high score and no GT box nearby
    """
    missed: np.ndarray
    matched: np.ndarray
    hard_hits: np.ndarray
    false_alarms: np.ndarray
    suspects: np.ndarray


def classify_image(det_boxes, det_scores, det_labels, gt_label, settings=DEFAULT_SETTINGS):
    """Compare one image's detections with its labels.

    Parameters
    ----------
    det_boxes : (K, 4) float array, pixels
    det_scores : (K,) float array
    det_labels : (K,) int array, class ids
    gt_label : (N, 5) or (N, 6) float array (schema layout); ``(0, 6)`` for no boxes
    settings : AuditSettings

    Returns
    -------
    ImageFindings
    """
    boxes = np.asarray(det_boxes, np.float64).reshape(-1, 4)
    scores = np.asarray(det_scores, np.float64).reshape(-1)
    labels = np.asarray(det_labels).reshape(-1).astype(np.int64)
    if not len(boxes) == len(scores) == len(labels):
        raise ValueError('{} boxes, {} scores and {} labels: one of each per detection'.format(
            len(boxes), len(scores), len(labels)))
    gt_boxes, gt_classes, hard = schema.split_label(schema.validate_label(gt_label, 'gt_label'))
    confident = np.flatnonzero(scores >= settings.score_thresh)
    ious = pairwise_iou(boxes[confident], gt_boxes).astype(np.float64)
    same_class = labels[confident][:, None] == gt_classes.astype(np.int64)[None, :]
    overlapping = (ious >= settings.iou_thresh) & same_class
    normal_match = overlapping & ~hard[None, :]
    is_matched = normal_match.any(axis=1)
    is_hard_hit = ~is_matched & (overlapping & hard[None, :]).any(axis=1)
    is_false = ~is_matched & ~is_hard_hit
    nearest = ious.max(axis=1) if ious.shape[1] else np.zeros(len(confident))
    is_suspect = is_false & (scores[confident] >= settings.suspect_thresh) & \
        (nearest < settings.near_iou)
    missed = np.flatnonzero(~hard & ~normal_match.any(axis=0))
    return ImageFindings(missed.astype(np.int64), confident[is_matched],
                         confident[is_hard_hit], confident[is_false], confident[is_suspect])


def badness(findings):
    """``misses + false alarms + suspects`` (a suspect counts twice, see the module docs)."""
    return len(findings.missed) + len(findings.false_alarms) + len(findings.suspects)


class ImageAudit(NamedTuple):
    """One audited image: where it is, the fold it was held out in, labels, detections (all of
    them, in original-image pixels) and findings."""
    index: int
    image_id: str
    image_path: str
    fold: int
    gt_label: np.ndarray
    det_boxes: np.ndarray
    det_scores: np.ndarray
    det_labels: np.ndarray
    findings: ImageFindings

    @property
    def badness(self):
        return badness(self.findings)

    @property
    def max_suspect_score(self):
        """Highest suspect score, 0.0 without suspects."""
        s = self.findings.suspects
        return float(self.det_scores[s].max()) if len(s) else 0.0


def sort_worst_first(audits):
    """Audits by badness (descending), highest suspect score, then image id."""
    return sorted(audits, key=lambda a: (-a.badness, -a.max_suspect_score, str(a.image_id)))


def make_folds(num_items, num_folds, seed=0):
    """Split ``range(num_items)`` into ``num_folds`` random folds of nearly equal size.

    Returns a list of sorted int64 arrays that partition the items; the same seed gives the
    same folds.
    """
    if num_folds < 2:
        raise InputError('num_folds must be at least 2 (train on some, test on the others), '
                         'got {}'.format(num_folds), param='num_folds')
    if num_items < num_folds:
        raise InputError('{} images cannot be split into {} folds; use fewer folds or more '
                         'images'.format(num_items, num_folds), param='num_folds')
    order = np.random.default_rng(seed).permutation(num_items)
    return [np.sort(part).astype(np.int64) for part in np.array_split(order, num_folds)]


def subset_indices(num_items, max_images=None, seed=0):
    """All indices, or ``max_images`` of them drawn at random (sorted) for a quick look."""
    if max_images is None or max_images >= num_items:
        return np.arange(num_items, dtype=np.int64)
    if max_images < 1:
        raise InputError('max_images must be at least 1, got {}'.format(max_images),
                         param='max_images')
    rng = np.random.default_rng([seed, 1])
    return np.sort(rng.choice(num_items, size=max_images, replace=False)).astype(np.int64)


def audit_dataset(dataset, folds, fit_and_predict: Callable, settings=DEFAULT_SETTINGS,
                  progress=None):
    """Cross-validated audit of ``dataset``.

    Parameters
    ----------
    dataset : detection data set with ``image_id(i)``/``image_path(i)``
    folds : list of int arrays (e.g. :func:`make_folds` over a subset)
    fit_and_predict : callable
        ``fit_and_predict(fold, train_indices, test_indices)`` trains on ``train_indices`` and
        yields a :class:`gluoncv_hard.predict.Prediction` for each of ``test_indices``.
    settings : AuditSettings
    progress : callable, optional -- called with a message at the start of each fold

    Returns
    -------
    list of ImageAudit, worst first
    """
    settings.check()
    audits = []
    for fold, test_indices in enumerate(folds):
        train_indices = np.sort(np.concatenate([f for k, f in enumerate(folds) if k != fold]))
        if progress:
            progress('fold {}/{}: training on {} images, detecting on {}'.format(
                fold + 1, len(folds), len(train_indices), len(test_indices)))
        for p in fit_and_predict(fold, train_indices, test_indices):
            findings = classify_image(p.boxes, p.scores, p.labels, p.gt_label, settings)
            audits.append(ImageAudit(int(p.index), str(dataset.image_id(p.index)),
                                     dataset.image_path(p.index), fold,
                                     schema.validate_label(p.gt_label, str(p.index)),
                                     np.asarray(p.boxes, np.float64).reshape(-1, 4),
                                     np.asarray(p.scores, np.float64).reshape(-1),
                                     np.asarray(p.labels).reshape(-1).astype(np.int64),
                                     findings))
    return sort_worst_first(audits)
