"""The labelling rules of gluoncv_hard.core.matching, each pinned by a case that fails if it
breaks."""
import numpy as np
import pytest
from conftest import random_boxes
from gluoncv.model_zoo.rcnn.rpn.rpn_target import RPNTargetSampler as StockSampler
from hypothesis import given, settings
from hypothesis import strategies as st

from gluoncv_hard.core.candidates import near_hard_mask, overlaps_from_boxes, overlaps_from_ious
from gluoncv_hard.core.codes import IGNORE, NEGATIVE, POSITIVE
from gluoncv_hard.core.config import HardConfig
from gluoncv_hard.core.matching import assign_boxes, assign_ious
from gluoncv_hard.core.overlaps import pairwise_iof, pairwise_iou

W, H = 480, 320
THRESH = dict(pos_thresh=0.7, neg_thresh=0.3)


def valid_rows(anchors):
    return (anchors[:, 0] >= 0) & (anchors[:, 1] >= 0) & (anchors[:, 2] < W) & (anchors[:, 3] < H)


def stock_labels(anchors, gt):
    """Stock GluonCV's labels before subsampling (num_sample large enough to keep all)."""
    ious = pairwise_iou(anchors, gt)
    ious[~valid_rows(anchors)] = -1
    sampler = StockSampler(num_sample=10 * len(anchors), pos_iou_thresh=0.7, neg_iou_thresh=0.3,
                           pos_ratio=1.0)
    samples, _ = sampler(ious)
    return samples.astype(np.int8)


def interior_boxes(rng, num):
    # Boxes away from the border overlap at least one valid anchor. Stock GluonCV mislabels
    # boxes that do not (see test_stock_bug_for_boxes_without_valid_anchor).
    boxes = random_boxes(rng, num, W - 128, H - 128, min_size=8, max_size=150)
    return boxes + 64


def ours(anchors, gt, hard, config, **kw):
    return assign_boxes(anchors, gt, hard, config, valid=valid_rows(anchors), **THRESH, **kw)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10 ** 6), num=st.integers(1, 12))
def test_positive_policy_reproduces_stock_labels(c4_anchors, seed, num):
    rng = np.random.default_rng(seed)
    gt = interior_boxes(rng, num)
    hard = rng.random(num) < 0.5
    got = ours(c4_anchors, gt, hard, HardConfig(policy='positive'))
    np.testing.assert_array_equal(got.labels, stock_labels(c4_anchors, gt))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10 ** 6), num=st.integers(2, 12))
def test_drop_equals_stock_without_the_hard_boxes(c4_anchors, seed, num):
    rng = np.random.default_rng(seed)
    gt = interior_boxes(rng, num)
    hard = np.arange(num) % 2 == 1
    got = ours(c4_anchors, gt, hard, HardConfig(policy='drop'))
    np.testing.assert_array_equal(got.labels, stock_labels(c4_anchors, gt[~hard]))
    assert not np.isin(got.matches[got.labels == POSITIVE], np.flatnonzero(hard)).any()


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10 ** 6), num=st.integers(1, 10),
       overlap=st.sampled_from(['iof', 'iou', 'iou_or_iof']),
       precedence=st.sampled_from(['normal_wins', 'ignore_wins']),
       thresh=st.floats(0.1, 0.9))
def test_ignore_never_trains_on_candidates_near_hard_boxes(c4_anchors, seed, num, overlap,
                                                           precedence, thresh):
    rng = np.random.default_rng(seed)
    gt = interior_boxes(rng, num)
    hard = rng.random(num) < 0.5
    config = HardConfig(overlap=overlap, thresh=thresh, precedence=precedence)
    got = ours(c4_anchors, gt, hard, config)
    near = near_hard_mask(c4_anchors, gt[hard], config)
    if overlap == 'iof':  # independent check of the measure itself
        np.testing.assert_array_equal(
            near, (pairwise_iof(c4_anchors, gt[hard]) > thresh).any(axis=1))
    dropped = ours(c4_anchors, gt, hard, HardConfig(policy='drop'))
    assert not (got.labels[near] == NEGATIVE).any()
    if precedence == 'ignore_wins':
        assert not (got.labels[near] != IGNORE).any()
    else:
        # Only candidates that are positive for a normal box survive near a hard box.
        np.testing.assert_array_equal(got.labels[near] == POSITIVE,
                                      dropped.labels[near] == POSITIVE)
    # Away from hard boxes, ignore labels exactly like drop.
    np.testing.assert_array_equal(got.labels[~near], dropped.labels[~near])
    assert not np.isin(got.matches[got.labels == POSITIVE], np.flatnonzero(hard)).any()


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10 ** 6), num=st.integers(0, 10),
       policy=st.sampled_from(['ignore', 'positive', 'drop']),
       overlap=st.sampled_from(['iof', 'iou', 'iou_or_iof']))
def test_dense_and_chunked_overlaps_agree(c4_anchors, seed, num, policy, overlap):
    rng = np.random.default_rng(seed)
    gt = random_boxes(rng, num, W, H, min_size=4)
    hard = rng.random(num) < 0.4
    config = HardConfig(policy=policy, overlap=overlap)
    fast = overlaps_from_boxes(c4_anchors, gt, hard, config)
    dense = overlaps_from_ious(pairwise_iou(c4_anchors, gt), hard, config, c4_anchors, gt)
    np.testing.assert_allclose(fast.max_iou, dense.max_iou, atol=1e-6)
    np.testing.assert_array_equal(fast.best_for_gt, dense.best_for_gt)
    np.testing.assert_array_equal(fast.near_hard, dense.near_hard)
    trained = fast.max_iou > 0
    np.testing.assert_array_equal(fast.matches[trained], dense.matches[trained])


def test_hard_box_never_creates_positives():
    # The seed patch wrote 0.5 into a hard box's IoU column: every anchor became its argmax and
    # therefore positive. Here a hard box alone yields no positive at all.
    anchors = random_boxes(np.random.default_rng(0), 500, W, H, min_size=8)
    gt = np.array([[100, 100, 180, 180]], np.float32)
    for overlap in ('iof', 'iou', 'iou_or_iof'):
        got = assign_boxes(anchors, gt, [True], HardConfig(overlap=overlap), **THRESH)
        assert (got.labels == POSITIVE).sum() == 0
        assert (got.labels == NEGATIVE).sum() > 0
    baseline = assign_boxes(anchors, gt, [True], HardConfig(policy='positive'), **THRESH)
    assert (baseline.labels == POSITIVE).sum() > 0


def test_best_candidate_rule_only_for_normal_boxes():
    # Each box's best anchor has IoU 0.5: positive only through the "best candidate" rule.
    anchors = np.array([[0, 0, 10, 10], [40, 40, 50, 50], [80, 80, 90, 90]], np.float32)
    gt = np.array([[0, 0, 10, 20], [40, 40, 50, 60]], np.float32)
    labels = assign_boxes(anchors, gt, [False, True], HardConfig(), **THRESH).labels
    assert labels.tolist() == [POSITIVE, IGNORE, NEGATIVE]  # iof 1.0 with the hard box
    # Below the hard threshold the anchor is plain background: the hard box is not matched.
    labels = assign_boxes(anchors, gt, [False, True], HardConfig(overlap='iou', thresh=0.6),
                          **THRESH).labels
    assert labels.tolist() == [POSITIVE, NEGATIVE, NEGATIVE]
    labels = assign_boxes(anchors, gt, [False, True], HardConfig(policy='positive'),
                          **THRESH).labels
    assert labels.tolist() == [POSITIVE, POSITIVE, NEGATIVE]


def test_best_candidate_below_negative_threshold():
    anchors = np.array([[0, 0, 10, 10], [50, 50, 60, 60]], np.float32)
    gt = np.array([[0, 0, 10, 50]], np.float32)  # best IoU 0.2 < neg_thresh
    stock_like = assign_boxes(anchors, gt, [False], HardConfig(), **THRESH).labels
    assert stock_like.tolist() == [NEGATIVE, NEGATIVE]
    low_quality = assign_boxes(anchors, gt, [False], HardConfig(), best_match_min_iou=0.1,
                               **THRESH).labels
    assert low_quality.tolist() == [POSITIVE, NEGATIVE]


def test_threshold_intervals():
    # IoU exactly pos_thresh is positive; exactly neg_thresh is in the ignore band [neg, pos).
    ious = np.array([[0.7], [0.3], [0.0]], np.float32)
    labels = assign_ious(ious, [False], HardConfig(), **THRESH).labels
    assert labels.tolist() == [POSITIVE, IGNORE, NEGATIVE]


@pytest.mark.parametrize('precedence, expected', [('normal_wins', POSITIVE),
                                                  ('ignore_wins', IGNORE)])
def test_precedence_between_normal_and_hard_box(precedence, expected):
    anchors = np.array([[10, 10, 50, 50], [200, 200, 240, 240]], np.float32)
    gt = np.array([[10, 10, 50, 52], [0, 0, 60, 60]], np.float32)  # normal inside a hard region
    labels = assign_boxes(anchors, gt, [False, True], HardConfig(precedence=precedence),
                          **THRESH).labels
    assert labels.tolist() == [expected, NEGATIVE]


def test_overlap_measures_differ_as_documented():
    hard = np.array([[0, 0, 100, 100]], np.float32)
    inside = [20, 20, 40, 40]        # iof 1, iou 0.04
    contains_hard = [-10, -10, 110, 110]  # iof 0.69, iou 0.69, cover 1
    big_around = [-100, -100, 150, 150]  # iof 0.16, iou 0.16, cover 1 (hard inside it)
    half_out = [50, 0, 150, 100]     # iof 0.5 (not > 0.5), iou 0.33
    cands = np.array([inside, contains_hard, big_around, half_out], np.float32)
    got = {m: near_hard_mask(cands, hard, HardConfig(overlap=m)).tolist()
           for m in ('iof', 'iou', 'iou_or_iof')}
    assert got['iof'] == [True, True, False, False]
    assert got['iou'] == [False, True, False, False]
    assert got['iou_or_iof'] == [True, True, True, False]


def test_no_gt_means_every_valid_candidate_is_negative(c4_anchors):
    valid = valid_rows(c4_anchors)
    for config in (HardConfig(), HardConfig(policy='positive'), HardConfig(policy='drop')):
        got = assign_boxes(c4_anchors, np.zeros((0, 4), np.float32), np.zeros(0, bool), config,
                           valid=valid, **THRESH)
        assert (got.labels[valid] == NEGATIVE).all()
        assert (got.labels[~valid] == IGNORE).all()
        assert (got.matches == -1).all()
    dense = assign_ious(np.zeros((len(c4_anchors), 0), np.float32), np.zeros(0), HardConfig(),
                        valid=valid, **THRESH)
    np.testing.assert_array_equal(dense.labels, np.where(valid, NEGATIVE, IGNORE))


def test_all_hard_gt_ignores_near_and_keeps_other_negatives(c4_anchors):
    gt = np.array([[100, 100, 200, 180], [300, 50, 360, 120]], np.float32)
    valid = valid_rows(c4_anchors)
    got = assign_boxes(c4_anchors, gt, [True, True], HardConfig(), valid=valid, **THRESH)
    near = near_hard_mask(c4_anchors, gt, HardConfig())
    assert near.sum() > 0
    assert (got.labels[valid & near] == IGNORE).all()
    assert (got.labels[valid & ~near] == NEGATIVE).all()
    assert (got.labels != POSITIVE).all()


def test_iou_matrix_path_needs_boxes_for_iof():
    with pytest.raises(ValueError, match="pass candidates= and gt_boxes="):
        assign_ious(np.full((3, 1), 0.5, np.float32), [True], HardConfig(overlap='iof'),
                    **THRESH)


def test_invalid_rows_of_iou_matrix_are_ignored():
    ious = np.array([[0.9], [-1.0], [0.1]], np.float32)
    labels = assign_ious(ious, [False], HardConfig(), **THRESH).labels
    assert labels.tolist() == [POSITIVE, IGNORE, NEGATIVE]


@pytest.mark.parametrize('kwargs, message', [
    (dict(policy='neutral'), "hard_policy='neutral' is not valid; choose one of: ignore, "
                             "positive, drop"),
    (dict(overlap='giou'), 'choose one of: iof, iou, iou_or_iof'),
    (dict(precedence='hard_wins'), 'choose one of: normal_wins, ignore_wins'),
    (dict(thresh=0), r'hard_thresh=0 must be a number in \(0, 1\]'),
    (dict(thresh=1.5), 'hard_thresh=1.5'),
    (dict(cover_thresh='high'), 'hard_cover_thresh'),
])
def test_config_validation_names_allowed_values(kwargs, message):
    with pytest.raises(ValueError, match=message):
        HardConfig(**kwargs)


def test_threshold_validation():
    with pytest.raises(ValueError, match='must not exceed'):
        assign_ious(np.zeros((1, 1), np.float32), [False], HardConfig(), pos_thresh=0.3,
                    neg_thresh=0.7)
    with pytest.raises(ValueError, match='best_match_min_iou'):
        assign_ious(np.zeros((1, 1), np.float32), [False], HardConfig(), best_match_min_iou=0,
                    **THRESH)


def test_stock_bug_for_boxes_without_valid_anchor(c4_anchors):
    # Stock GluonCV marks *every* anchor tying a box's best IoU as positive; for a box whose best
    # IoU is 0 (only border-crossing anchors touch it) that is every anchor, and the negative
    # threshold resets only those below it, so every anchor in the [0.3, 0.7) band turns positive.
    # We do not reproduce this: such a box simply has no best candidate.
    gt = np.array([[1, 1, 7, 7], [200, 100, 300, 200]], np.float32)
    assert pairwise_iou(c4_anchors[valid_rows(c4_anchors)], gt[:1]).max() == 0
    stock = stock_labels(c4_anchors, gt)
    got = ours(c4_anchors, gt, [False, False], HardConfig(policy='positive'))
    iou = pairwise_iou(c4_anchors, gt).max(axis=1)
    band = valid_rows(c4_anchors) & (iou >= 0.3) & (iou < 0.7)
    assert (stock[band] == POSITIVE).all() and band.sum() > 0
    assert (got.labels[band] != POSITIVE).sum() > 0
    # Everywhere else the two agree.
    best = got.labels == POSITIVE
    np.testing.assert_array_equal(got.labels[~band], stock[~band])
    assert best.sum() > 0
