"""Matching with nothing to match: no candidates, no GT, no valid candidate, only hard GT.

mmdetection's MaxIoUAssigner tests (empty priors, empty GT) found the N = 0 crash ("zero-size array
to reduction operation maximum"); it also stopped real training on images whose anchors all cross
the border.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gluoncv_hard.core.candidates import near_hard_mask, overlaps_from_boxes, overlaps_from_ious
from gluoncv_hard.core.codes import IGNORE, NEGATIVE, POSITIVE
from gluoncv_hard.core.config import HardConfig
from gluoncv_hard.core.matching import assign_boxes, assign_ious
from gluoncv_hard.core.overlaps import pairwise_iou

THRESH = dict(pos_thresh=0.7, neg_thresh=0.3)
GT = np.array([[10, 10, 50, 50], [60, 60, 90, 90]], np.float32)
POLICIES = [HardConfig(), HardConfig(policy='positive'), HardConfig(policy='drop'),
            HardConfig(overlap='iou'), HardConfig(precedence='ignore_wins')]


def check_empty(assignment, n):
    assert assignment.labels.shape == assignment.matches.shape == (n,)
    assert assignment.max_iou.shape == assignment.near_hard.shape == (n,)
    assert assignment.labels.dtype == np.int8 and assignment.matches.dtype == np.int64


@pytest.mark.parametrize('config', POLICIES)
@pytest.mark.parametrize('num_gt', [0, 1, 2])
def test_no_candidates(config, num_gt):
    candidates = np.zeros((0, 4), np.float32)
    gt, hard = GT[:num_gt], np.arange(num_gt) == 1
    check_empty(assign_boxes(candidates, gt, hard, config, **THRESH), 0)
    check_empty(assign_ious(np.zeros((0, num_gt), np.float32), hard, config,
                            candidates=candidates, gt_boxes=gt, **THRESH), 0)
    check_empty(assign_boxes(candidates, gt, hard, config, valid=np.zeros(0, bool), **THRESH), 0)


@pytest.mark.parametrize('config', POLICIES)
def test_no_candidates_with_many_gt_boxes(config):
    # Enough pairs for the chunked path (assign_boxes picks it above a size).
    gt = np.tile(GT, (20000, 1))
    check_empty(assign_boxes(np.zeros((0, 4), np.float32), gt, np.zeros(len(gt), bool), config,
                             **THRESH), 0)


@pytest.mark.parametrize('config', POLICIES)
def test_no_valid_candidate_is_all_ignored(config):
    candidates = np.array([[10, 10, 50, 50], [0, 0, 5, 5], [58, 58, 92, 92]], np.float32)
    valid = np.zeros(3, bool)
    got = assign_boxes(candidates, GT, [False, True], config, valid=valid, **THRESH)
    assert (got.labels == IGNORE).all()
    # GluonCV marks invalid rows of an IoU matrix with -1.
    ious = np.full((3, 2), -1, np.float32)
    got = assign_ious(ious, [False, True], config, candidates=candidates, gt_boxes=GT, **THRESH)
    assert (got.labels == IGNORE).all()


def test_no_candidate_and_no_gt_through_every_public_function():
    config = HardConfig()
    empty = np.zeros((0, 4), np.float32)
    assert near_hard_mask(empty, empty, config).shape == (0,)
    assert overlaps_from_boxes(empty, empty, np.zeros(0, bool), config).max_iou.shape == (0,)
    assert overlaps_from_ious(np.zeros((0, 0)), np.zeros(0, bool), config).matches.shape == (0,)
    # Empty inputs of another shape (e.g. np.zeros(0)) mean "no box".
    check_empty(assign_boxes(np.zeros(0), np.zeros(0), np.zeros(0), config, **THRESH), 0)


@pytest.mark.parametrize('overlap', ['iof', 'iou', 'iou_or_iof'])
def test_all_hard_gt(overlap):
    candidates = np.array([[10, 10, 50, 50], [12, 12, 48, 48], [200, 200, 240, 240]], np.float32)
    config = HardConfig(overlap=overlap)
    got = assign_boxes(candidates, GT, [True, True], config, **THRESH)
    assert got.labels.tolist() == [IGNORE, IGNORE, NEGATIVE]
    assert (got.matches == -1).all()
    ious = pairwise_iou(candidates, GT)
    dense = assign_ious(ious, [True, True], config, candidates=candidates, gt_boxes=GT, **THRESH)
    np.testing.assert_array_equal(dense.labels, got.labels)
    # No candidate: nothing to neutralize, nothing to crash on.
    check_empty(assign_boxes(np.zeros((0, 4)), GT, [True, True], config, **THRESH), 0)


@settings(max_examples=60, deadline=None)
@given(num=st.integers(0, 6), num_gt=st.integers(0, 4), seed=st.integers(0, 10 ** 6),
       config=st.sampled_from(POLICIES), valid_prob=st.sampled_from([0.0, 0.5, 1.0]))
def test_dense_and_box_paths_agree_on_small_and_empty_inputs(num, num_gt, seed, config,
                                                              valid_prob):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 80, (num + num_gt, 2))
    wh = rng.uniform(4, 40, (num + num_gt, 2))
    boxes = np.concatenate([xy, xy + wh], axis=1).astype(np.float32)
    candidates, gt = boxes[:num], boxes[num:]
    hard = rng.random(num_gt) < 0.5
    valid = rng.random(num) < valid_prob
    by_boxes = assign_boxes(candidates, gt, hard, config, valid=valid, **THRESH)
    by_ious = assign_ious(pairwise_iou(candidates, gt), hard, config, valid=valid,
                          candidates=candidates, gt_boxes=gt, **THRESH)
    chunked = overlaps_from_boxes(candidates, gt, hard, config)
    check_empty(by_boxes, num)
    np.testing.assert_array_equal(by_boxes.labels, by_ious.labels)
    np.testing.assert_array_equal(chunked.near_hard, by_boxes.near_hard)
    assert (by_boxes.labels[~valid] == IGNORE).all()
    if not (~hard).any() and config.policy != 'positive':
        assert not (by_boxes.labels == POSITIVE).any()
