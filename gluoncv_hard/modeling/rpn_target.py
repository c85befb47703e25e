"""Hard-aware drop-in replacements for GluonCV's RPN target sampler and generator.

Both subclass the GluonCV classes (``gluoncv.model_zoo.rcnn.rpn.rpn_target``) and keep their
constructor arguments and outputs; the matching itself is :mod:`gluoncv_hard.matching`.
"""
import mxnet as mx
import numpy as np
from gluoncv.model_zoo.rcnn.rpn import rpn_target as gluoncv_rpn_target

from gluoncv_hard.core.box_coding import encode_center_targets
from gluoncv_hard.core.matching import (
    NEGATIVE,
    POSITIVE,
    HardConfig,
    assign_boxes,
    assign_ious,
    check_thresholds,
)
from gluoncv_hard.core.sampling import sample_indices

__all__ = ['RPNTargetSampler', 'RPNTargetGenerator', 'as_numpy']


def as_numpy(x, dtype=np.float32):
    """An NDArray or array-like as a NumPy array."""
    if isinstance(x, mx.nd.NDArray):
        x = x.asnumpy()
    return np.asarray(x, dtype=dtype)


def _hard_flags(hard, num_gt):
    if hard is None:
        return np.zeros(num_gt, dtype=bool)
    hard = as_numpy(hard).reshape(-1)
    if hard.shape != (num_gt,):
        raise ValueError('hard has {} flags for {} GT boxes'.format(hard.size, num_gt))
    return hard > 0.5


class RPNTargetSampler(gluoncv_rpn_target.RPNTargetSampler):
    """Choose positive/negative RPN anchors, treating hard GT boxes by ``hard_policy``.

    Parameters
    ----------
    num_sample, pos_iou_thresh, neg_iou_thresh, pos_ratio
        As in GluonCV: at most ``round(num_sample * pos_ratio)`` positives, negatives fill up to
        ``num_sample``; IoU >= ``pos_iou_thresh`` is positive, IoU < ``neg_iou_thresh`` negative.
    hard_policy : {'ignore', 'positive', 'drop'}, default 'ignore'
    hard_overlap : {'iof', 'iou', 'iou_or_iof'}, default 'iof'
    hard_thresh : float, default 0.5
    hard_precedence : {'normal_wins', 'ignore_wins'}, default 'normal_wins'
    hard_cover_thresh : float, default 0.95
        See :class:`gluoncv_hard.matching.HardConfig` for these five.
    best_match_min_iou : float, optional
        Minimum IoU for the "best anchor of a GT box is positive" rule; default
        ``neg_iou_thresh`` (stock GluonCV). See :mod:`gluoncv_hard.matching`.
    rng : None, int, numpy Generator or RandomState
        Source of randomness for subsampling; ``None`` follows ``np.random.seed``.
    keep_all_negatives : bool, default False
        Label every valid negative anchor instead of sampling ``num_sample - positives`` of
        them: for losses that weigh negatives themselves (online hard negative mining, focal
        loss, :mod:`gluoncv_hard.training`). Positives are still capped.

    With ``hard=None`` or all zeros the labels are stock GluonCV's.
    """

    def __init__(self, num_sample, pos_iou_thresh, neg_iou_thresh, pos_ratio,
                 hard_policy='ignore', hard_overlap='iof', hard_thresh=0.5,
                 hard_precedence='normal_wins', hard_cover_thresh=0.95, best_match_min_iou=None,
                 rng=None, keep_all_negatives=False):
        super().__init__(num_sample, pos_iou_thresh, neg_iou_thresh, pos_ratio)
        self.hard_config = HardConfig(hard_policy, hard_overlap, hard_thresh, hard_precedence,
                                      hard_cover_thresh)
        self._best_match_min_iou = best_match_min_iou
        self._rng = rng
        self._keep_all_negatives = keep_all_negatives
        check_thresholds(pos_iou_thresh, neg_iou_thresh, best_match_min_iou)

    def _thresholds(self):
        return dict(pos_thresh=self._pos_iou_thresh, neg_thresh=self._neg_iou_thresh,
                    best_match_min_iou=self._best_match_min_iou)

    def _samples(self, assignment):
        num_sample = (self._max_pos + len(assignment.labels) if self._keep_all_negatives
                      else self._num_sample)
        pos, neg = sample_indices(assignment.labels, num_sample, self._max_pos, self._rng)
        samples = np.zeros(len(assignment.labels), dtype=np.float32)
        samples[pos] = POSITIVE
        samples[neg] = NEGATIVE
        return samples, assignment.matches

    def __call__(self, ious, hard=None, candidates=None, gt_boxes=None, valid=None):
        """Sample from an IoU matrix, as GluonCV's sampler does.

        Parameters
        ----------
        ious : (N, M) float array
            Anchor/GT IoUs, -1 in the rows of invalid anchors.
        hard : (M,) 0/1 array or None
        candidates, gt_boxes : (N, 4), (M, 4) float arrays, optional
            Needed for ``hard_overlap`` other than ``'iou'`` when some box is hard.
        valid : (N,) bool, optional
            Needed to mark invalid anchors when ``M == 0`` (an empty matrix has no -1 rows).

        Returns
        -------
        samples : (N,) float32, 1 positive, -1 negative, 0 ignore
        matches : (N,) int64, index of the matched GT box (-1 if there is no box to match)
        """
        ious = as_numpy(ious)
        assignment = assign_ious(ious, _hard_flags(hard, ious.shape[1]), self.hard_config,
                                 valid=valid, candidates=candidates, gt_boxes=gt_boxes,
                                 **self._thresholds())
        return self._samples(assignment)

    def assign(self, candidates, gt_boxes, hard=None, valid=None):
        """The labels before subsampling, as an :class:`gluoncv_hard.core.matching.Assignment`
        of ``candidates (N, 4)`` to ``gt_boxes (M, 4)`` under this sampler's settings."""
        gt_boxes = as_numpy(gt_boxes).reshape(-1, 4)
        return assign_boxes(candidates, gt_boxes, _hard_flags(hard, len(gt_boxes)),
                            self.hard_config, valid=valid, **self._thresholds())

    def sample_boxes(self, candidates, gt_boxes, hard=None, valid=None):
        """Same as ``__call__`` but from boxes: ``candidates (N, 4)``, ``gt_boxes (M, 4)``.

        This is the fast path: only overlapping pairs are evaluated.
        """
        return self._samples(self.assign(candidates, gt_boxes, hard, valid))


class RPNTargetGenerator(gluoncv_rpn_target.RPNTargetGenerator):
    """RPN training targets with hard GT support; same outputs as GluonCV's generator.

    Parameters are GluonCV's (``num_sample``, ``pos_iou_thresh``, ``neg_iou_thresh``,
    ``pos_ratio``, ``stds``, ``allowed_border``) plus the options of :class:`RPNTargetSampler`
    (hard options, ``best_match_min_iou``, ``rng``, ``keep_all_negatives``). ``allowed_border`` is honoured (stock stores it but always uses 0).
    """

    def __init__(self, num_sample=256, pos_iou_thresh=0.7, neg_iou_thresh=0.3, pos_ratio=0.5,
                 stds=(1., 1., 1., 1.), allowed_border=0, **sampler_options):
        super().__init__(num_sample=num_sample, pos_iou_thresh=pos_iou_thresh,
                         neg_iou_thresh=neg_iou_thresh, pos_ratio=pos_ratio, stds=stds,
                         allowed_border=allowed_border)
        self._sampler = RPNTargetSampler(num_sample, pos_iou_thresh, neg_iou_thresh, pos_ratio,
                                         **sampler_options)
        self._stds = tuple(stds)

    @property
    def sampler(self):
        return self._sampler

    def valid_anchors(self, anchors, width, height):
        """``(N,) bool``: the anchors ``(N, 4)`` that take part in sampling, those inside the
        ``width x height`` input give or take ``allowed_border`` pixels; the others are ignored."""
        border = self._allowed_border
        return ((anchors[:, 0] >= -border) & (anchors[:, 1] >= -border)
                & (anchors[:, 2] < width + border) & (anchors[:, 3] < height + border))

    def __call__(self, bbox, anchor, width, height, hard=None):
        # gluon's Block.__call__ takes positional arguments only; allow ``hard=`` by name.
        return super().__call__(bbox, anchor, width, height, hard)

    # pylint: disable=arguments-differ
    def forward(self, bbox, anchor, width, height, hard=None):
        """Targets for one image.

        Parameters
        ----------
        bbox : (M, 4) GT boxes (NDArray or NumPy), corner encoded; M may be 0 (NumPy).
        anchor : (N, 4) anchors (NDArray or NumPy), corner encoded.
        width, height : int, size of the network input image.
        hard : (M,) 0/1 flags or None.

        Returns
        -------
        cls_target : (N,) float32, 1 positive, 0 negative, -1 ignore
        box_target : (N, 4) float32, nonzero only for positives
        box_mask : (N, 4) float32, 1 for positives
        """
        anchors = as_numpy(anchor).reshape(-1, 4)
        gt_boxes = as_numpy(bbox).reshape(-1, 4)
        valid_idx = np.flatnonzero(self.valid_anchors(anchors, width, height))
        samples, matches = self._sampler.sample_boxes(anchors[valid_idx], gt_boxes, hard)

        # GluonCV's RPN loss wants 1 / 0 / -1 (pos / neg / ignore); this is the one place the
        # sampler convention is converted.
        cls_target = np.full(len(anchors), -1, dtype=np.float32)
        cls_target[valid_idx[samples == NEGATIVE]] = 0
        pos_local = np.flatnonzero(samples == POSITIVE)
        pos = valid_idx[pos_local]
        cls_target[pos] = 1
        box_target = np.zeros((len(anchors), 4), dtype=np.float32)
        box_mask = np.zeros((len(anchors), 4), dtype=np.float32)
        box_target[pos] = encode_center_targets(anchors[pos], gt_boxes[matches[pos_local]],
                                                self._stds)
        box_mask[pos] = 1
        return cls_target, box_target, box_mask
