import mxnet as mx
import numpy as np
import pytest
from conftest import random_boxes
from gluoncv.model_zoo.rcnn.rpn.rpn_target import RPNTargetGenerator as StockGenerator
from gluoncv.model_zoo.rcnn.rpn.rpn_target import RPNTargetSampler as StockSampler
from hypothesis import given, settings
from hypothesis import strategies as st

from gluoncv_hard import RPNTargetGenerator, RPNTargetSampler
from gluoncv_hard.core.candidates import near_hard_mask
from gluoncv_hard.core.config import HardConfig
from gluoncv_hard.core.overlaps import pairwise_iou
from gluoncv_hard.errors import InputError

W, H = 480, 320


def interior_gt(seed, num):
    return random_boxes(np.random.default_rng(seed), num, W - 128, H - 128, min_size=8,
                        max_size=150) + 64


def invalid(anchors):
    return (anchors[:, 0] < 0) | (anchors[:, 1] < 0) | (anchors[:, 2] >= W) | (anchors[:, 3] >= H)


@pytest.mark.parametrize('seed, num', [(0, 1), (1, 5), (2, 30)])
def test_generator_matches_stock_before_subsampling(c4_anchors, seed, num):
    gt = interior_gt(seed, num)
    big = dict(num_sample=10 * len(c4_anchors), pos_ratio=1.0)
    stock = StockGenerator(**big)(mx.nd.array(gt), mx.nd.array(c4_anchors), W, H)
    ours = RPNTargetGenerator(hard_policy='positive', **big)(gt, c4_anchors, W, H,
                                                             hard=np.ones(num))
    np.testing.assert_array_equal(ours[0], stock[0])
    np.testing.assert_allclose(ours[1], stock[1], atol=1e-5)
    np.testing.assert_array_equal(ours[2], stock[2])


@pytest.mark.parametrize('num', [1, 4, 30])
def test_counts_after_subsampling_match_stock(c4_anchors, num):
    gt = interior_gt(num, num)
    stock = StockGenerator()(mx.nd.array(gt), mx.nd.array(c4_anchors), W, H)[0]
    ours = RPNTargetGenerator()(gt, c4_anchors, W, H)[0]
    for value in (1, 0, -1):
        assert (ours == value).sum() == (stock == value).sum()
    assert (ours == 1).sum() <= 128 and (ours >= 0).sum() == 256


def test_sampler_on_iou_matrix_matches_stock(c4_anchors):
    gt = interior_gt(7, 6)
    ious = pairwise_iou(c4_anchors, gt)
    ious[invalid(c4_anchors)] = -1
    big = 10 * len(c4_anchors)
    stock_samples, stock_matches = StockSampler(big, 0.7, 0.3, 1.0)(ious)
    for hard in (None, np.zeros(6)):
        samples, matches = RPNTargetSampler(big, 0.7, 0.3, 1.0)(ious, hard)
        np.testing.assert_array_equal(samples, stock_samples)
        pos = samples == 1
        np.testing.assert_array_equal(matches[pos], stock_matches[pos])


def test_ignore_policy_targets_around_hard_box(c4_anchors):
    gt = np.array([[100, 80, 180, 170], [300, 100, 340, 150]], np.float32)
    hard = np.array([0, 1])
    gen = RPNTargetGenerator(num_sample=10 * len(c4_anchors), pos_ratio=1.0)
    cls, box, mask = gen(gt, c4_anchors, W, H, hard=hard)
    near = near_hard_mask(c4_anchors, gt[1:], HardConfig())
    assert near.sum() > 0
    assert (cls[near] == -1).all()  # ignored: neither object nor background
    assert (cls == 1).sum() > 0 and (mask[cls == 1] == 1).all() and (mask[cls != 1] == 0).all()
    # Every positive regresses to the normal box.
    iou_normal = pairwise_iou(c4_anchors[cls == 1], gt[:1])[:, 0]
    assert (iou_normal > 0).all()
    # The same anchors under `positive` are trained on the hard box.
    cls_pos = RPNTargetGenerator(num_sample=10 * len(c4_anchors), pos_ratio=1.0,
                                 hard_policy='positive')(gt, c4_anchors, W, H, hard=hard)[0]
    assert (cls_pos[near] == 1).sum() > 0


def test_zero_gt_image_is_all_negatives(c4_anchors):
    # Stock crashes here ("argmax of an empty sequence").
    cls, box, mask = RPNTargetGenerator()(np.zeros((0, 4), np.float32), c4_anchors, W, H)
    assert (cls == 0).sum() == 256 and (cls == 1).sum() == 0
    assert (cls[invalid(c4_anchors)] == -1).all()
    assert not box.any() and not mask.any()


def test_allowed_border_admits_border_anchors(c4_anchors):
    gt = np.zeros((0, 4), np.float32)
    strict = RPNTargetGenerator(num_sample=10 ** 6)(gt, c4_anchors, W, H)[0]
    loose = RPNTargetGenerator(num_sample=10 ** 6, allowed_border=10 ** 4)(gt, c4_anchors, W, H)[0]
    assert (strict == 0).sum() == (~invalid(c4_anchors)).sum()
    assert (loose == 0).sum() == len(c4_anchors)


def test_bad_options_fail_at_construction():
    with pytest.raises(ValueError, match='choose one of: ignore, positive, drop'):
        RPNTargetGenerator(hard_policy='neutral')
    with pytest.raises(ValueError, match='must not exceed'):
        RPNTargetSampler(256, 0.3, 0.7, 0.5)
    with pytest.raises(TypeError):
        RPNTargetGenerator(hard_polcy='ignore')


def test_hard_flags_must_match_boxes(c4_anchors):
    with pytest.raises(InputError, match='hard has 3 flags for 2 GT boxes'):
        RPNTargetGenerator()(interior_gt(0, 2), c4_anchors, W, H, hard=[0, 1, 0])


def test_hard_config_object_equals_the_five_keywords(c4_anchors):
    gt, hard = interior_gt(3, 4), np.array([0, 1, 0, 1])
    config = HardConfig(overlap='iou', thresh=0.4, precedence='ignore_wins')
    by_keywords = RPNTargetGenerator(hard_overlap='iou', hard_thresh=0.4,
                                     hard_precedence='ignore_wins', rng=7)
    by_object = RPNTargetGenerator(hard_config=config, rng=7)
    assert by_object.hard_config is config and by_keywords.hard_config == config
    assert by_object.sampler.hard_config is config
    for a, b in zip(by_keywords(gt, c4_anchors, W, H, hard=hard),
                    by_object(gt, c4_anchors, W, H, hard=hard)):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(TypeError, match='not both'):
        RPNTargetSampler(256, 0.7, 0.3, 0.5, hard_config=config, hard_policy='drop')
    with pytest.raises(TypeError, match='unknown hard options'):
        RPNTargetSampler(256, 0.7, 0.3, 0.5, hard_polcy='drop')
    with pytest.raises(TypeError):
        RPNTargetSampler(256, 0.7, 0.3, 0.5, num_samples=3)


def test_int_seed_is_not_reseeded_per_call(c4_anchors):
    gt = interior_gt(4, 5)
    first, second = (RPNTargetGenerator(rng=11) for _ in range(2))
    a1, a2 = (first(gt, c4_anchors, W, H)[0] for _ in range(2))
    b1, b2 = (second(gt, c4_anchors, W, H)[0] for _ in range(2))
    assert not np.array_equal(a1, a2)  # a new draw on every call
    np.testing.assert_array_equal(a1, b1)  # the same int gives the same sequence
    np.testing.assert_array_equal(a2, b2)
    # None follows NumPy's global state on every call.
    gen = RPNTargetGenerator()
    np.random.seed(5)
    c1 = gen(gt, c4_anchors, W, H)[0]
    np.random.seed(5)
    np.testing.assert_array_equal(gen(gt, c4_anchors, W, H)[0], c1)


def test_rpn_targets_use_the_named_codes(c4_anchors):
    from gluoncv_hard.core.codes import RPN_TARGET_IGNORE, RPN_TARGET_NEGATIVE, RPN_TARGET_POSITIVE
    cls, _, mask = RPNTargetGenerator()(interior_gt(5, 3), c4_anchors, W, H, hard=[0, 1, 0])
    assert set(np.unique(cls)) == {RPN_TARGET_POSITIVE, RPN_TARGET_NEGATIVE, RPN_TARGET_IGNORE}
    assert (mask[cls == RPN_TARGET_POSITIVE] == 1).all()


def _real_anchors(size):
    """Anchors of GluonCV's C4 anchor generator (stride 16, 32-512 px) for a size x size input,
    as an NDArray (what GluonCV's transform hands the generator)."""
    from gluoncv.model_zoo.rcnn.rpn.anchor import RPNAnchorGenerator
    gen = RPNAnchorGenerator(stride=16, base_size=16, ratios=(0.5, 1, 2),
                             scales=(2, 4, 8, 16, 32), alloc_size=(8, 8))
    gen.initialize()
    cells = -(-size // 16)  # the stride-16 feature map of the input
    return gen(mx.nd.zeros((1, 1, cells, cells))).reshape((-1, 4))


@pytest.mark.parametrize('hard', [None, [0, 1]])
def test_image_whose_anchors_all_cross_the_border(hard):
    # The smallest anchor is 32 px: on a 24 px image every anchor crosses the border. This used to
    # stop training with "zero-size array to reduction operation maximum".
    anchors = _real_anchors(24)
    assert anchors.shape[0] > 0
    gt = np.array([[2, 2, 12, 12], [10, 10, 22, 22]], np.float32)
    cls, box, mask = RPNTargetGenerator()(gt, anchors, 24, 24, hard=hard)
    n = anchors.shape[0]
    assert cls.shape == (n,) and box.shape == mask.shape == (n, 4)
    assert (cls == -1).all() and not box.any() and not mask.any()


@settings(max_examples=15, deadline=None)
@given(size=st.integers(16, 96), num=st.integers(0, 3), seed=st.integers(0, 10 ** 6))
def test_tiny_images_with_real_anchors(size, num, seed):
    anchors = _real_anchors(size)
    gt = random_boxes(np.random.default_rng(seed), num, size, size, min_size=2,
                      max_size=max(size // 2, 3))
    cls, box, mask = RPNTargetGenerator()(gt, anchors, size, size)
    a = anchors.asnumpy()
    inside = (a[:, 0] >= 0) & (a[:, 1] >= 0) & (a[:, 2] < size) & (a[:, 3] < size)
    assert cls.shape == (len(a),) and box.shape == (len(a), 4)
    assert (cls[~inside] == -1).all() and (cls >= 0).sum() <= min(256, inside.sum())
    if num == 0:  # every anchor inside the image is a candidate negative
        assert (cls == 0).sum() == min(256, inside.sum())
    assert (mask.any(axis=1) == (cls == 1)).all()


@pytest.mark.parametrize('args, kwargs, param', [
    ((0, 0.7, 0.3, 0.5), {}, 'num_sample'),
    ((256.0, 0.7, 0.3, 0.5), {}, 'num_sample'),
    ((256, 0.7, 0.3, 0), {}, 'pos_ratio'),
    ((256, 0.7, 0.3, 1.5), {}, 'pos_ratio'),
    ((256, 0.3, 0.7, 0.5), {}, 'neg_iou_thresh'),
    ((256, 1.2, 0.3, 0.5), {}, 'pos_iou_thresh'),
    ((256, 0.7, 0.3, 0.5), dict(best_match_min_iou=0), 'best_match_min_iou'),
    ((256, 0.7, 0.3, 0.5), dict(hard_thresh=2), 'hard_thresh'),
])
def test_sampler_options_are_validated_at_construction(args, kwargs, param):
    with pytest.raises(InputError) as info:
        RPNTargetSampler(*args, **kwargs)
    assert info.value.param == param
    with pytest.raises(InputError):
        RPNTargetGenerator(*args, **kwargs)


@pytest.mark.parametrize('bbox, hard, param', [
    (np.zeros((2, 5), np.float32), None, 'bbox'),
    (np.array([[10, 10, 50, 50]], np.float32), [0, 1], 'hard'),
])
def test_generator_input_shapes_are_checked(c4_anchors, bbox, hard, param):
    with pytest.raises(InputError) as info:
        RPNTargetGenerator()(bbox, c4_anchors, W, H, hard=hard)
    assert info.value.param == param
    with pytest.raises(InputError) as info:
        RPNTargetGenerator()(np.zeros((0, 4)), c4_anchors[:5, :3], W, H)
    assert info.value.param == 'anchor'


def test_sampler_on_empty_iou_matrices():
    sampler = RPNTargetSampler(8, 0.7, 0.3, 0.5, rng=0)
    samples, matches = sampler(np.zeros((0, 3), np.float32), hard=[0, 0, 1],
                               candidates=np.zeros((0, 4)), gt_boxes=interior_gt(0, 3))
    assert samples.shape == matches.shape == (0,)
    samples, _ = sampler(np.zeros((5, 0), np.float32), valid=np.ones(5, bool))
    assert (samples == -1).sum() == 5
    with pytest.raises(InputError, match='ious'):
        sampler(np.zeros(5, np.float32))
