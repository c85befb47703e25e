import mxnet as mx
import numpy as np
import pytest
from gluoncv.data.transforms.presets.rcnn import FasterRCNNDefaultTrainTransform as StockTransform

from gluoncv_hard import FasterRCNNDefaultTrainTransform, schema
from gluoncv_hard.core.candidates import near_hard_mask
from gluoncv_hard.core.config import HardConfig
from gluoncv_hard.errors import InputError

IMG = mx.nd.array(np.random.default_rng(0).integers(0, 255, (240, 320, 3)), dtype='uint8')
LABEL = np.array([[10, 20, 60, 80, 0, 0],      # normal, left
                  [200, 100, 240, 150, 0, 1]],  # hard, right
                 np.float32)


def make(net, fpn=False, **kw):
    return FasterRCNNDefaultTrainTransform(net.short, net.max_size, net, ashape=net.ashape,
                                           multi_stage=fpn, **kw)


@pytest.mark.parametrize('flip', [0.0, 1.0])
def test_hard_flag_follows_its_box_through_resize_and_flip(tiny_c4_net, flip):
    img, label, *_ = make(tiny_c4_net, flip_p=flip)(IMG, LABEL)
    height, width = img.shape[1:]
    assert height == 320 and label.shape == (2, 6) and label.dtype == np.float32
    expected = LABEL[:, :4] * np.array([width / 320, height / 240] * 2, np.float32)
    if flip:
        expected[:, [0, 2]] = width - expected[:, [2, 0]]
    np.testing.assert_allclose(label[:, :4], expected, rtol=1e-5)
    assert label[:, schema.HARD].tolist() == [0, 1]
    # After a flip the hard box is on the left.
    hard_box = label[schema.is_hard(label[:, schema.HARD])][0]
    assert (hard_box[0] < width / 2) == bool(flip)


@pytest.mark.parametrize('fpn', [False, True])
def test_targets_neutralize_anchors_near_the_hard_box(tiny_c4_net, tiny_fpn_net, fpn):
    net = tiny_fpn_net if fpn else tiny_c4_net
    transform = make(net, fpn, flip_p=0.0, num_sample=10 ** 6, pos_ratio=1.0)
    img, label, cls_targets, box_targets, box_masks = transform(IMG, LABEL)
    feats = net.features(mx.nd.zeros((1,) + img.shape))
    feats = feats if isinstance(feats, (list, tuple)) else [feats]
    assert len(cls_targets) == len(feats)
    for cls, box, mask, feat in zip(cls_targets, box_targets, box_masks, feats):
        assert cls.shape[:2] == feat.shape[2:] and box.shape == mask.shape
        assert box.shape[2] == 4 * cls.shape[2]
    anchors, _ = transform._anchors_for(img.shape[1], img.shape[2])
    cls = np.concatenate([c.reshape(-1) for c in cls_targets])
    near = near_hard_mask(anchors, label[1:, :4], HardConfig())
    assert near.sum() > 0 and (cls[near] == -1).all()
    assert (cls == 1).sum() > 0


@pytest.mark.parametrize('fpn', [False, True])
def test_positive_policy_equals_stock_transform(tiny_c4_net, tiny_fpn_net, fpn):
    net = tiny_fpn_net if fpn else tiny_c4_net
    kw = dict(flip_p=0.0, num_sample=10 ** 6, pos_ratio=1.0, ashape=net.ashape, multi_stage=fpn)
    label = np.array([[30, 40, 90, 100, 0, 1], [150, 60, 200, 130, 0, 0]], np.float32)
    stock = StockTransform(net.short, net.max_size, net, **kw)(IMG, label)
    ours = FasterRCNNDefaultTrainTransform(net.short, net.max_size, net, hard_policy='positive',
                                           **kw)(IMG, label)
    np.testing.assert_allclose(ours[0].asnumpy(), stock[0].asnumpy())
    for got, expected in zip(ours[2:], stock[2:]):
        for a, b in zip(got, expected):
            np.testing.assert_allclose(a, b, atol=1e-5)


def test_five_column_and_empty_labels(tiny_c4_net):
    transform = make(tiny_c4_net)
    _, label, cls, _, _ = transform(IMG, LABEL[:, :5])
    assert label.shape == (2, 6) and (label[:, schema.HARD] == 0).all()
    _, label, cls, box, mask = transform(IMG, schema.empty_label())
    np.testing.assert_array_equal(label, schema.padding_label())
    assert (cls[0] == 0).sum() == 256 and (cls[0] == 1).sum() == 0 and not mask[0].any()


def test_without_net_returns_image_and_label():
    out = FasterRCNNDefaultTrainTransform(320, 512)(IMG, LABEL)
    assert len(out) == 2 and out[1].shape == (2, 6)


@pytest.mark.parametrize('label, message', [
    (LABEL[:, :4], r'shape \(N, 5\) or \(N, 6\)'),
    (np.array([[0, 0, 5, 5, 0, 0.5]]), 'box 0 has hard flag 0.5'),
    (np.array([[0, 0, 5, 5, 0, 0], [9, 9, 5, 5, 0, 0]]), 'box 1 is inverted'),
])
def test_bad_labels_raise(tiny_c4_net, label, message):
    with pytest.raises(ValueError, match=message):
        make(tiny_c4_net)(IMG, label)


def test_too_small_anchor_allocation_is_an_error(tiny_c4_net):
    transform = FasterRCNNDefaultTrainTransform(1000, 1600, tiny_c4_net, ashape=16)
    with pytest.raises(InputError, match='ashape=net.ashape') as info:
        transform(IMG, LABEL)
    assert info.value.param == 'ashape'


def test_bad_hard_option_fails_at_construction(tiny_c4_net):
    with pytest.raises(ValueError, match='hard_overlap'):
        make(tiny_c4_net, hard_overlap='giou')


def test_hard_config_object_equals_the_five_keywords(tiny_c4_net):
    config = HardConfig(policy='positive', overlap='iou')
    by_object = make(tiny_c4_net, flip_p=0.0, hard_config=config, rng=3)
    by_keywords = make(tiny_c4_net, flip_p=0.0, hard_policy='positive', hard_overlap='iou', rng=3)
    assert by_object.hard_config is config and by_keywords.hard_config == config
    assert by_object._target_generator.hard_config is config
    a, b = by_object(IMG, LABEL), by_keywords(IMG, LABEL)
    for got, expected in zip(a[2:], b[2:]):
        for x, y in zip(got, expected):
            np.testing.assert_array_equal(x, y)
    with pytest.raises(TypeError, match='not both'):
        make(tiny_c4_net, hard_config=config, hard_thresh=0.3)


def test_hard_options_are_checked_without_a_network():
    assert FasterRCNNDefaultTrainTransform(320, 512, hard_policy='drop').hard_config == \
        HardConfig(policy='drop')
    with pytest.raises(InputError) as info:
        FasterRCNNDefaultTrainTransform(320, 512, hard_thresh=0)
    assert info.value.param == 'hard_thresh'


def test_image_too_small_for_any_anchor(tiny_c4_net):
    # A 12 px image: every anchor of the tiny network (at least 16 px on one side) crosses the
    # border; the targets are all ignored, not a crash.
    transform = FasterRCNNDefaultTrainTransform(12, 12, tiny_c4_net, ashape=tiny_c4_net.ashape)
    tiny_img = mx.nd.array(np.zeros((12, 12, 3)), dtype='uint8')
    label = np.array([[2, 2, 10, 10, 0, 0], [1, 1, 6, 6, 0, 1]], np.float32)
    img, out_label, cls_targets, box_targets, box_masks = transform(tiny_img, label)
    anchors, _ = transform._anchors_for(img.shape[1], img.shape[2])
    inside = ((anchors[:, 0] >= 0) & (anchors[:, 1] >= 0) & (anchors[:, 2] < img.shape[2])
              & (anchors[:, 3] < img.shape[1]))
    assert not inside.any()
    cls = np.concatenate([c.reshape(-1) for c in cls_targets])
    assert cls.shape == (len(anchors),) and (cls == -1).all()
    assert not any(m.any() for m in box_masks)
