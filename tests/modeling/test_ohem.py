"""Online hard negative selection and focal loss (gluoncv_hard.ohem, training losses)."""
import mxnet as mx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gluoncv_hard.core.codes import RPN_TARGET_IGNORE, RPN_TARGET_NEGATIVE, RPN_TARGET_POSITIVE
from gluoncv_hard.errors import InputError
from gluoncv_hard.modeling.losses import FasterRCNNLosses
from gluoncv_hard.modeling.ohem import (
    hard_negative_mask,
    hard_negative_mask_np,
    sigmoid_bce_per_sample,
    sigmoid_focal_loss,
    softmax_ce_per_sample,
)


def test_hand_made_loss_vector():
    #            pos   neg   ign   neg   neg   ign   neg
    target = [[1, 0, -1, 0, 0, -1, 0]]
    loss = [[0.1, 0.9, 5.0, 0.2, 0.7, 4.0, 0.3]]
    # 1 positive, ratio 2 -> the 2 highest-loss negatives (0.9 at 1, 0.7 at 4); never the
    # ignored ones, whatever their loss.
    expected = [[True, True, False, False, True, False, False]]
    np.testing.assert_array_equal(hard_negative_mask_np(loss, target, 2, 0), expected)
    got = hard_negative_mask(mx.nd, mx.nd.array(loss), mx.nd.array(target), 2, 0)
    np.testing.assert_array_equal(got.asnumpy().astype(bool), expected)


def test_min_neg_for_images_without_positives():
    target = [[0, 0, 0, 0, -1]]
    loss = [[0.1, 0.4, 0.3, 0.2, 9.0]]
    mask = hard_negative_mask_np(loss, target, 3, 2)
    assert mask.tolist() == [[False, True, True, False, False]]


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10 ** 6), batch=st.integers(1, 3), n=st.integers(1, 60),
       ratio=st.sampled_from([1, 2, 3]), min_neg=st.integers(0, 8))
def test_mxnet_version_matches_numpy_reference(seed, batch, n, ratio, min_neg):
    rng = np.random.default_rng(seed)
    target = rng.choice([-1, 0, 0, 0, 1], size=(batch, n))
    loss = rng.permutation(batch * n).reshape(batch, n) / (batch * n)  # distinct values
    expected = hard_negative_mask_np(loss, target, ratio, min_neg)
    got = hard_negative_mask(mx.nd, mx.nd.array(loss), mx.nd.array(target), ratio, min_neg)
    np.testing.assert_array_equal(got.asnumpy().astype(bool), expected)
    assert not expected[target < 0].any()


def test_per_sample_losses_match_gluon():
    rng = np.random.default_rng(0)
    logit = mx.nd.array(rng.normal(0, 3, (2, 5)))
    target = mx.nd.array(rng.integers(0, 2, (2, 5)))
    gluon_bce = mx.gluon.loss.SigmoidBinaryCrossEntropyLoss()(logit.reshape(-1, 1),
                                                                target.reshape(-1, 1))
    np.testing.assert_allclose(sigmoid_bce_per_sample(mx.nd, logit, target).asnumpy().ravel(),
                               gluon_bce.asnumpy(), rtol=1e-5)
    logits = mx.nd.array(rng.normal(0, 2, (2, 4, 3)))
    labels = mx.nd.array(rng.integers(0, 3, (2, 4)))
    gluon_ce = mx.gluon.loss.SoftmaxCrossEntropyLoss()(logits.reshape(-1, 3), labels.reshape(-1))
    np.testing.assert_allclose(softmax_ce_per_sample(mx.nd, logits, labels).asnumpy().ravel(),
                               gluon_ce.asnumpy(), rtol=1e-5)


def test_focal_loss_down_weights_easy_examples():
    logit = mx.nd.array([[-6.0, 0.0, 6.0]])
    target = mx.nd.array([[0, 0, 1]])
    focal = sigmoid_focal_loss(mx.nd, logit, target).asnumpy()[0]
    bce = sigmoid_bce_per_sample(mx.nd, logit, target).asnumpy()[0]
    # Easy examples (0 and 2) lose far more than the uncertain one (1).
    assert focal[0] / bce[0] < 1e-3 and focal[2] / bce[2] < 1e-3
    assert focal[1] / bce[1] == pytest.approx(0.75 * 0.25)
    # gamma = 0, alpha = 0.5 is half the cross-entropy.
    half = sigmoid_focal_loss(mx.nd, logit, target, gamma=0, alpha=0.5).asnumpy()[0]
    np.testing.assert_allclose(half, bce / 2, rtol=1e-5)


def test_loss_options_are_validated():
    with pytest.raises(InputError, match="choose one of: bce, focal") as info:
        FasterRCNNLosses(rpn_loss='hinge')
    assert info.value.param == 'rpn_loss'
    with pytest.raises(InputError, match='without RPN hard negative mining'):
        FasterRCNNLosses(rpn_loss='focal', rpn_neg_mining='ohem')
    for kwargs, param in ((dict(neg_pos_ratio=0), 'neg_pos_ratio'), (dict(min_neg=-1), 'min_neg'),
                          (dict(rcnn_sampler='x'), 'rcnn_sampler')):
        with pytest.raises(InputError) as info:
            FasterRCNNLosses(**kwargs)
        assert info.value.param == param
    assert FasterRCNNLosses(rpn_neg_mining='ohem').rpn_needs_all_negatives
    assert not FasterRCNNLosses().rpn_needs_all_negatives


@pytest.mark.parametrize('kwargs', [dict(), dict(rpn_loss='focal'), dict(rpn_neg_mining='ohem')])
def test_ignored_anchors_add_nothing_to_the_rpn_loss(kwargs):
    losses = FasterRCNNLosses(min_neg=1, **kwargs)
    target = mx.nd.array([[RPN_TARGET_POSITIVE, RPN_TARGET_NEGATIVE, RPN_TARGET_IGNORE,
                           RPN_TARGET_NEGATIVE]])
    box_t, box_m = mx.nd.zeros((1, 4, 4)), mx.nd.zeros((1, 4, 4))
    score = mx.nd.array([[0.5, -1.0, 3.0, -2.0]])
    changed = mx.nd.array([[0.5, -1.0, -7.0, -2.0]])  # only the ignored anchor's score
    a = losses._rpn(score, box_t, target, box_t, box_m)[0].asnumpy()
    b = losses._rpn(changed, box_t, target, box_t, box_m)[0].asnumpy()
    np.testing.assert_allclose(a, b, rtol=1e-6)
    assert (a > 0).all()
