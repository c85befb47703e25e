"""What matching needs to know about each candidate: its best IoU with a normal GT box, whether
it is a box's best candidate, and whether it lies near a hard box.

Two ways to compute it: :func:`overlaps_from_boxes` (only candidate/GT pairs that can intersect,
in cache-sized chunks: the RPN's ~10^5 anchors) and :func:`overlaps_from_ious` (from a dense IoU
matrix, GluonCV's sampler input). Both give the same :class:`CandidateOverlaps`.
"""
from dataclasses import dataclass

import numpy as np

from gluoncv_hard.core.inputs import as_boxes, as_flags, as_matrix
from gluoncv_hard.core.overlaps import pairwise_cover, pairwise_iof, pairwise_iou
from gluoncv_hard.errors import InputError

__all__ = ['CandidateOverlaps', 'near_hard_mask', 'overlaps_from_boxes', 'overlaps_from_ious']

# Ties for "best candidate per GT" are detected as GluonCV does.
_EPS = np.spacing(np.float32(1.0))
# Rows of candidates processed together: keeps the (rows, M) temporaries cache-sized, and lets
# GT boxes that cannot touch a spatially compact chunk be skipped.
_CHUNK = 2048


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
    candidates = as_boxes(candidates, 'candidates')
    hard_boxes = as_boxes(hard_boxes, 'hard_boxes')
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
    candidates = as_boxes(candidates, 'candidates')
    gt_boxes = as_boxes(gt_boxes, 'gt_boxes')
    hard = as_flags(hard, len(gt_boxes), 'hard')
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
        ``N`` or ``M`` may be 0.
    hard : (M,) bool
    config : HardConfig
    candidates, gt_boxes : (N, 4) and (M, 4) float arrays, optional
        Needed under ``ignore`` when ``config.overlap`` is not ``'iou'``.
    """
    ious = as_matrix(ious, 'ious')
    n, m = ious.shape
    hard = as_flags(hard, m, 'hard')
    normal_idx = np.flatnonzero(config.normal_columns(hard))
    normal = ious[:, normal_idx]
    if normal_idx.size and n:
        local = normal.argmax(axis=1)
        max_iou = np.maximum(normal[np.arange(n), local], 0)
        matches = normal_idx[local]
        best_per_gt = normal.max(axis=0)
        best_for_gt = ((normal + _EPS > best_per_gt) & (best_per_gt > 0)).any(axis=1)
    else:  # no normal box, or no candidate (a box's best candidate does not exist)
        max_iou = np.zeros(n, dtype=np.float32)
        matches = np.full(n, -1, dtype=np.int64)
        best_for_gt = np.zeros(n, dtype=bool)

    near_hard = np.zeros(n, dtype=bool)
    if config.neutralizes and hard.any():
        if candidates is not None and gt_boxes is not None:
            gt_boxes = as_boxes(gt_boxes, 'gt_boxes')
            if len(gt_boxes) != m:
                raise InputError('gt_boxes has {} rows but ious {} columns'.format(
                    len(gt_boxes), m), param='gt_boxes')
            near_hard = near_hard_mask(candidates, gt_boxes[hard], config)
        elif config.overlap == 'iou':
            near_hard = (ious[:, hard] > config.thresh).any(axis=1)
        else:
            raise InputError(
                "hard_overlap={!r} is measured on boxes, not IoUs: pass candidates= and "
                "gt_boxes=, or use hard_overlap='iou'".format(config.overlap), param='candidates')
    if len(near_hard) != n:
        raise InputError('candidates has {} rows but ious {}'.format(len(near_hard), n),
                         param='candidates')
    return CandidateOverlaps(max_iou.astype(np.float32), matches.astype(np.int64),
                             best_for_gt, near_hard)
