"""Faster R-CNN training transform that carries the hard flag to the RPN targets."""
from collections import OrderedDict
from random import randint

import mxnet as mx
import numpy as np
from gluoncv.data.transforms import bbox as tbbox
from gluoncv.data.transforms import image as timage
from gluoncv.data.transforms.presets import rcnn as gluoncv_rcnn_presets

from gluoncv_hard import schema
from gluoncv_hard.core.config import pop_hard_config
from gluoncv_hard.errors import InputError
from gluoncv_hard.modeling.rpn_target import RPNTargetGenerator, as_numpy

__all__ = ['FasterRCNNDefaultTrainTransform']

# Distinct input sizes whose anchors and feature shapes are kept; a data set with many aspect
# ratios cycles through more, and each miss costs a symbolic shape inference.
_SIZE_CACHE = 64


class FasterRCNNDefaultTrainTransform(gluoncv_rcnn_presets.FasterRCNNDefaultTrainTransform):
    """GluonCV's Faster R-CNN training transform, with hard boxes.

    Same constructor as ``gluoncv.data.transforms.presets.rcnn.FasterRCNNDefaultTrainTransform``
    plus ``hard_config`` (a :class:`gluoncv_hard.HardConfig`, default ``HardConfig()``; or the
    five hard keyword arguments ``hard_policy``, ``hard_overlap``, ``hard_thresh``,
    ``hard_precedence``, ``hard_cover_thresh``); other keyword arguments go to
    :class:`gluoncv_hard.RPNTargetGenerator` (e.g. ``best_match_min_iou``, ``rng``,
    ``keep_all_negatives``, ``allowed_border``).

    ``__call__(src, label)`` takes an ``(H, W, 3)`` image and a ``(N, 5)`` or ``(N, 6)`` label
    (``xmin, ymin, xmax, ymax, cls[, hard]``, see :mod:`gluoncv_hard.schema`; ``N`` may be 0) and
    returns ``img, label, cls_targets, box_targets, box_masks`` like GluonCV, except that:

    - ``label`` always has 6 columns, the hard flag last, so the network sees it; an image without
      boxes gets one padding row of -1;
    - the label is validated first (``ValueError`` naming the bad box);
    - the targets are NumPy float32: one ``(feat_h, feat_w, num_anchors)`` cls array and two
      ``(feat_h, feat_w, num_anchors * 4)`` arrays per feature level.

    Without ``net`` it returns ``img, label`` only.
    """

    def __init__(self, short=600, max_size=1000, net=None, mean=(0.485, 0.456, 0.406),
                 std=(0.229, 0.224, 0.225), box_norm=(1., 1., 1., 1.), num_sample=256,
                 pos_iou_thresh=0.7, neg_iou_thresh=0.3, pos_ratio=0.5, flip_p=0.5, ashape=128,
                 multi_stage=False, hard_config=None, **kwargs):
        self.hard_config = pop_hard_config(kwargs, hard_config)
        super().__init__(short=short, max_size=max_size, net=net, mean=mean, std=std,
                         box_norm=box_norm, num_sample=num_sample,
                         pos_iou_thresh=pos_iou_thresh, neg_iou_thresh=neg_iou_thresh,
                         pos_ratio=pos_ratio, flip_p=flip_p, ashape=ashape,
                         multi_stage=multi_stage, **kwargs)
        self._size_cache = OrderedDict()
        if self._anchors is None:
            return
        levels = self._anchors if multi_stage else [self._anchors]
        # (1, 1, S, S, A * 4) NDArrays -> (S, S, A, 4) NumPy, sliced per input size later.
        self._level_anchors = [a.asnumpy()[0, 0].reshape(a.shape[2], a.shape[3], -1, 4)
                               for a in levels]
        feat_syms = self._feat_sym if multi_stage else [self._feat_sym]
        self._feat_group = mx.sym.Group(list(feat_syms))
        # Built now so that bad options fail here, not in a data-loader worker.
        self._internal_target_generator = RPNTargetGenerator(
            num_sample=num_sample, pos_iou_thresh=pos_iou_thresh, neg_iou_thresh=neg_iou_thresh,
            pos_ratio=pos_ratio, stds=box_norm, hard_config=self.hard_config, **kwargs)

    @property
    def _target_generator(self):
        return self._internal_target_generator

    def _anchors_for(self, height, width):
        """Anchors ``(N, 4)`` and per-level feature shapes ``[(h, w, A), ...]`` for an input."""
        key = (height, width)
        hit = self._size_cache.get(key)
        if hit is not None:
            self._size_cache.move_to_end(key)
            return hit
        out_shapes = self._feat_group.infer_shape(data=(1, 3, height, width))[1]
        anchors, shapes = [], []
        for level, out_shape in zip(self._level_anchors, out_shapes):
            feat_h, feat_w = out_shape[2], out_shape[3]
            if feat_h > level.shape[0] or feat_w > level.shape[1]:
                # Stock GluonCV silently leaves the rest of the feature map without targets.
                raise InputError(
                    'a {}x{} input gives a {}x{} feature map, but anchors were allocated for '
                    '{}x{}; build the transform with ashape=net.ashape (or a larger '
                    'alloc_size in the network)'.format(height, width, feat_h, feat_w,
                                                        level.shape[0], level.shape[1]),
                    param='ashape')
            anchors.append(level[:feat_h, :feat_w].reshape(-1, 4))
            shapes.append((feat_h, feat_w, level.shape[2]))
        hit = (np.ascontiguousarray(np.concatenate(anchors), dtype=np.float32), shapes)
        self._size_cache[key] = hit
        if len(self._size_cache) > _SIZE_CACHE:
            self._size_cache.popitem(last=False)
        return hit

    def __call__(self, src, label):
        label = schema.validate_label(as_numpy(label), where='training label')
        h, w, _ = src.shape
        short = randint(self._short[0], self._short[1]) if self._random_resize else self._short
        img = timage.resize_short_within(src, short, self._max_size, interp=1)
        label = tbbox.resize(label, (w, h), (img.shape[1], img.shape[0]))
        h, w, _ = img.shape
        img, flips = timage.random_flip(img, px=self._flip_p)
        label = tbbox.flip(label, (w, h), flip_x=flips[0])
        img = mx.nd.image.to_tensor(img)
        img = mx.nd.image.normalize(img, mean=self._mean, std=self._std)
        # tbbox.resize returns float64; the network's concat with proposals needs float32.
        out_label = label.astype(np.float32) if len(label) else schema.padding_label()
        if self._anchors is None:
            return img, out_label

        boxes, _, hard = schema.split_label(label)
        anchors, shapes = self._anchors_for(img.shape[1], img.shape[2])
        cls_target, box_target, box_mask = self._target_generator(
            boxes, anchors, img.shape[2], img.shape[1], hard)
        cls_targets, box_targets, box_masks = [], [], []
        start = 0
        for feat_h, feat_w, num_anchors in shapes:
            stop = start + feat_h * feat_w * num_anchors
            cls_targets.append(cls_target[start:stop].reshape(feat_h, feat_w, -1))
            box_targets.append(box_target[start:stop].reshape(feat_h, feat_w, -1))
            box_masks.append(box_mask[start:stop].reshape(feat_h, feat_w, -1))
            start = stop
        return img, out_label, cls_targets, box_targets, box_masks
