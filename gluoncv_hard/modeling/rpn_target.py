"""Hard-aware drop-in replacements for GluonCV's RPN target sampler and generator.

Both subclass the GluonCV classes (``gluoncv.model_zoo.rcnn.rpn.rpn_target``) and keep their
constructor arguments and outputs; the matching itself is :mod:`gluoncv_hard.core.matching`.
"""
import mxnet as mx
import numpy as np
from gluoncv.model_zoo.rcnn.rpn import rpn_target as gluoncv_rpn_target

from gluoncv_hard import schema
from gluoncv_hard.core.box_coding import encode_center_targets
from gluoncv_hard.core.codes import NEGATIVE, POSITIVE, RPN_TARGET_IGNORE, rpn_targets
from gluoncv_hard.core.config import check_count, check_fraction, check_thresholds, pop_hard_config
from gluoncv_hard.core.inputs import as_boxes, as_flags, as_matrix
from gluoncv_hard.core.matching import assign_boxes, assign_ious
from gluoncv_hard.core.sampling import sample_indices
from gluoncv_hard.errors import InputError

__all__ = ['RPNTargetSampler', 'RPNTargetGenerator', 'as_numpy']


def as_numpy(x, dtype=np.float32):
    """An NDArray or array-like as a NumPy array."""
    if isinstance(x, mx.nd.NDArray):
        x = x.asnumpy()
    return np.asarray(x, dtype=dtype)


def _hard_flags(hard, num_gt):
    """``(num_gt,)`` bool from 0/1 flags (any shape with ``num_gt`` elements) or None."""
    if hard is None:
        return np.zeros(num_gt, dtype=bool)
    return schema.is_hard(as_flags(as_numpy(hard), num_gt, 'hard', dtype=np.float32))


def _own_generator(rng):
    # An int seeds one generator for the sampler's lifetime; seeding on every call would draw the
    # same anchors for every image of the same size. None keeps following np.random.seed, and a
    # Generator or RandomState is the caller's to share.
    if rng is None or isinstance(rng, (np.random.Generator, np.random.RandomState)):
        return rng
    return np.random.default_rng(rng)


class RPNTargetSampler(gluoncv_rpn_target.RPNTargetSampler):
    """Choose positive/negative RPN anchors, treating hard GT boxes by ``hard_config``.

    Parameters
    ----------
    num_sample, pos_iou_thresh, neg_iou_thresh, pos_ratio
        As in GluonCV: at most ``round(num_sample * pos_ratio)`` positives, negatives fill up to
        ``num_sample``; IoU >= ``pos_iou_thresh`` is positive, IoU < ``neg_iou_thresh`` negative.
        Checked here: ``num_sample >= 1``, ``pos_ratio`` in (0, 1],
        ``0 <= neg_iou_thresh <= pos_iou_thresh <= 1`` (``InputError`` naming the parameter).
    hard_config : gluoncv_hard.HardConfig, optional
        How hard boxes are treated; default ``HardConfig()``. Instead of it the five keyword
        arguments ``hard_policy``, ``hard_overlap``, ``hard_thresh``, ``hard_precedence``,
        ``hard_cover_thresh`` are accepted (see :func:`gluoncv_hard.core.config.pop_hard_config`).
    best_match_min_iou : float, optional
        Minimum IoU for the "best anchor of a GT box is positive" rule; default
        ``neg_iou_thresh`` (stock GluonCV). See :mod:`gluoncv_hard.core.matching`.
    rng : None, int, numpy Generator or RandomState
        Source of randomness for subsampling. ``None`` draws from NumPy's global state on every
        call (so ``np.random.seed`` repeats a run); an int seeds this sampler's own generator
        once, so two samplers built with the same int draw the same sequence.
    keep_all_negatives : bool, default False
        Label every valid negative anchor instead of sampling ``num_sample - positives`` of
        them: for losses that weigh negatives themselves (online hard negative mining, focal
        loss, :mod:`gluoncv_hard.modeling.losses`). Positives are still capped.

    With ``hard=None`` or all zeros the labels are stock GluonCV's.
    """

    def __init__(self, num_sample, pos_iou_thresh, neg_iou_thresh, pos_ratio, *,
                 hard_config=None, best_match_min_iou=None, rng=None, keep_all_negatives=False,
                 **hard_options):
        self.hard_config = pop_hard_config(hard_options, hard_config)
        if hard_options:
            raise TypeError('RPNTargetSampler got unexpected keyword arguments {}'.format(
                ', '.join(sorted(hard_options))))
        check_count('num_sample', num_sample)
        check_fraction('pos_ratio', pos_ratio)
        check_thresholds(pos_iou_thresh, neg_iou_thresh, best_match_min_iou)
        super().__init__(num_sample, pos_iou_thresh, neg_iou_thresh, pos_ratio)
        self._best_match_min_iou = best_match_min_iou
        self._rng = _own_generator(rng)
        self._keep_all_negatives = keep_all_negatives

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
        samples : (N,) float32, POSITIVE (1), NEGATIVE (-1) or IGNORE (0)
        matches : (N,) int64, index of the matched GT box (-1 if there is no box to match)
        """
        ious = as_matrix(as_numpy(ious), 'ious')
        assignment = assign_ious(ious, _hard_flags(hard, ious.shape[1]), self.hard_config,
                                 valid=valid, candidates=candidates, gt_boxes=gt_boxes,
                                 **self._thresholds())
        return self._samples(assignment)

    def assign(self, candidates, gt_boxes, hard=None, valid=None):
        """The labels before subsampling, as an :class:`gluoncv_hard.core.matching.Assignment`
        of ``candidates (N, 4)`` to ``gt_boxes (M, 4)`` under this sampler's settings."""
        gt_boxes = as_boxes(as_numpy(gt_boxes), 'gt_boxes')
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
    ``pos_ratio``, ``stds``, ``allowed_border``) plus the keyword options of
    :class:`RPNTargetSampler` (``hard_config`` or the five hard keyword arguments,
    ``best_match_min_iou``, ``rng``, ``keep_all_negatives``). ``allowed_border`` is honoured
    (stock stores it but always uses 0).
    """

    def __init__(self, num_sample=256, pos_iou_thresh=0.7, neg_iou_thresh=0.3, pos_ratio=0.5,
                 stds=(1., 1., 1., 1.), allowed_border=0, **sampler_options):
        # Built first so that bad options are reported before GluonCV's sampler sees them.
        sampler = RPNTargetSampler(num_sample, pos_iou_thresh, neg_iou_thresh, pos_ratio,
                                   **sampler_options)
        super().__init__(num_sample=num_sample, pos_iou_thresh=pos_iou_thresh,
                         neg_iou_thresh=neg_iou_thresh, pos_ratio=pos_ratio, stds=stds,
                         allowed_border=allowed_border)
        self._sampler = sampler
        self._stds = tuple(stds)

    @property
    def sampler(self):
        return self._sampler

    @property
    def hard_config(self):
        """The :class:`gluoncv_hard.HardConfig` of this generator's sampler."""
        return self._sampler.hard_config

    def valid_anchors(self, anchors, width, height):
        """``(N,) bool``: the anchors ``(N, 4)`` that take part in sampling, those inside the
        ``width x height`` input give or take ``allowed_border`` pixels; the others are ignored."""
        border = self._allowed_border
        return ((anchors[:, 0] >= -border) & (anchors[:, 1] >= -border)
                & (anchors[:, 2] < width + border) & (anchors[:, 3] < height + border))

    def __call__(self, bbox, anchor, width, height, hard=None):
        # gluon's Block.__call__ takes positional arguments only; allow ``hard=`` by name.
        return super().__call__(bbox, anchor, width, height, hard)

    def forward(self, bbox, anchor, width, height, hard=None):
        """Targets for one image.

        Parameters
        ----------
        bbox : (M, 4) GT boxes (NDArray or NumPy), corner encoded; M may be 0 (NumPy).
        anchor : (N, 4) anchors (NDArray or NumPy, any shape ending in groups of 4), corner
            encoded.
        width, height : int, size of the network input image.
        hard : (M,) 0/1 flags or None.

        Returns
        -------
        cls_target : (N,) float32, RPN_TARGET_POSITIVE (1), RPN_TARGET_NEGATIVE (0) or
            RPN_TARGET_IGNORE (-1); all ignored when no anchor lies inside the image
        box_target : (N, 4) float32, nonzero only for positives
        box_mask : (N, 4) float32, 1 for positives
        """
        anchors = as_numpy(anchor)
        if anchors.size % 4:
            raise InputError('anchor must hold (N, 4) corner boxes; got shape {}'.format(
                anchors.shape), param='anchor')
        anchors = anchors.reshape(-1, 4)
        gt_boxes = as_boxes(as_numpy(bbox), 'bbox')
        valid_idx = np.flatnonzero(self.valid_anchors(anchors, width, height))
        samples, matches = self._sampler.sample_boxes(anchors[valid_idx], gt_boxes, hard)

        # Anchors crossing the border are never sampled: they keep the ignore target.
        cls_target = np.full(len(anchors), RPN_TARGET_IGNORE, dtype=np.float32)
        cls_target[valid_idx] = rpn_targets(samples)
        pos_local = np.flatnonzero(samples == POSITIVE)
        pos = valid_idx[pos_local]
        box_target = np.zeros((len(anchors), 4), dtype=np.float32)
        box_mask = np.zeros((len(anchors), 4), dtype=np.float32)
        box_target[pos] = encode_center_targets(anchors[pos], gt_boxes[matches[pos_local]],
                                                self._stds)
        box_mask[pos] = 1
        return cls_target, box_target, box_mask
