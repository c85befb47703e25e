"""Small Faster R-CNN backbones for CPU runs, demos and tests.

ResNet-50 Faster R-CNN takes ~10 s per training iteration on two CPU cores; these take ~0.1 s.
They are real GluonCV ``FasterRCNN`` networks (same heads, RPN, samplers, losses), only the
``features``/``top_features`` are a few plain conv layers trained from scratch.

- ``tiny`` (C4 style): one stride-8 feature map, square anchors 16-128 px in steps of sqrt(2)
  (small objects need a fine stride and dense scales to get more than one positive anchor each).
- ``tiny_fpn``: three feature maps at strides 8, 16, 32 (``multi_stage``), one anchor scale each.
"""
from mxnet.gluon import nn

__all__ = ['TINY_DEFAULTS', 'TINY_FPN_DEFAULTS', 'tiny_c4_parts', 'tiny_fpn_parts']

# Network-level defaults, overridable by keyword. Anchors cover 16-128 px objects: the demo faces
# are 16-96 px at a 320 px short side, with aspect ratios (h/w) 0.95-1.15, so only square
# anchors: ratios 0.5 and 2 made the RPN 3x larger and a training iteration 25% slower
# (measured side by side) without a better first epoch (VOC07 0.257 vs 0.274 on the demo data).
TINY_DEFAULTS = dict(
    short=320, max_size=512, min_stage=3, max_stage=3, strides=8, base_size=8,
    scales=(2, 2.83, 4, 5.66, 8, 11.3, 16), ratios=(1,), alloc_size=(80, 80),
    rpn_channel=128,
    roi_mode='align', roi_size=(7, 7), clip=None, rpn_train_pre_nms=2000, rpn_train_post_nms=256,
    rpn_test_pre_nms=1000, rpn_test_post_nms=100, rpn_min_size=4, num_sample=64,
    pos_iou_thresh=0.5, pos_ratio=0.25, max_num_gt=64, nms_thresh=0.3, nms_topk=200,
    post_nms=100, train_patterns=None)

TINY_FPN_DEFAULTS = dict(
    TINY_DEFAULTS, min_stage=3, max_stage=5, strides=(8, 16, 32), base_size=16,
    scales=(1, 2, 4), ratios=(0.5, 1, 2), alloc_size=(80, 80))


def _conv(channels, stride):
    # Batch norm makes training from scratch converge in a few epochs instead of tens.
    block = nn.HybridSequential()
    block.add(nn.Conv2D(channels, 3, strides=stride, padding=1, use_bias=False),
              nn.BatchNorm(), nn.Activation('relu'))
    return block


class _TinyPyramid(nn.HybridBlock):
    """Conv trunk with lateral outputs at strides 8, 16 and 32 (a minimal FPN)."""

    def __init__(self, channels=64, **kwargs):
        super().__init__(**kwargs)
        with self.name_scope():
            self.stem = nn.HybridSequential()
            self.stem.add(_conv(16, 2), _conv(32, 2), _conv(channels, 2))
            self.down16 = _conv(channels, 2)
            self.down32 = _conv(channels, 2)

    def hybrid_forward(self, F, x):
        c8 = self.stem(x)
        c16 = self.down16(c8)
        c32 = self.down32(c16)
        return c8, c16, c32


def tiny_c4_parts():
    """``features`` (stride 8) and ``top_features`` of the tiny C4 network."""
    features = nn.HybridSequential()
    features.add(_conv(16, 2), _conv(32, 2), _conv(64, 2), _conv(128, 1), _conv(128, 1))
    top_features = nn.HybridSequential()
    top_features.add(_conv(128, 1))
    return features, top_features, None


def tiny_fpn_parts():
    """``features`` (three levels), ``top_features`` and ``box_features`` of ``tiny_fpn``."""
    top_features = nn.HybridSequential()
    top_features.add(_conv(64, 1))
    box_features = nn.HybridSequential()
    box_features.add(nn.Dense(128), nn.Activation('relu'))
    return _TinyPyramid(), top_features, box_features
