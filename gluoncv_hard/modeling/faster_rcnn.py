"""Faster R-CNN whose training forward takes the hard flags.

``HardFasterRCNN`` *is* GluonCV's ``FasterRCNN`` (a subclass with the same children and parameter
names, so checkpoints load both ways) with two blocks swapped for the second stage:

- ``sampler``: :class:`gluoncv_hard.RCNNTargetSampler` (hard-aware RoI sampling);
- the RCNN target generator: GluonCV's, fed the 4 box columns.

Both blocks see one ``(B, M, schema.GT_BOX_WIDTH)`` tensor: the boxes, then the hard flag.

Training forward: ``net(x, gt_box, gt_label, gt_hard)`` with ``gt_box (B, M, 4)``,
``gt_label (B, M, 1)``, ``gt_hard (B, M, 1)`` (omit ``gt_hard`` for "nothing is hard"); it returns
GluonCV's training outputs. Inference forward ``net(x)`` is GluonCV's, except that FPN networks
pool RoI features correctly on CPU too (``_pyramid_roi_feats``: MXNet's CPU ``ROIAlign``
mishandles the RoIs stock masks to -1).

GluonCV's own training step calls ``net(data, gt_box, gt_label)``: the hard flags never reach the
RCNN stage, and RoIs on hard boxes train as foreground. A network whose policy is not
``positive`` therefore warns (:class:`MissingHardFlagsWarning`, once per network) when it trains
without ``gt_hard``.
"""
import sys
import warnings

from gluoncv.model_zoo.rcnn.faster_rcnn.faster_rcnn import FasterRCNN
from gluoncv.model_zoo.rcnn.faster_rcnn.rcnn_target import RCNNTargetGenerator
from mxnet import autograd

from gluoncv_hard import schema
from gluoncv_hard.core.config import HARD_OPTIONS, pop_hard_config
from gluoncv_hard.modeling.proposal import make_proposals_finite
from gluoncv_hard.modeling.rcnn_target import RCNNTargetSampler

# HARD_OPTIONS is defined in gluoncv_hard.core.config; still importable from here.
__all__ = ['HardFasterRCNN', 'HARD_OPTIONS', 'label_parts', 'MissingHardFlagsWarning']


class MissingHardFlagsWarning(UserWarning):
    """A :class:`HardFasterRCNN` whose hard policy is not ``positive`` trains without
    ``gt_hard``: its RCNN stage treats every hard box as an ordinary box."""


_MISSING_HARD_MESSAGE = (
    "HardFasterRCNN (hard_policy={policy!r}) is training without gt_hard, as GluonCV's "
    "ForwardBackwardTask calls it (net(data, gt_box, gt_label)): the RCNN stage treats every "
    "hard box as an ordinary box, so RoIs on hard boxes become foreground. Pass the flags: "
    "gt_box, gt_label, gt_hard = gluoncv_hard.modeling.faster_rcnn.label_parts(label); "
    "net(data, gt_box, gt_label, gt_hard), or use gluoncv_hard.engine.step.ForwardBackwardTask "
    "(it also takes the arguments of GluonCV's). If no box is hard, pass gt_hard=zeros to "
    "silence this. (Warned once per network.)")


class _BoxColumnsTargetGenerator(RCNNTargetGenerator):
    """GluonCV's RCNN target generator, given boxes that may carry the hard flag as column 5."""

    def hybrid_forward(self, F, roi, samples, matches, gt_label, gt_box):
        return super().hybrid_forward(F, roi, samples, matches, gt_label,
                                      F.slice_axis(gt_box, axis=-1, begin=schema.BOX.start,
                                                   end=schema.BOX.stop))


class HardFasterRCNN(FasterRCNN):
    """GluonCV ``FasterRCNN`` with hard-aware second-stage sampling.

    Takes ``FasterRCNN``'s arguments plus ``hard_config`` (a :class:`gluoncv_hard.HardConfig`,
    default ``HardConfig()``) or, instead, the five keyword arguments ``hard_policy``,
    ``hard_overlap``, ``hard_thresh``, ``hard_precedence`` and ``hard_cover_thresh``. To upgrade
    a network built by GluonCV, use :meth:`from_gluoncv` or :func:`get_model`.
    """

    def __init__(self, *args, hard_config=None, **kwargs):
        hard_config = pop_hard_config(kwargs, hard_config)
        super().__init__(*args, **kwargs)
        self._install_hard_stage(hard_config)

    @classmethod
    def from_gluoncv(cls, net, hard_config=None, **hard_options):
        """Turn a GluonCV ``FasterRCNN`` into a ``HardFasterRCNN`` in place and return it.

        ``hard_config`` or the five hard keyword arguments as for the constructor. The network
        keeps its children and parameters; only the RCNN sampler and target generator are
        replaced (neither has parameters).
        """
        if not isinstance(net, FasterRCNN):
            raise TypeError('expected a GluonCV FasterRCNN, got {}'.format(type(net).__name__))
        config = pop_hard_config(hard_options, hard_config)
        if hard_options:
            raise TypeError('unknown hard options {}; valid: hard_config, {}'.format(
                sorted(hard_options), ', '.join(HARD_OPTIONS)))
        net.__class__ = cls
        net._install_hard_stage(config)
        return net

    def _install_hard_stage(self, hard_config):
        stock = self.sampler
        with self.name_scope():
            self.sampler = RCNNTargetSampler(
                num_sample=stock._num_sample, pos_iou_thresh=stock._pos_iou_thresh,
                pos_ratio=stock._max_pos / stock._num_sample, hard_config=hard_config)
        make_proposals_finite(self.rpn)  # NaN proposals would crash ROIAlign at inference
        self._set_target_generator()

    def _set_target_generator(self):
        if self._target_generator is None:  # minimal_opset: an inference-only network
            return
        max_pos, batch_size = self.sampler._max_pos, self._batch_size
        self._target_generator = lambda: _BoxColumnsTargetGenerator(self.num_class, max_pos,
                                                                    batch_size)

    def set_rcnn_samples(self, num_sample):
        """Pass ``num_sample`` RoIs per image to the RCNN head, keeping the cap on positives."""
        sampler = self.sampler.resized(num_sample)
        self._num_sample = num_sample
        with self.name_scope():
            self.sampler = sampler
        self._set_target_generator()

    @property
    def hard_config(self):
        """The :class:`gluoncv_hard.HardConfig` of the RCNN stage."""
        return self.sampler.hard_config

    def reset_class(self, classes, reuse_weights=None):
        super().reset_class(classes, reuse_weights)
        self._set_target_generator()

    def _pyramid_roi_feats(self, F, features, rpn_rois, roi_size, strides, roi_mode='align',
                           roi_canonical_scale=224.0, sampling_ratio=2, eps=1e-6):
        """GluonCV's FPN RoI pooling (each RoI pooled from the level its size picks), correct on
        CPU.

        Stock pools each level with the other levels' RoIs masked to batch index -1 (so that
        ROIAlign skips them) and sums the levels. MXNet 1.9's CPU ``ROIAlign`` leaves the rows of
        -1 RoIs unwritten (uninitialized memory, up to ~1e30) and writes zeros into the first
        row instead, so the box features were random run to run (RCNN losses of 1e25, NaN).
        Here each level's call gets a sacrificial -1 RoI in front, dropped after pooling, and
        the unwritten rows are zeroed: the same work as stock, the result of pooling every RoI
        at its own level only.
        """
        if roi_mode != 'align':
            return super()._pyramid_roi_feats(F, features, rpn_rois, roi_size, strides,
                                              roi_mode, roi_canonical_scale, sampling_ratio,
                                              eps)
        max_stage = self._max_stage - 1 if self._max_stage > 5 else self._max_stage  # no P6
        _, x1, y1, x2, y2 = F.split(rpn_rois, axis=-1, num_outputs=5)
        roi_level = F.floor(4 + F.log2(F.sqrt((x2 - x1 + 1) * (y2 - y1 + 1))
                                       / roi_canonical_scale + eps))
        roi_level = F.squeeze(F.clip(roi_level, self._min_stage, max_stage))
        skipped = F.ones_like(rpn_rois) * -1.
        pooled = []
        for i, level in enumerate(range(self._min_stage, max_stage + 1)):
            here = roi_level == level
            rois = F.concat(F.slice_axis(skipped, axis=0, begin=0, end=1),
                            F.where(here, rpn_rois, skipped), dim=0)
            feature = F.slice_axis(
                F.contrib.ROIAlign(features[i], rois, roi_size, 1. / strides[i],
                                   sample_ratio=sampling_ratio), axis=0, begin=1, end=None)
            pooled.append(F.where(here, feature, F.zeros_like(feature)))
        return F.ElementWiseSum(*pooled)

    def hybrid_forward(self, F, x, gt_box=None, gt_label=None, gt_hard=None):
        if not autograd.is_training():
            return super().hybrid_forward(F, x)
        if gt_box is None or gt_label is None:
            raise ValueError('training forward needs net(x, gt_box, gt_label[, gt_hard])')
        if gt_hard is None:  # a column of schema.NORMAL_FLAG (0)
            self._warn_missing_hard_flags()
            gt_hard = F.zeros_like(F.slice_axis(gt_box, axis=-1, begin=0, end=1))
        # GluonCV's forward hands gt_box to exactly two blocks, the sampler and the target
        # generator, both ours: one reads the flag from a fifth column, the other drops it.
        return super().hybrid_forward(F, x, F.concat(gt_box, gt_hard, dim=-1), gt_label)

    def _warn_missing_hard_flags(self):
        policy = self.hard_config.policy
        # "positive" treats hard boxes as ordinary ones anyway: nothing is lost.
        if policy == 'positive' or getattr(self, '_warned_missing_hard', False):
            return
        self._warned_missing_hard = True
        warnings.warn(_MISSING_HARD_MESSAGE.format(policy=policy), MissingHardFlagsWarning,
                      stacklevel=_caller_stacklevel())


def _caller_stacklevel():
    """The ``stacklevel`` of the first frame outside MXNet and this module: the line that called
    the network (hybridized or not), which is where the flags are missing."""
    frame, level = sys._getframe(1), 1
    while frame is not None and (frame.f_globals.get('__name__', '') == __name__
                                 or frame.f_globals.get('__name__', '').startswith('mxnet.')):
        frame, level = frame.f_back, level + 1
    return level


def label_parts(label):
    """Split a batched label ``(B, M, 6)`` into ``gt_box (B, M, 4)``, ``gt_label (B, M, 1)`` and
    ``gt_hard (B, M, 1)``, the network's training inputs."""
    return (label.slice_axis(axis=-1, begin=schema.XMIN, end=schema.YMAX + 1),
            label.slice_axis(axis=-1, begin=schema.CLASS_ID, end=schema.CLASS_ID + 1),
            label.slice_axis(axis=-1, begin=schema.HARD, end=schema.HARD + 1))
