"""Second-stage sampling: the NumPy function, and the custom-op block inside networks."""
import mxnet as mx
import numpy as np
import pytest
from conftest import random_boxes
from gluoncv.model_zoo.rcnn.faster_rcnn.rcnn_target import RCNNTargetSampler as StockSampler
from hypothesis import given, settings
from hypothesis import strategies as st

from gluoncv_hard import RCNNTargetSampler, schema
from gluoncv_hard.core.candidates import near_hard_mask
from gluoncv_hard.core.codes import IGNORE, NEGATIVE, POSITIVE
from gluoncv_hard.core.config import HardConfig
from gluoncv_hard.core.overlaps import pairwise_iou
from gluoncv_hard.errors import InputError
from gluoncv_hard.modeling.rcnn_target import sample_rois

W, H = 400, 300


def proposals_around(gt, rng, num=300):
    """Jittered copies of the GT boxes (never exact copies) plus random boxes."""
    picks = gt[rng.integers(0, len(gt), num // 2)] if len(gt) else np.zeros((0, 4), np.float32)
    size = np.repeat(picks[:, 2:] - picks[:, :2], 2, axis=1)
    jitter = picks + rng.uniform(-0.3, 0.3, picks.shape) * size + 0.01
    jitter[:, 2:] = np.maximum(jitter[:, 2:], jitter[:, :2] + 1)
    rois = np.concatenate([jitter, random_boxes(rng, num - len(picks), W, H, min_size=4)])
    return rois.astype(np.float32)


def scene(seed, num_gt, num_pad=2):
    rng = np.random.default_rng(seed)
    gt = random_boxes(rng, num_gt, W, H, min_size=10, max_size=120)
    hard = (rng.random(num_gt) < 0.5).astype(np.float32)
    rois = proposals_around(gt, rng)
    pad = np.full((num_pad, 4), schema.PAD_VALUE, np.float32)
    return rng, rois, np.concatenate([gt, pad]), np.concatenate([hard, -np.ones(num_pad)])


SAMPLE = dict(num_sample=64, max_pos=16, pos_iou_thresh=0.5)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10 ** 6), num_gt=st.integers(0, 8),
       overlap=st.sampled_from(['iof', 'iou', 'iou_or_iof']),
       precedence=st.sampled_from(['normal_wins', 'ignore_wins']))
def test_ignore_policy_invariants(seed, num_gt, overlap, precedence):
    rng, rois, gt, hard = scene(seed, num_gt)
    config = HardConfig(overlap=overlap, precedence=precedence)
    out_rois, samples, matches = sample_rois(rois, np.ones(len(rois)), gt, hard, config=config,
                                             rng=rng, **SAMPLE)
    assert out_rois.shape == (64, 4) and samples.shape == matches.shape == (64,)
    assert (samples == 1).sum() <= 16
    is_hard = hard > 0.5
    near = near_hard_mask(out_rois, gt[is_hard], config)
    assert not (samples[near] == -1).any()
    if precedence == 'ignore_wins':
        assert (samples[near] == 0).all()
    # A hard box is never appended as a proposal (no proposal is an exact copy of a GT box).
    for box in gt[is_hard]:
        assert not np.all(out_rois == box, axis=1).any()
    # Foreground RoIs regress to normal, real boxes they overlap by >= 0.5.
    fg = samples == 1
    idx = matches[fg].astype(int)
    assert not is_hard[idx].any() and not schema.is_padding_row(gt[idx]).any()
    ious = pairwise_iou(out_rois[fg], gt[idx]).diagonal()
    assert (ious >= 0.5 - 1e-6).all()


@pytest.mark.parametrize('seed, num_gt', [(1, 1), (2, 3), (3, 6), (4, 10)])
def test_positive_policy_has_stock_sample_counts(seed, num_gt):
    rng, rois, gt, hard = scene(seed, num_gt)
    scores = rng.uniform(0, 1, (len(rois), 1)).astype(np.float32)
    scores[:10] = -1  # padded proposals are never sampled as fg/bg by either
    stock = StockSampler(num_image=1, num_proposal=len(rois), num_sample=64, pos_iou_thresh=0.5,
                         pos_ratio=0.25, max_num_gt=len(gt))
    _, stock_samples, _ = stock(mx.nd.array(rois[None]), mx.nd.array(scores[None]),
                                mx.nd.array(gt[None]))
    stock_samples = stock_samples.asnumpy()[0]
    _, samples, _ = sample_rois(rois, scores, gt, hard, config=HardConfig(policy='positive'),
                                rng=rng, **SAMPLE)
    for value in (1, -1, 0):
        assert (samples == value).sum() == (stock_samples == value).sum()
    assert (samples == 1).sum() > 0


def test_drop_treats_hard_area_as_background():
    gt = np.array([[50, 50, 150, 150], [250, 100, 330, 200]], np.float32)
    rois = np.array([[250, 100, 330, 200], [252, 102, 330, 198], [50, 50, 148, 150]], np.float32)
    common = dict(rois=rois, scores=np.ones(3), gt_boxes=gt, gt_hard=[0, 1], num_sample=6,
                  max_pos=3, pos_iou_thresh=0.5, rng=0)
    out, samples, _ = sample_rois(config=HardConfig(policy='drop'), **common)
    by_roi = {tuple(r): s for r, s in zip(out.tolist(), samples.tolist()) if s != 0}
    assert by_roi[(250, 100, 330, 200)] == -1 and by_roi[(252, 102, 330, 198)] == -1
    out, samples, _ = sample_rois(config=HardConfig(), **common)
    assert set(samples.tolist()) == {1, 0}  # the two on the hard box are neither fg nor bg
    out, samples, _ = sample_rois(config=HardConfig(policy='positive'), **common)
    assert (samples == 1).sum() == 3  # capped at max_pos


def test_zero_gt_and_only_hard_gt():
    rng = np.random.default_rng(0)
    rois = random_boxes(rng, 200, W, H)
    pad = np.full((3, 4), -1, np.float32)
    _, samples, matches = sample_rois(rois, np.ones(200), pad, -np.ones(3), config=HardConfig(),
                                      rng=rng, **SAMPLE)
    assert (samples == -1).all() and (matches == 0).all()
    hard_box = np.array([[100, 100, 200, 200]], np.float32)
    rois = np.concatenate([rois, hard_box + [[2, 2, -2, -2]]])
    out, samples, _ = sample_rois(rois, np.ones(len(rois)), hard_box, [1], config=HardConfig(),
                                  num_sample=len(rois), max_pos=50, pos_iou_thresh=0.5, rng=rng)
    assert (samples != 1).all()
    near = near_hard_mask(out, hard_box, HardConfig())
    assert near.any() and (samples[near] == 0).all() and (samples[~near] == -1).all()


def test_output_is_filled_with_ignored_rois_when_candidates_run_out():
    rois = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], np.float32)
    out, samples, _ = sample_rois(rois, [1, -1], np.array([[0, 0, 10, 10]], np.float32), [0],
                                  config=HardConfig(), num_sample=8, max_pos=2,
                                  pos_iou_thresh=0.5, rng=0)
    assert out.shape == (8, 4)
    assert (samples == 1).sum() == 2  # the proposal and the appended GT box
    assert (samples == -1).sum() == 0 and (samples == 0).sum() == 6  # the invalid proposal ignored


@pytest.mark.parametrize('hybridize', [False, True])
def test_block_runs_custom_op_per_image(hybridize):
    sampler = RCNNTargetSampler(num_sample=32, pos_ratio=0.25)
    if hybridize:
        sampler.hybridize(static_alloc=True)
    rng, rois, gt, hard = scene(5, 4)
    rois2 = proposals_around(gt[:1], rng)
    batch_rois = mx.nd.array(np.stack([rois, rois2]))
    scores = mx.nd.ones((2, len(rois), 1))
    gt_b = mx.nd.array(np.stack([gt, np.full_like(gt, -1)]))
    hard_b = mx.nd.array(np.stack([hard, -np.ones_like(hard)])[..., None])
    out_rois, samples, matches = sampler(batch_rois, scores, gt_b, hard_b)
    assert out_rois.shape == (2, 32, 4) and samples.shape == matches.shape == (2, 32)
    samples = samples.asnumpy()
    assert (samples[0] == 1).sum() > 0 and (samples[1] == -1).all()
    if hybridize:
        return  # a hybridized block keeps the argument structure of its first call
    # The packed form (hard flag as a fifth box column) gives the same result.
    sampler.reseed(0)
    a = sampler(batch_rois, scores, gt_b, hard_b)[1].asnumpy()
    sampler.reseed(0)
    b = sampler(batch_rois, scores, mx.nd.concat(gt_b, hard_b, dim=-1))[1].asnumpy()
    np.testing.assert_array_equal(a, b)


def test_bad_options():
    with pytest.raises(ValueError, match='hard_precedence'):
        RCNNTargetSampler(hard_precedence='hard_wins')


def test_non_finite_proposals_are_never_sampled_and_come_out_zeroed():
    rois = np.array([[0, 0, 10, 10], [np.nan, 0, 5, 5], [0, np.inf, 5, 5], [20, 20, 40, 40]],
                    np.float32)
    out, samples, _ = sample_rois(rois, np.ones(4), np.array([[0, 0, 10, 10]], np.float32), [0],
                                  config=HardConfig(), num_sample=6, max_pos=2,
                                  pos_iou_thresh=0.5, rng=0)
    assert np.isfinite(out).all()
    assert (samples == 1).sum() == 2 and (samples == -1).sum() == 1


def block_inputs(seed=5, num_gt=4):
    rng, rois, gt, hard = scene(seed, num_gt)
    return (mx.nd.array(rois[None]), mx.nd.ones((1, len(rois), 1)), mx.nd.array(gt[None]),
            mx.nd.array(hard[None, :, None]))


def test_resized_keeps_seed_config_and_stream():
    config = HardConfig(policy='drop')
    inputs = block_inputs()
    resized = []
    for global_seed in (0, 1):
        sampler = RCNNTargetSampler(64, pos_ratio=0.25, hard_config=config, seed=5)
        np.random.seed(global_seed)  # used to pick the resized sampler's seed
        resized.append(sampler.resized(96))
    a, b = resized
    assert a.seed == 5 and a.hard_config is config and a.max_pos == 16 and a.num_sample == 96
    np.testing.assert_array_equal(a(*inputs)[1].asnumpy(), b(*inputs)[1].asnumpy())
    # A resized sampler continues its parent's stream: resized before any draw, it equals a
    # fresh sampler with the same seed and cap.
    fresh = RCNNTargetSampler(96, pos_ratio=16 / 96, hard_config=config, seed=5)
    np.testing.assert_array_equal(fresh(*inputs)[1].asnumpy(),
                                  RCNNTargetSampler(64, hard_config=config,
                                                    seed=5).resized(96)(*inputs)[1].asnumpy())
    with pytest.raises(InputError) as info:
        a.resized(8)
    assert info.value.param == 'num_sample'


def test_generator_state_saved_and_restored_continues_the_stream():
    """What this proves: a checkpoint's sampler state makes a resumed run draw what the
    uninterrupted one draws (reseeding from the seed would repeat the first epoch's draws)."""
    import json
    inputs = block_inputs()
    running = RCNNTargetSampler(64, seed=5)
    running(*inputs)
    state = json.loads(json.dumps(running.get_rng_state()))  # as stored in the JSON sidecar
    expected = running(*inputs)[0].asnumpy()  # the sampled RoIs
    resumed = RCNNTargetSampler(64, seed=5)
    restarted = resumed(*inputs)[0].asnumpy()
    resumed.set_rng_state(state)
    np.testing.assert_array_equal(resumed(*inputs)[0].asnumpy(), expected)
    assert not np.array_equal(restarted, expected)
    for bad in (None, [], {'bit_generator': 'MT19937'}, {'bit_generator': 'PCG64'},
                dict(state, state={'state': 'x', 'inc': 1}),
                dict(state, state={'state': 2 ** 200, 'inc': 1})):
        with pytest.raises(InputError, match='not a state of the RCNN sampler') as info:
            resumed.set_rng_state(bad)
        assert info.value.param == 'rng_state'


def test_resized_keeps_a_cap_that_rounds_to_zero():
    sampler = RCNNTargetSampler(1, pos_ratio=0.25, seed=0)  # round(0.25) = 0 positives
    assert sampler.max_pos == 0 and sampler.resized(4).max_pos == 0


def test_network_rcnn_samples_keep_seed_and_config(make_tiny_net):
    net = make_tiny_net('tiny', hard_policy='positive')
    net.sampler.reseed(3)
    net.set_rcnn_samples(128)
    assert net.sampler.seed == 3 and net.hard_config == HardConfig(policy='positive')
    assert net.sampler.num_sample == 128 and net.sampler.max_pos == 16


def test_hard_config_object_equals_the_five_keywords():
    config = HardConfig(policy='positive', overlap='iou')
    inputs = block_inputs(6)
    by_object = RCNNTargetSampler(32, hard_config=config, seed=1)
    by_keywords = RCNNTargetSampler(32, hard_policy='positive', hard_overlap='iou', seed=1)
    assert by_object.hard_config is config and by_keywords.hard_config == config
    for x, y in zip(by_object(*inputs), by_keywords(*inputs)):
        np.testing.assert_array_equal(x.asnumpy(), y.asnumpy())
    with pytest.raises(TypeError, match='not both'):
        RCNNTargetSampler(hard_config=config, hard_policy='drop')
    with pytest.raises(TypeError, match='unknown hard options'):
        RCNNTargetSampler(hard_polcy='drop')


@pytest.mark.parametrize('policy', ['ignore', 'positive', 'drop'])
def test_hybridized_block_carries_the_whole_config(policy):
    # The config crosses the custom-op boundary as a string; the block must sample exactly as
    # sample_rois does with that config.
    config = HardConfig(policy=policy, overlap='iou_or_iof', thresh=0.3, cover_thresh=0.8)
    rng, rois, gt, hard = scene(8, 5)
    sampler = RCNNTargetSampler(48, hard_config=config, seed=4)
    sampler.hybridize(static_alloc=True)
    got = sampler(mx.nd.array(rois[None]), mx.nd.ones((1, len(rois), 1)),
                  mx.nd.array(np.concatenate([gt, hard[:, None]], axis=1)[None]))
    expected = sample_rois(rois, np.ones(len(rois)), gt, hard, 48, 12, 0.5, config,
                           rng=np.random.default_rng(4))
    for x, y in zip(got, expected):
        np.testing.assert_allclose(x.asnumpy()[0], y, atol=1e-6)


@pytest.mark.parametrize('kwargs, param', [
    (dict(num_sample=0), 'num_sample'),
    (dict(num_sample=12.5), 'num_sample'),
    (dict(pos_iou_thresh=0), 'pos_iou_thresh'),
    (dict(pos_iou_thresh=1.5), 'pos_iou_thresh'),
    (dict(pos_ratio=0), 'pos_ratio'),
    (dict(pos_ratio=1.1), 'pos_ratio'),
    (dict(hard_thresh=-1), 'hard_thresh'),
])
def test_options_are_validated_at_construction(kwargs, param):
    with pytest.raises(InputError) as info:
        RCNNTargetSampler(**kwargs)
    assert info.value.param == param


def test_no_valid_proposals():
    rng, rois, gt, hard = scene(9, 4, num_pad=0)
    hard[:] = 0
    invalid = -np.ones((1, len(rois), 1))
    sampler = RCNNTargetSampler(32, seed=0)
    out_rois, samples, matches = (x.asnumpy()[0] for x in sampler(
        mx.nd.array(rois[None]), mx.nd.array(invalid), mx.nd.array(gt[None]),
        mx.nd.array(hard[None, :, None])))
    assert out_rois.shape == (32, 4) and samples.shape == (32,)
    # Only the appended GT boxes can be sampled: each is its own foreground RoI.
    assert (samples == POSITIVE).sum() == 4 and (samples == NEGATIVE).sum() == 0
    np.testing.assert_array_equal(np.sort(matches[samples == POSITIVE]), [0, 1, 2, 3])
    # With only hard GT under ignore nothing at all can be sampled.
    _, samples, _ = sample_rois(rois, invalid, gt, np.ones(4), config=HardConfig(), rng=0,
                                **SAMPLE)
    assert (samples == IGNORE).all()


def test_no_proposals_and_no_gt_at_all():
    out, samples, matches = sample_rois(np.zeros((0, 4)), np.zeros(0), np.zeros((0, 4)),
                                        np.zeros(0), config=HardConfig(), rng=0, **SAMPLE)
    assert out.shape == (64, 4) and not out.any()
    assert (samples == IGNORE).all() and (matches == 0).all()


@pytest.mark.parametrize('kwargs, param', [
    (dict(gt_hard=np.zeros(5)), 'gt_hard'),
    (dict(scores=np.ones(3)), 'scores'),
    (dict(gt_boxes=np.zeros((4, 5))), 'gt_boxes'),
    (dict(rois=np.zeros((10, 5))), 'rois'),
])
def test_sample_rois_checks_shapes(kwargs, param):
    _, rois, gt, hard = scene(2, 2)
    call = dict(rois=rois, scores=np.ones(len(rois)), gt_boxes=gt, gt_hard=hard,
                config=HardConfig(), rng=0, **SAMPLE)
    call.update(kwargs)
    with pytest.raises(InputError) as info:
        sample_rois(**call)
    assert info.value.param == param


def test_samples_use_the_named_codes():
    rng, rois, gt, hard = scene(3, 3)
    _, samples, _ = sample_rois(rois, np.ones(len(rois)), gt, hard, config=HardConfig(), rng=rng,
                                **SAMPLE)
    assert set(np.unique(samples)) <= {POSITIVE, NEGATIVE, IGNORE}
    assert (samples == POSITIVE).sum() > 0 and (samples == NEGATIVE).sum() > 0
