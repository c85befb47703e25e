"""What the samplers train on for one image: RPN anchors and RCNN RoIs, as labelled in training.

The anchors come from the real training path: :class:`gluoncv_hard.FasterRCNNDefaultTrainTransform`
(no flip) computes the RPN targets of the image under a :class:`gluoncv_hard.HardConfig`, and its
``cls_targets`` are mapped back to the anchors with the transform's anchors in target order. So a
view holds the anchors training sees *after* random subsampling:

- positive (cls target 1) and negative (cls target 0) anchors;
- anchors ignored *because of a hard box*: anchors that the transform's own target generator
  counts as valid (:meth:`~gluoncv_hard.modeling.rpn_target.RPNTargetGenerator.valid_anchors`)
  and its sampler's matching labels IGNORE while they overlap a hard box above the threshold
  (:meth:`~gluoncv_hard.modeling.rpn_target.RPNTargetSampler.assign`). Anchors ignored for other
  reasons (IoU between the two thresholds, crossing the border, not subsampled) are only counted.

The RCNN stage needs trained weights: the network's RPN (in training mode, i.e. with the training
pre/post-NMS counts) proposes RoIs for the image and
:func:`gluoncv_hard.modeling.rcnn_target.sample_rois` samples them with the same hard config.
Foreground and background RoIs are the sampled ones; ignored RoIs are the proposals its matching
(:func:`~gluoncv_hard.modeling.rcnn_target.match_rois`) labels IGNORE near a hard box.

Coordinates: everything is **as the network sees it**, i.e. resized by the transform (e.g. short
side 320 for ``tiny``); boxes are not mapped back to the original image. That way anchor sizes
and strides appear at their true scale relative to the objects. Drawing the views is
:mod:`gluoncv_hard.vis.sampling_panels`.
"""
from dataclasses import dataclass, field

import cv2
import mxnet as mx
import numpy as np
from mxnet import autograd

from gluoncv_hard import schema
from gluoncv_hard.core.codes import (
    IGNORE,
    NEGATIVE,
    POSITIVE,
    RPN_TARGET_IGNORE,
    RPN_TARGET_NEGATIVE,
    RPN_TARGET_POSITIVE,
)
from gluoncv_hard.core.config import HardConfig
from gluoncv_hard.data.transform import FasterRCNNDefaultTrainTransform
from gluoncv_hard.modeling.rcnn_target import match_rois, sample_rois
from gluoncv_hard.modeling.rpn_target import as_numpy

__all__ = ['RPN_DEFAULTS', 'AnchorView', 'RoiView', 'anchor_view', 'roi_view']

# The training transform's RPN sampling defaults (GluonCV's).
RPN_DEFAULTS = dict(num_sample=256, pos_iou_thresh=0.7, neg_iou_thresh=0.3, pos_ratio=0.5)


@dataclass
class AnchorView:
    """The RPN sampling of one image under one hard config.

    Attributes
    ----------
    config : HardConfig
    image : (H, W, 3) uint8, RGB, the image at network input size
    label : (M, 6) float32, the GT at network input size (``(0, 6)`` for no boxes)
    anchors : (N, 4) float32, every anchor, in target order
    cls_target : (N,) float32, 1 positive, 0 negative, -1 ignored (as the RPN loss sees it)
    ignored_near_hard : (N,) bool, valid anchors left out because of a hard box
    net_input : (1, 3, H, W) NDArray, the normalized image the network takes
    """
    config: HardConfig
    image: np.ndarray
    label: np.ndarray
    anchors: np.ndarray
    cls_target: np.ndarray
    ignored_near_hard: np.ndarray
    net_input: mx.nd.NDArray = field(repr=False)

    @property
    def positive(self):
        """(N,) bool: anchors trained as object."""
        return self.cls_target == RPN_TARGET_POSITIVE

    @property
    def negative(self):
        """(N,) bool: anchors trained as background."""
        return self.cls_target == RPN_TARGET_NEGATIVE

    def counts(self):
        """Dict of anchor counts: positive, negative, ignored_near_hard, ignored_other."""
        ignored = self.cls_target == RPN_TARGET_IGNORE
        return dict(positive=int(self.positive.sum()), negative=int(self.negative.sum()),
                    ignored_near_hard=int(self.ignored_near_hard.sum()),
                    ignored_other=int((ignored & ~self.ignored_near_hard).sum()))


@dataclass
class RoiView:
    """The RCNN sampling of one image under one hard config.

    Attributes
    ----------
    rois : (S, 4) float32, the RoIs the head is given (``sample_rois`` output order)
    samples : (S,) float32, POSITIVE foreground, NEGATIVE background, IGNORE fill
    proposals : (P, 4) float32, the RPN proposals (padding rows included)
    ignored_near_hard : (P,) bool, valid proposals left out because of a hard box
    """
    rois: np.ndarray
    samples: np.ndarray
    proposals: np.ndarray
    ignored_near_hard: np.ndarray

    def counts(self):
        """Dict of RoI counts: foreground, background, ignored_near_hard, proposals."""
        return dict(foreground=int((self.samples == POSITIVE).sum()),
                    background=int((self.samples == NEGATIVE).sum()),
                    ignored_near_hard=int(self.ignored_near_hard.sum()),
                    proposals=len(self.proposals))


def _transform(net, config, rpn_options, seed):
    return FasterRCNNDefaultTrainTransform(
        net.short, net.max_size, net, ashape=net.ashape, multi_stage=net.num_stages > 1,
        flip_p=0.0, hard_config=config, rng=seed, **rpn_options)


def _display_image(image, height, width):
    """The original image resized to the network input size, RGB uint8."""
    image = as_numpy(image, dtype=np.uint8)
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)


def _ignored_near_hard(generator, anchors, label, width, height):
    """``(N,) bool``: the anchors the target generator matches to IGNORE because of a hard box,
    computed by the generator's own rules (valid anchors, then its sampler's matching)."""
    boxes, _, hard = schema.split_label(label)
    valid = generator.valid_anchors(anchors, width, height)
    assignment = generator.sampler.assign(anchors[valid], boxes, hard)
    ignored = np.zeros(len(anchors), dtype=bool)
    ignored[valid] = assignment.near_hard & (assignment.labels == IGNORE)
    return ignored


def anchor_view(image, label, net, config, seed=0, **rpn_options):
    """Run the training transform on one image and collect its RPN anchor labels.

    Parameters
    ----------
    image : (H, W, 3) uint8, RGB, NumPy array or NDArray
    label : (M, 5) or (M, 6) float array, pixels of ``image`` (``M`` may be 0)
    net : HardFasterRCNN (e.g. from :func:`gluoncv_hard.vis.sampling_inputs.load_network`)
    config : HardConfig
    seed : int or None
        Seed of the random subsampling (the same seed gives the same picture).
    **rpn_options
        ``num_sample``, ``pos_iou_thresh``, ``neg_iou_thresh``, ``pos_ratio`` of the transform
        (default :data:`RPN_DEFAULTS`).

    Returns
    -------
    AnchorView
    """
    options = dict(RPN_DEFAULTS, **rpn_options)
    unknown = set(options) - set(RPN_DEFAULTS)
    if unknown:
        raise TypeError('unknown RPN options {}; valid: {}'.format(
            sorted(unknown), ', '.join(RPN_DEFAULTS)))
    if not isinstance(image, mx.nd.NDArray):
        image = mx.nd.array(np.asarray(image), dtype='uint8')
    transform = _transform(net, config, options, seed)
    tensor, out_label, cls_targets, _, _ = transform(image, label)
    height, width = tensor.shape[1:]
    # The transform's anchors and target generator, so that the view is what training computes.
    anchors, _ = transform._anchors_for(height, width)
    generator = transform._target_generator
    cls_target = np.concatenate([c.reshape(-1) for c in cls_targets])
    out_label = out_label[~schema.is_padding_row(out_label)]
    ignored = _ignored_near_hard(generator, anchors, out_label, width, height)
    return AnchorView(config, _display_image(image, height, width), out_label, anchors,
                      cls_target, ignored, tensor.expand_dims(0))


def roi_view(net, view, seed=0):
    """Propose RoIs with the network's RPN and sample them as the RCNN stage does.

    Parameters
    ----------
    net : HardFasterRCNN with trained (or at least initialized) parameters
    view : AnchorView of the same image (gives the input, the GT and the hard config)
    seed : int or None

    Returns
    -------
    RoiView
    """
    x = view.net_input
    features = net.features(x)
    features = features if isinstance(features, (list, tuple)) else [features]
    # Training mode: the proposals the RCNN sampler sees in training (train pre/post NMS).
    with autograd.train_mode():
        scores, proposals = net.rpn(mx.nd.zeros_like(x), *features)[:2]
    proposals = proposals[0].asnumpy()
    scores = scores[0, :, 0].asnumpy()
    boxes, _, hard = schema.split_label(view.label)
    hard = hard.astype(np.float32)
    sampler = net.sampler
    rois, samples, _ = sample_rois(proposals, scores, boxes, hard, sampler.num_sample,
                                   sampler.max_pos, sampler.pos_iou_thresh, view.config, rng=seed)
    # The proposals come first among the candidates sample_rois matches.
    _, valid, assignment, _ = match_rois(proposals, scores, boxes, hard, sampler.pos_iou_thresh,
                                         view.config)
    proposal = slice(0, len(proposals))
    ignored = (valid[proposal] & assignment.near_hard[proposal]
               & (assignment.labels[proposal] == IGNORE))
    return RoiView(rois, samples, proposals, ignored)
