import mxnet as mx
import numpy as np
import pytest
from conftest import random_boxes
from gluoncv.model_zoo.rcnn.rpn.rpn_target import RPNTargetGenerator as StockGenerator
from gluoncv.model_zoo.rcnn.rpn.rpn_target import RPNTargetSampler as StockSampler

from gluoncv_hard import RPNTargetGenerator, RPNTargetSampler
from gluoncv_hard.core.matching import HardConfig, near_hard_mask
from gluoncv_hard.core.overlaps import pairwise_iou

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
    with pytest.raises(ValueError, match='hard has 3 flags for 2 GT boxes'):
        RPNTargetGenerator()(interior_gt(0, 2), c4_anchors, W, H, hard=[0, 1, 0])
