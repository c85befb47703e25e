"""Hard-aware matching of candidate boxes (anchors or proposals) to ground truth, in NumPy.

Every candidate gets one label: ``POSITIVE`` (trained as object), ``NEGATIVE`` (trained as
background) or ``IGNORE`` (left out of the loss), and the index of the GT box it regresses to.

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

The default is ``normal_wins`` because hard regions (a COCO crowd, a blurred group) often contain or
touch clearly labelled boxes, and with ``ignore_wins`` those boxes lose their positives, sometimes
all of them. A labeller who marks one box hard has said nothing against its neighbours.

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
hard boxes) every valid candidate is NEGATIVE before step 3. ``matches`` is -1 for candidates that
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

from gluoncv_hard.core.overlaps import pairwise_cover, pairwise_iof, pairwise_iou

__all__ = ['POSITIVE', 'NEGATIVE', 'IGNORE', 'HARD_POLICIES', 'HARD_OVERLAPS',
           'HARD_PRECEDENCES', 'HardConfig', 'check_thresholds', 'Assignment', 'CandidateOverlaps',
           'overlaps_from_ious', 'overlaps_from_boxes', 'near_hard_mask', 'label_candidates',
           'assign_ious', 'assign_boxes']

# GluonCV's sampler convention (1 pos, -1 neg, 0 ignore); defined here once.
POSITIVE = 1
NEGATIVE = -1
IGNORE = 0

HARD_POLICIES = ('ignore', 'positive', 'drop')
HARD_OVERLAPS = ('iof', 'iou', 'iou_or_iof')
HARD_PRECEDENCES = ('normal_wins', 'ignore_wins')

# Ties for "best candidate per GT" are detected as GluonCV does.
_EPS = np.spacing(np.float32(1.0))
# Rows of candidates processed together: keeps the (rows, M) temporaries cache-sized, and lets
# GT boxes that cannot touch a spatially compact chunk be skipped.
_CHUNK = 2048
# Below this many candidate/GT pairs one dense IoU matrix is cheaper than chunking (RCNN stage).
_DENSE_PAIRS = 1 << 15


def _check_choice(name, value, allowed):
    if value not in allowed:
        raise ValueError('{}={!r} is not valid; choose one of: {}'.format(
            name, value, ', '.join(allowed)))


def _check_fraction(name, value, low_open=True):
    ok = isinstance(value, (int, float, np.floating)) and not isinstance(value, bool)
    if not ok or not ((0 < value if low_open else 0 <= value) and value <= 1):
        raise ValueError('{}={!r} must be a number in {}0, 1]'.format(
            name, value, '(' if low_open else '['))


@dataclass(frozen=True)
class HardConfig:
    """How hard boxes are treated; shared by the RPN and the RCNN stages.

    Parameters
    ----------
    policy : {'ignore', 'positive', 'drop'}
    overlap : {'iof', 'iou', 'iou_or_iof'}
        Measure of a candidate's overlap with a hard box (``ignore`` only).
    thresh : float in (0, 1]
        A candidate is near a hard box when the overlap *exceeds* this value.
    precedence : {'normal_wins', 'ignore_wins'}
    cover_thresh : float in (0, 1]
        Second threshold of ``iou_or_iof`` (dlib's "percent covered", 0.95 there).
    """
    policy: str = 'ignore'
    overlap: str = 'iof'
    thresh: float = 0.5
    precedence: str = 'normal_wins'
    cover_thresh: float = 0.95

    def __post_init__(self):
        _check_choice('hard_policy', self.policy, HARD_POLICIES)
        _check_choice('hard_overlap', self.overlap, HARD_OVERLAPS)
        _check_choice('hard_precedence', self.precedence, HARD_PRECEDENCES)
        _check_fraction('hard_thresh', self.thresh)
        _check_fraction('hard_cover_thresh', self.cover_thresh)

    def normal_columns(self, hard):
        """``(M,)`` bool: the GT boxes that take part in matching."""
        hard = np.asarray(hard, dtype=bool)
        return np.ones_like(hard) if self.policy == 'positive' else ~hard

    @property
    def neutralizes(self):
        """True when candidates near hard boxes are set to IGNORE."""
        return self.policy == 'ignore'


def check_thresholds(pos_thresh, neg_thresh, best_match_min_iou=None):
    """Validate matching thresholds: ``0 <= neg <= pos <= 1``; returns ``best_match_min_iou``."""
    _check_fraction('pos_iou_thresh', pos_thresh)
    _check_fraction('neg_iou_thresh', neg_thresh, low_open=False)
    if neg_thresh > pos_thresh:
        raise ValueError('neg_iou_thresh={} must not exceed pos_iou_thresh={}'.format(
            neg_thresh, pos_thresh))
    if best_match_min_iou is None:
        return neg_thresh
    _check_fraction('best_match_min_iou', best_match_min_iou)
    return best_match_min_iou


@dataclass
class CandidateOverlaps:
    """What the labelling rule needs to know about each of ``N`` candidates.

    Attributes
    ----------
    max_iou : (N,) float32
        Best IoU with a normal GT box; 0 when there is none.
    matches : (N,) int64
        Index (into the full GT list) of that box; -1 when there is no normal box.
    best_for_gt : (N,) bool
        The candidate ties for the best IoU of some normal box (whose best IoU is > 0).
    near_hard : (N,) bool
        The overlap with some hard box exceeds the threshold (all False unless ``ignore``).
    """
    max_iou: np.ndarray
    matches: np.ndarray
    best_for_gt: np.ndarray
    near_hard: np.ndarray


@dataclass
class Assignment:
    """Result of matching ``N`` candidates.

    Attributes
    ----------
    labels : (N,) int8 -- POSITIVE, NEGATIVE or IGNORE.
    matches : (N,) int64 -- GT index for each candidate, meaningful where POSITIVE; -1 = none.
    max_iou : (N,) float32 -- best IoU with a normal GT box.
    near_hard : (N,) bool -- candidates neutralized (or protected by ``normal_wins``) by hard boxes.
    """
    labels: np.ndarray
    matches: np.ndarray
    max_iou: np.ndarray
    near_hard: np.ndarray


def near_hard_mask(candidates, hard_boxes, config):
    """Candidates whose overlap with any hard box exceeds ``config.thresh``.

    Parameters
    ----------
    candidates : (N, 4) float array
    hard_boxes : (K, 4) float array
    config : HardConfig

    Returns
    -------
    (N,) bool
    """
    candidates = np.asarray(candidates, dtype=np.float32)
    hard_boxes = np.asarray(hard_boxes, dtype=np.float32).reshape(-1, 4)
    near = np.zeros(len(candidates), dtype=bool)
    for start, chunk, cols in _chunks_touching(candidates, hard_boxes):
        boxes = hard_boxes[cols]
        if config.overlap == 'iof':
            hit = pairwise_iof(chunk, boxes) > config.thresh
        elif config.overlap == 'iou':
            hit = pairwise_iou(chunk, boxes) > config.thresh
        else:
            hit = ((pairwise_iou(chunk, boxes) > config.thresh)
                   | (pairwise_cover(chunk, boxes) > config.cover_thresh))
        near[start:start + len(chunk)] = hit.any(axis=1)
    return near


def _chunks_touching(candidates, boxes):
    """Yield ``(start, chunk, cols)``: row chunks of ``candidates`` with the indices of ``boxes``
    that intersect the chunk's bounding box (every positive overlap is inside such a pair)."""
    if len(boxes) == 0:
        return
    for start in range(0, len(candidates), _CHUNK):
        chunk = candidates[start:start + _CHUNK]
        x1, y1 = chunk[:, 0].min(), chunk[:, 1].min()
        x2, y2 = chunk[:, 2].max(), chunk[:, 3].max()
        cols = np.flatnonzero((boxes[:, 0] < x2) & (boxes[:, 2] > x1)
                              & (boxes[:, 1] < y2) & (boxes[:, 3] > y1))
        if cols.size:
            yield start, chunk, cols


def overlaps_from_boxes(candidates, gt_boxes, hard, config):
    """Compute :class:`CandidateOverlaps` from boxes (the fast path for many anchors).

    Only candidate/GT pairs that can intersect are evaluated, in cache-sized chunks, so the cost
    follows the number of overlapping pairs rather than ``N * M``.

    Parameters
    ----------
    candidates : (N, 4) float array
    gt_boxes : (M, 4) float array
    hard : (M,) bool
    config : HardConfig
    """
    candidates = np.asarray(candidates, dtype=np.float32).reshape(-1, 4)
    gt_boxes = np.asarray(gt_boxes, dtype=np.float32).reshape(-1, 4)
    hard = np.asarray(hard, dtype=bool).reshape(-1)
    normal_idx = np.flatnonzero(config.normal_columns(hard))
    normal = gt_boxes[normal_idx]
    n = len(candidates)
    max_iou = np.zeros(n, dtype=np.float32)
    local_match = np.zeros(n, dtype=np.int64)
    best_per_gt = np.zeros(len(normal), dtype=np.float32)
    for start, chunk, cols in _chunks_touching(candidates, normal):
        iou = pairwise_iou(chunk, normal[cols])
        arg = iou.argmax(axis=1)
        stop = start + len(chunk)
        max_iou[start:stop] = iou[np.arange(len(chunk)), arg]
        local_match[start:stop] = cols[arg]
        np.maximum.at(best_per_gt, cols, iou.max(axis=0))

    best_for_gt = np.zeros(n, dtype=bool)
    has_best = best_per_gt > 0
    if has_best.any():
        # A candidate tying for some box's best IoU has max_iou >= that best IoU - eps, so only
        # rows above the smallest best IoU need a second look.
        rows = np.flatnonzero(max_iou + _EPS > best_per_gt[has_best].min())
        iou = pairwise_iou(candidates[rows], normal)
        best_for_gt[rows] = ((iou + _EPS > best_per_gt) & has_best).any(axis=1)

    matches = normal_idx[local_match] if len(normal) else np.full(n, -1, dtype=np.int64)
    near_hard = (near_hard_mask(candidates, gt_boxes[hard], config) if config.neutralizes
                 else np.zeros(n, dtype=bool))
    return CandidateOverlaps(max_iou, matches.astype(np.int64), best_for_gt, near_hard)


def overlaps_from_ious(ious, hard, config, candidates=None, gt_boxes=None):
    """Compute :class:`CandidateOverlaps` from a precomputed IoU matrix.

    Parameters
    ----------
    ious : (N, M) float array
        IoU of every candidate with every GT box. Rows of invalid candidates may hold -1.
    hard : (M,) bool
    config : HardConfig
    candidates, gt_boxes : (N, 4) and (M, 4) float arrays, optional
        Needed under ``ignore`` when ``config.overlap`` is not ``'iou'``.
    """
    ious = np.asarray(ious, dtype=np.float32)
    n, m = ious.shape
    hard = np.asarray(hard, dtype=bool).reshape(m)
    normal_idx = np.flatnonzero(config.normal_columns(hard))
    normal = ious[:, normal_idx]
    if normal_idx.size:
        local = normal.argmax(axis=1)
        max_iou = np.maximum(normal[np.arange(n), local], 0)
        matches = normal_idx[local]
        best_per_gt = normal.max(axis=0)
        best_for_gt = ((normal + _EPS > best_per_gt) & (best_per_gt > 0)).any(axis=1)
    else:
        max_iou = np.zeros(n, dtype=np.float32)
        matches = np.full(n, -1, dtype=np.int64)
        best_for_gt = np.zeros(n, dtype=bool)

    near_hard = np.zeros(n, dtype=bool)
    if config.neutralizes and hard.any():
        if candidates is not None and gt_boxes is not None:
            near_hard = near_hard_mask(candidates, np.asarray(gt_boxes)[hard], config)
        elif config.overlap == 'iou':
            near_hard = (ious[:, hard] > config.thresh).any(axis=1)
        else:
            raise ValueError(
                "hard_overlap={!r} is measured on boxes, not IoUs: pass candidates= and "
                "gt_boxes=, or use hard_overlap='iou'".format(config.overlap))
    return CandidateOverlaps(max_iou.astype(np.float32), matches.astype(np.int64),
                             best_for_gt, near_hard)


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
        labels[~np.asarray(valid, dtype=bool)] = IGNORE
    return labels


def _assignment(overlaps, valid, config, pos_thresh, neg_thresh, best_match_min_iou):
    min_iou = check_thresholds(pos_thresh, neg_thresh, best_match_min_iou)
    labels = label_candidates(overlaps, valid, pos_thresh, neg_thresh, min_iou, config.precedence)
    return Assignment(labels, overlaps.matches, overlaps.max_iou, overlaps.near_hard)


def assign_boxes(candidates, gt_boxes, hard, config, pos_thresh, neg_thresh,
                 best_match_min_iou=None, valid=None):
    """Label ``candidates (N, 4)`` against ``gt_boxes (M, 4)`` with flags ``hard (M,)``.

    Returns an :class:`Assignment`. ``valid (N,) bool`` marks candidates that may be sampled.
    """
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
    ious = np.asarray(ious, dtype=np.float32)
    if ious.shape[1]:
        row_valid = ious.min(axis=1) >= 0
        valid = row_valid if valid is None else (row_valid & np.asarray(valid, dtype=bool))
    overlaps = overlaps_from_ious(ious, hard, config, candidates, gt_boxes)
    return _assignment(overlaps, valid, config, pos_thresh, neg_thresh, best_match_min_iou)
