"""The pre-subsampling labels the target samplers expose for the sampling views
(RPNTargetGenerator.valid_anchors, RPNTargetSampler.assign, rcnn_target.match_rois)."""
import numpy as np
from conftest import random_boxes

from gluoncv_hard import RPNTargetGenerator
from gluoncv_hard.core.matching import IGNORE, NEGATIVE, POSITIVE, HardConfig
from gluoncv_hard.modeling.rcnn_target import match_rois, sample_rois

W, H = 480, 320


def test_valid_anchors_honour_allowed_border():
    anchors = np.array([[0, 0, 10, 10], [-3, 5, 20, 20], [470, 300, 482, 319],
                        [10, 10, 479.5, 319.5], [-6, 0, 10, 10]], np.float32)
    assert RPNTargetGenerator().valid_anchors(anchors, W, H).tolist() == [
        True, False, False, True, False]
    assert RPNTargetGenerator(allowed_border=5).valid_anchors(anchors, W, H).tolist() == [
        True, True, True, True, False]


def test_generator_targets_are_the_sampled_assignment(c4_anchors):
    gt = random_boxes(np.random.default_rng(3), 6, W, H, min_size=16, max_size=150)
    hard = np.array([0, 1, 0, 0, 1, 0])
    generator = RPNTargetGenerator(num_sample=10 * len(c4_anchors), pos_ratio=1.0)
    cls_target = generator(gt, c4_anchors, W, H, hard=hard)[0]
    valid = generator.valid_anchors(c4_anchors, W, H)
    labels = generator.sampler.assign(c4_anchors[valid], gt, hard).labels
    # Nothing is subsampled away here: the targets are the assignment, invalid anchors ignored.
    assert (cls_target[~valid] == -1).all()
    expected = np.select([labels == POSITIVE, labels == NEGATIVE], [1, 0], -1)
    np.testing.assert_array_equal(cls_target[valid], expected)
    assert (labels == IGNORE).any() and (labels == POSITIVE).any()


def test_match_rois_is_what_sample_rois_samples_from():
    rng = np.random.default_rng(0)
    rois = random_boxes(rng, 60, W, H, min_size=8, max_size=120)
    rois[5] = np.nan
    scores = rng.uniform(0, 1, 60)
    scores[-10:] = -1  # padding
    gt = np.concatenate([rois[[1, 2]] + 1, np.full((1, 4), -1, np.float32)])  # last: padding
    hard = np.array([0, 1, 0], np.float32)
    config = HardConfig()
    candidates, valid, assignment, gt_idx = match_rois(rois, scores, gt, hard, 0.5, config)
    assert gt_idx.tolist() == [0, 1]
    assert len(candidates) == 61  # the normal GT box is appended, the hard one is not
    np.testing.assert_array_equal(candidates[60], gt[0])
    assert not valid[5] and not valid[50:60].any() and valid[60]
    assert (candidates[5] == 0).all()
    sampled, samples, _ = sample_rois(rois, scores, gt, hard, 32, 8, 0.5, config, rng=1)
    positive = {tuple(c) for c in candidates[assignment.labels == POSITIVE]}
    negative = {tuple(c) for c in candidates[assignment.labels == NEGATIVE]}
    assert {tuple(r) for r in sampled[samples == 1]} <= positive
    assert {tuple(r) for r in sampled[samples == -1]} <= negative
