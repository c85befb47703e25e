"""Faster R-CNN training transform that carries the hard flag to the RPN targets.

To change the augmentation, subclass :class:`FasterRCNNDefaultTrainTransform` and override its
``augment`` method (docs/transform_subclassing.md): ``__call__`` keeps routing every label
through the hard-aware RPN targets, and a subclass whose ``__call__`` bypasses them (a copy of
GluonCV's) fails at its first image. :func:`load_transform_class` loads a subclass named
``'package.module:ClassName'`` (``gluoncv-hard-train --train-transform``).
"""
import importlib
from collections import OrderedDict
from random import randint

import mxnet as mx
import numpy as np
from gluoncv.data.transforms import bbox as tbbox
from gluoncv.data.transforms import image as timage
from gluoncv.data.transforms.presets import rcnn as gluoncv_rcnn_presets

from gluoncv_hard import schema
from gluoncv_hard.core.config import HARD_OPTIONS, HardConfig, pop_hard_config
from gluoncv_hard.errors import InputError
from gluoncv_hard.modeling.rpn_target import RPNTargetGenerator, as_numpy

__all__ = ['FasterRCNNDefaultTrainTransform', 'MIXUP_LABEL_WIDTH', 'DEFAULT_TRAIN_TRANSFORM',
           'IMAGE_MEAN', 'IMAGE_STD', 'load_transform_class']

# The default normalization of 0-1 RGB images (ImageNet's, as in GluonCV). The tiny backbone's
# offline pretraining (engine/pretrain.py) normalizes its windows with the same values, so the
# backbone sees its inputs scaled as in detection.
IMAGE_MEAN = (0.485, 0.456, 0.406)
IMAGE_STD = (0.229, 0.224, 0.225)

# Distinct input sizes whose anchors and feature shapes are kept; a data set with many aspect
# ratios cycles through more, and each miss costs a symbolic shape inference.
_SIZE_CACHE = 64

# GluonCV's MixupDetection appends its weight after the label's last column: a 6-column label
# (with the hard flag) becomes 7 columns, the weight in column MIXUP_WEIGHT.
MIXUP_LABEL_WIDTH = schema.LABEL_WIDTH + 1
MIXUP_WEIGHT = schema.LABEL_WIDTH

DEFAULT_TRAIN_TRANSFORM = 'gluoncv_hard.data.transform:FasterRCNNDefaultTrainTransform'

_MIXUP_HINT = (
    " If the data set is wrapped in GluonCV's MixupDetection: it appends its mixup weight after "
    'the last column, which for a 5-column label (no hard column) is where the hard flag is '
    'read. Wrap a data set whose labels have the hard column (6 columns: a reader of '
    'gluoncv_hard.data, LstDetection of a width-6 .lst, VOCDetection) so that the weight lands '
    'in column 6.')


class _RequiresHardFlags:
    """The transform's RPN target generator as ``self._target_generator`` shows it to subclass
    code: a call without the hard flags (GluonCV's ``__call__`` makes one) raises instead of
    training every hard box as an ordinary one."""

    def __init__(self, generator, owner):
        self._generator, self._owner = generator, owner

    def __call__(self, bbox, anchor, width, height, hard=None):
        if hard is None:
            raise InputError(
                '{0} called its RPN target generator without the hard flags, so every hard box '
                "would train as an ordinary box: its __call__ bypasses gluoncv-hard's hard-aware "
                "path (a copy of GluonCV's FasterRCNNDefaultTrainTransform.__call__?). Override "
                '{0}.augment(src, label) instead and leave __call__ to the base class, or pass '
                'hard=label[:, {1}] as the fifth argument (docs/transform_subclassing.md)'.format(
                    self._owner, schema.HARD), param='train_transform')
        return self._generator(bbox, anchor, width, height, hard)

    def __getattr__(self, name):
        if name.startswith('__') or name in ('_generator', '_owner'):
            raise AttributeError(name)
        return getattr(self._generator, name)


class FasterRCNNDefaultTrainTransform(gluoncv_rcnn_presets.FasterRCNNDefaultTrainTransform):
    """GluonCV's Faster R-CNN training transform, with hard boxes.

    Same constructor as ``gluoncv.data.transforms.presets.rcnn.FasterRCNNDefaultTrainTransform``
    plus ``hard_config`` (a :class:`gluoncv_hard.HardConfig`; or the five hard keyword arguments
    ``hard_policy``, ``hard_overlap``, ``hard_thresh``, ``hard_precedence``,
    ``hard_cover_thresh``; with neither, the ``hard_config`` of ``net`` when it is a
    :class:`gluoncv_hard.HardFasterRCNN`, else ``HardConfig()``, so that both stages agree);
    other keyword arguments go to :class:`gluoncv_hard.RPNTargetGenerator` (e.g.
    ``best_match_min_iou``, ``rng``, ``keep_all_negatives``, ``allowed_border``).

    ``__call__(src, label)`` takes an ``(H, W, 3)`` image and a ``(N, 5)``, ``(N, 6)`` or
    ``(N, 7)`` label (``xmin, ymin, xmax, ymax, cls[, hard[, mixup weight]]``, see
    :mod:`gluoncv_hard.schema`; 7 columns is what GluonCV's ``MixupDetection`` makes of a
    6-column label; ``N`` may be 0) and returns ``img, label, cls_targets, box_targets,
    box_masks`` like GluonCV, except that:

    - ``label`` keeps the hard flag in column 5 (a 5-column label gets a column of zeros) and the
      mixup weight, if any, in column 6, so the network sees them; an image without boxes gets
      one padding row of -1;
    - the label is validated first (``InputError`` naming the bad box);
    - the targets are NumPy float32: one ``(feat_h, feat_w, num_anchors)`` cls array and two
      ``(feat_h, feat_w, num_anchors * 4)`` arrays per feature level.

    Without ``net`` it returns ``img, label`` only.

    Subclasses change the augmentation by overriding :meth:`augment` (the one method meant to
    be overridden); ``__call__`` validates what it returns and computes the targets from it.
    """

    def __init__(self, short=600, max_size=1000, net=None, mean=IMAGE_MEAN,
                 std=IMAGE_STD, box_norm=(1., 1., 1., 1.), num_sample=256,
                 pos_iou_thresh=0.7, neg_iou_thresh=0.3, pos_ratio=0.5, flip_p=0.5, ashape=128,
                 multi_stage=False, hard_config=None, **kwargs):
        net_config = getattr(net, 'hard_config', None)
        if hard_config is None and isinstance(net_config, HardConfig) and not any(
                option in kwargs for option in HARD_OPTIONS):
            hard_config = net_config
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
        # GluonCV's __call__ reaches the generator through this name; our own path does not.
        if self._internal_target_generator is None:
            return None
        return _RequiresHardFlags(self._internal_target_generator, type(self).__name__)

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

    def augment(self, src, label):
        """The random augmentation of one training image: override this in a subclass.

        GluonCV's: resize the shorter side to ``short`` (a random size in ``short`` when it is
        a pair) within ``max_size``, then flip horizontally with probability ``flip_p``.

        Parameters
        ----------
        src : mxnet.nd.NDArray, uint8, shape (H, W, 3)
            The decoded image.
        label : numpy.ndarray, float32, shape (N, 6) or (N, 7)
            Validated rows ``xmin, ymin, xmax, ymax, cls, hard[, mixup weight]`` in pixels of
            ``src``; ``N`` may be 0.

        Returns
        -------
        img : mxnet.nd.NDArray, shape (H', W', 3)
            Still HWC and unnormalized: ``__call__`` converts and normalizes it.
        label : numpy.ndarray, shape (N', 6) or (N', 7)
            The boxes in pixels of ``img``, **with every column of the input** (the hard flag
            travels with its box: ``gluoncv.data.transforms.bbox``'s ``resize``, ``flip``,
            ``crop`` and ``translate`` keep extra columns). Boxes may be dropped but not left
            with zero area.
        """
        h, w, _ = src.shape
        short = randint(self._short[0], self._short[1]) if self._random_resize else self._short
        img = timage.resize_short_within(src, short, self._max_size, interp=1)
        label = tbbox.resize(label, (w, h), (img.shape[1], img.shape[0]))
        h, w, _ = img.shape
        img, flips = timage.random_flip(img, px=self._flip_p)
        label = tbbox.flip(label, (w, h), flip_x=flips[0])
        return img, label

    def __call__(self, src, label):
        label = _checked_label(label, 'training label')
        width = label.shape[1]
        img, label = self.augment(src, label)
        _check_augmented(label, width, '{}.augment'.format(type(self).__name__))
        img = mx.nd.image.to_tensor(img)
        img = mx.nd.image.normalize(img, mean=self._mean, std=self._std)
        # tbbox.resize returns float64; the network's concat with proposals needs float32.
        out_label = label.astype(np.float32) if len(label) else np.full(
            (1, width), schema.PAD_VALUE, np.float32)
        if self._anchors is None:
            return img, out_label

        boxes, _, hard = schema.split_label(label)
        anchors, shapes = self._anchors_for(img.shape[1], img.shape[2])
        cls_target, box_target, box_mask = self._internal_target_generator(
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


def _checked_label(label, where):
    """A training label as float32 ``(N, 6)`` (5 columns get hard = 0) or ``(N, 7)`` (with
    GluonCV's mixup weight last); ``InputError`` naming the bad box otherwise."""
    label = as_numpy(label)
    if label.ndim != 2 or label.shape[1] != MIXUP_LABEL_WIDTH:
        if label.ndim == 2 and label.shape[1] == schema.LABEL_WIDTH:
            _check_flags_are_not_mixup_weights(label, where)
        return schema.validate_label(label, where=where)
    keep = ~schema.is_padding_row(label[:, :schema.LABEL_WIDTH])
    label = label[keep]
    weight = label[:, MIXUP_WEIGHT:]
    bad = ~(np.isfinite(weight[:, 0]) & (weight[:, 0] >= 0) & (weight[:, 0] <= 1))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            '{}: box {} has {} in column {}; a 7-column label is xmin, ymin, xmax, ymax, cls, '
            "hard and GluonCV's MixupDetection weight, which is in [0, 1]".format(
                where, i, weight[i, 0], MIXUP_WEIGHT))
    return np.concatenate([schema.validate_label(label[:, :schema.LABEL_WIDTH], where=where),
                           weight], axis=1)


def _check_flags_are_not_mixup_weights(label, where):
    flags = label[~schema.is_padding_row(label), schema.HARD]
    mixup_like = (flags > 0) & (flags < 1)
    if mixup_like.any():
        raise InputError('{}: box {} has hard flag {}; the hard column must be 0 or 1.{}'.format(
            where, int(np.flatnonzero(mixup_like)[0]), flags[mixup_like][0], _MIXUP_HINT))


def _check_augmented(label, width, where):
    """Refuse what an ``augment`` override returns if the targets would lose the hard flags."""
    shape = getattr(label, 'shape', None)
    if shape is None or len(shape) != 2 or shape[1] != width:
        raise InputError(
            '{} returned a label of shape {} for a label of {} columns; it must return every '
            'column (xmin, ymin, xmax, ymax, cls, hard{}) so that the hard flag stays with its '
            'box'.format(where, shape, width, ', mixup weight' if width > schema.LABEL_WIDTH
                         else ''), param='train_transform')
    if len(label):
        schema.validate_label(np.asarray(label)[:, :schema.LABEL_WIDTH],
                              where='label returned by ' + where)


def load_transform_class(spec, param='train_transform'):
    """The training-transform class that ``spec`` names.

    Parameters
    ----------
    spec : str or type
        ``'package.module:ClassName'`` (``ClassName`` may be dotted, ``Outer.Inner``), or the
        class itself. The module is imported with ``importlib``, which runs its code: name only
        modules you trust, as with any Python import (this is code the user names, never data).
    param : str
        The parameter ``InputError`` names (the train command shows ``--train-transform``).

    Returns
    -------
    type
        :class:`FasterRCNNDefaultTrainTransform` or a subclass of it.

    Raises
    ------
    InputError
        For a malformed ``spec``, a module that cannot be imported, a missing name, or anything
        that is not a subclass of :class:`FasterRCNNDefaultTrainTransform`.
    """
    if isinstance(spec, type):
        cls, where = spec, '{}.{}'.format(spec.__module__, spec.__qualname__)
    else:
        module_name, _, qualname = str(spec).partition(':')
        if not module_name or not qualname or ':' in qualname:
            raise InputError("{!r} is not of the form 'package.module:ClassName' (e.g. {!r})"
                             .format(spec, DEFAULT_TRAIN_TRANSFORM), param=param)
        try:
            module = importlib.import_module(module_name)
        except Exception as e:  # noqa: BLE001 -- any failure of the user's module is theirs
            raise InputError('importing module {!r} failed: {}: {} (is it on PYTHONPATH? '
                             '--debug shows the traceback)'.format(module_name, type(e).__name__,
                                                                   e), param=param) from e
        cls = module
        for part in qualname.split('.'):
            cls = getattr(cls, part, None)
            if cls is None:
                raise InputError('module {!r} has no {!r}'.format(module_name, qualname),
                                 param=param)
        where = spec
    if not (isinstance(cls, type) and issubclass(cls, FasterRCNNDefaultTrainTransform)):
        raise InputError(
            '{} is {!r}, not a subclass of gluoncv_hard.FasterRCNNDefaultTrainTransform; '
            "subclass it and override augment() (GluonCV's own transform drops the hard flags)"
            .format(where, cls), param=param)
    return cls
