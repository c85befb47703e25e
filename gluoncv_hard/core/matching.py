"""Hard-aware matching of candidate boxes (anchors or proposals) to ground truth, in NumPy.

Every candidate gets one label: ``POSITIVE`` (trained as object), ``NEGATIVE`` (trained as
background) or ``IGNORE`` (left out of the loss) (:mod:`gluoncv_hard.core.codes`), and the index of
the GT box it regresses to. The options are a :class:`gluoncv_hard.core.config.HardConfig`; the
per-candidate overlaps come from :mod:`gluoncv_hard.core.candidates`.

Hard-box policies (``HardConfig.policy``)
-----------------------------------------

==========  ==================================  =========================================
policy      hard boxes during matching          candidates overlapping a hard box
==========  ==================================  =========================================
``ignore``  removed (never matched, never the   IGNORE when the overlap with any hard box
            "best candidate" of anything)       exceeds ``thresh`` (see precedence below)
``positive``ordinary GT (stock GluonCV)         labelled as stock GluonCV labels them
``drop``    removed                             labelled as if the hard box were not there
==========  ==================================  =========================================

``positive`` and ``drop`` are the two baselines ``ignore`` is measured against.

Overlap with a hard box (``HardConfig.overlap``)
------------------------------------------------
- ``iof`` (default): intersection / candidate area, i.e. how much of the candidate lies inside the
  hard box (mmdetection's ``ignore_iof_thr`` direction). A large candidate that merely contains a
  tiny hard box is not neutralized: it is mostly background.
- ``iou``: intersection over union.
- ``iou_or_iof``: dlib's rule: IoU above ``thresh``, or one box covered by the other by more than
  ``cover_thresh`` (intersection / smaller area).

Precedence (``HardConfig.precedence``), for a candidate that is POSITIVE for a normal box *and*
overlaps a hard box:

- ``normal_wins`` (default, dlib): it stays POSITIVE. Only would-be NEGATIVE and in-between
  candidates near hard boxes are neutralized.
- ``ignore_wins`` (mmdetection): it becomes IGNORE.

The default is ``normal_wins`` because hard regions (a COCO crowd, a blurred group) often contain
or touch clearly labelled boxes, and with ``ignore_wins`` those boxes lose their positives,
sometimes all of them. A labeller who marks one box hard has said nothing against its neighbours.

Order of rules (each later step wins over earlier ones)
-------------------------------------------------------
Only *normal* GT boxes (all boxes under ``positive``, non-hard ones otherwise) take part in 1-2.

0. Invalid candidates (e.g. anchors crossing the image border) are IGNORE and stay so.
1. Thresholds on the candidate's best IoU ``u`` with a normal box: ``u >= pos_thresh`` ->
   POSITIVE; ``0 <= u < neg_thresh`` -> NEGATIVE; otherwise IGNORE.
2. Best candidate per normal box: a candidate whose IoU with a normal box equals that box's best
   IoU (within float32 eps, ties all count) becomes POSITIVE if ``u >= best_match_min_iou``.
   The default ``best_match_min_iou = neg_thresh`` is stock GluonCV's behaviour (there the negative
   threshold overrides this rule, so a box whose best anchor has IoU below ``neg_thresh`` gets no
   positive). detectron2/mmdetection keep such low-quality matches: pass a smaller value (> 0).
3. Hard boxes (``ignore`` only): candidates whose overlap with a hard box exceeds ``thresh``
   become IGNORE; under ``normal_wins`` POSITIVE candidates are left alone.

Special cases: with no normal boxes (no GT at all, every GT hard, or ``drop``/``ignore`` with only
hard boxes) every valid candidate is NEGATIVE before step 3. With no candidate (``N = 0``) the
assignment is empty; with no valid one it is all IGNORE. ``matches`` is -1 for candidates that
have no normal box to point at; it never points at a hard box under ``ignore`` and ``drop``.

Example
-------
>>> import numpy as np
>>> anchors = np.array([[0, 0, 10, 10], [20, 20, 30, 30], [50, 50, 60, 60]], np.float32)
>>> gt = np.array([[0, 0, 10, 11], [20, 20, 30, 30]], np.float32)
>>> hard = np.array([False, True])
>>> a = assign_boxes(anchors, gt, hard, HardConfig(), pos_thresh=0.7, neg_thresh=0.3)
>>> a.labels.tolist(), a.matches.tolist()
([1, 0, -1], [0, 0, 0])
"""
from dataclasses import dataclass

import numpy as np

from gluoncv_hard.core.candidates import (
    CandidateOverlaps,
    near_hard_mask,
    overlaps_from_boxes,
    overlaps_from_ious,
)
from gluoncv_hard.core.codes import IGNORE, NEGATIVE, POSITIVE
from gluoncv_hard.core.config import (
    HARD_OVERLAPS,
    HARD_POLICIES,
    HARD_PRECEDENCES,
    HardConfig,
    check_thresholds,
)
from gluoncv_hard.core.inputs import as_boxes, as_flags, as_matrix
from gluoncv_hard.core.overlaps import pairwise_iou

# The first names are defined in config, codes and candidates (their home) and kept importable
# from here, where they used to live.
__all__ = ['POSITIVE', 'NEGATIVE', 'IGNORE', 'HARD_POLICIES', 'HARD_OVERLAPS',
           'HARD_PRECEDENCES', 'HardConfig', 'check_thresholds', 'CandidateOverlaps',
           'overlaps_from_ious', 'overlaps_from_boxes', 'near_hard_mask', 'Assignment',
           'label_candidates', 'assign_ious', 'assign_boxes']

# Below this many candidate/GT pairs one dense IoU matrix is cheaper than chunking (RCNN stage).
_DENSE_PAIRS = 1 << 15


@dataclass
class Assignment:
    """Result of matching ``N`` candidates.

    Attributes
    ----------
    labels : (N,) int8 -- POSITIVE, NEGATIVE or IGNORE.
    matches : (N,) int64 -- GT index for each candidate, meaningful where POSITIVE; -1 = none.
    max_iou : (N,) float32 -- best IoU with a normal GT box.
    near_hard : (N,) bool -- candidates neutralized (or protected by ``normal_wins``) by hard
        boxes.
    """
    labels: np.ndarray
    matches: np.ndarray
    max_iou: np.ndarray
    near_hard: np.ndarray


def label_candidates(overlaps, valid, pos_thresh, neg_thresh, best_match_min_iou, precedence):
    """Apply the labelling rules (steps 0-3 of the module docstring).

    Parameters
    ----------
    overlaps : CandidateOverlaps for N candidates
    valid : (N,) bool or None (all valid)
    pos_thresh, neg_thresh, best_match_min_iou : float
    precedence : {'normal_wins', 'ignore_wins'}

    Returns
    -------
    (N,) int8 labels
    """
    u = overlaps.max_iou
    labels = np.full(u.shape, IGNORE, dtype=np.int8)
    labels[u < neg_thresh] = NEGATIVE                                    # step 1
    labels[u >= pos_thresh] = POSITIVE
    labels[overlaps.best_for_gt & (u >= best_match_min_iou)] = POSITIVE  # step 2
    neutral = overlaps.near_hard                                         # step 3
    if precedence == 'normal_wins':
        neutral = neutral & (labels != POSITIVE)
    labels[neutral] = IGNORE
    if valid is not None:                                                # step 0
        labels[~as_flags(valid, len(labels), 'valid', what='candidates')] = IGNORE
    return labels


def _assignment(overlaps, valid, config, pos_thresh, neg_thresh, best_match_min_iou):
    min_iou = check_thresholds(pos_thresh, neg_thresh, best_match_min_iou)
    labels = label_candidates(overlaps, valid, pos_thresh, neg_thresh, min_iou, config.precedence)
    return Assignment(labels, overlaps.matches, overlaps.max_iou, overlaps.near_hard)


def assign_boxes(candidates, gt_boxes, hard, config, pos_thresh, neg_thresh,
                 best_match_min_iou=None, valid=None):
    """Label ``candidates (N, 4)`` against ``gt_boxes (M, 4)`` with flags ``hard (M,)``.

    Returns an :class:`Assignment`. ``valid (N,) bool`` marks candidates that may be sampled.
    ``N`` or ``M`` may be 0. Wrong shapes raise ``InputError`` naming the parameter.
    """
    candidates = as_boxes(candidates, 'candidates')
    gt_boxes = as_boxes(gt_boxes, 'gt_boxes')
    if len(candidates) * len(gt_boxes) <= _DENSE_PAIRS:
        overlaps = overlaps_from_ious(pairwise_iou(candidates, gt_boxes), hard, config,
                                      candidates, gt_boxes)
    else:
        overlaps = overlaps_from_boxes(candidates, gt_boxes, hard, config)
    return _assignment(overlaps, valid, config, pos_thresh, neg_thresh, best_match_min_iou)


def assign_ious(ious, hard, config, pos_thresh, neg_thresh, best_match_min_iou=None, valid=None,
                candidates=None, gt_boxes=None):
    """Label candidates from an ``(N, M)`` IoU matrix (GluonCV's sampler input).

    Rows containing a negative IoU (GluonCV writes -1 for anchors outside the image) are invalid,
    in addition to those excluded by ``valid``. See :func:`overlaps_from_ious` for the rest.
    """
    ious = as_matrix(ious, 'ious')
    if ious.shape[1]:
        row_valid = ious.min(axis=1) >= 0
        valid = row_valid if valid is None else (
            row_valid & as_flags(valid, len(ious), 'valid', what='candidates'))
    overlaps = overlaps_from_ious(ious, hard, config, candidates, gt_boxes)
    return _assignment(overlaps, valid, config, pos_thresh, neg_thresh, best_match_min_iou)
