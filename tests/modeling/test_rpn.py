"""The RPN pads its proposals on inputs with few anchors and is GluonCV's RPN otherwise."""
import mxnet as mx
import numpy as np
import pytest
from gluoncv.model_zoo.rcnn.rpn.rpn import RPN as StockRPN
from mxnet import autograd

import gluoncv_hard
from gluoncv_hard.modeling.rpn import RPN, pad_proposals


def proposals(net, x, train):
    """``(scores (B, P, 1), boxes (B, P, 4), number of anchors)`` of ``net.rpn`` for ``x``."""
    feat = net.features(x)
    feat = feat if isinstance(feat, (list, tuple)) else [feat]
    with autograd.train_mode():
        num_anchors = net.rpn(mx.nd.zeros_like(x), *feat)[2].shape[1]
    if train:
        with autograd.train_mode():
            out = net.rpn(mx.nd.zeros_like(x), *feat)
    else:
        out = net.rpn(mx.nd.zeros_like(x), *feat)
    return out[0].asnumpy(), out[1].asnumpy(), num_anchors


@pytest.fixture(params=['tiny', 'tiny_fpn'])
def net(request):
    # 2000 / 1000 proposals kept, as GluonCV's ResNet networks: a 48x48 input has fewer anchors
    # (tiny: 6 x 6 x 7 = 252; tiny_fpn: (36 + 9 + 4) x 3 = 147).
    net = gluoncv_hard.get_model(request.param, classes=['face'], rpn_train_pre_nms=12000,
                                 rpn_train_post_nms=2000, rpn_test_pre_nms=6000,
                                 rpn_test_post_nms=1000)
    net.initialize()
    net(mx.nd.zeros((1, 3, 48, 48)))
    return net


@pytest.mark.parametrize('train', [False, True])
def test_few_anchors_give_every_proposal_then_empty_rows(net, train):
    assert type(net.rpn) is RPN
    x = mx.nd.random.uniform(shape=(1, 3, 48, 48))
    scores, boxes, num_anchors = proposals(net, x, train)
    keep = 2000 if train else 1000
    assert num_anchors in (252, 147)
    assert scores.shape == (1, keep, 1) and boxes.shape == (1, keep, 4)
    valid = scores[0, :, 0] >= 0
    assert 0 < valid.sum() <= num_anchors
    # The valid proposals come first; the rest are the -1 rows NMS gives suppressed proposals.
    assert valid[:valid.sum()].all() and (boxes[0, ~valid] == -1).all()
    assert (scores[0, ~valid] == -1).all()
    net.rpn.__class__ = StockRPN
    with pytest.raises(mx.base.MXNetError, match='Invalid end'):
        proposals(net, x, train)


@pytest.mark.parametrize('name', ['tiny', 'tiny_fpn'])
@pytest.mark.parametrize('train', [False, True])
def test_enough_anchors_give_gluoncvs_proposals_exactly(name, train):
    net = gluoncv_hard.get_model(name, classes=['face'])  # keeps 256 / 100 proposals
    net.initialize()
    x = mx.nd.random.uniform(shape=(1, 3, 96, 128))
    ours = proposals(net, x, train)
    net.rpn.__class__ = StockRPN
    stock = proposals(net, x, train)
    assert ours[2] > 256 and ours[0].shape[1] == (256 if train else 100)
    for a, b in zip(ours[:2], stock[:2]):
        assert np.array_equal(a, b)


def test_hybridized_networks_predict_on_small_inputs(net):
    net.hybridize()
    ids, scores, boxes = net(mx.nd.random.uniform(shape=(1, 3, 48, 48)))
    assert boxes.shape[-1] == 4 and np.isfinite(boxes.asnumpy()).all()


def test_pad_proposals_is_in_place_and_only_for_gluoncv_rpns(net):
    assert pad_proposals(net) is net and type(net.rpn) is RPN

    class NotFasterRCNN:
        rpn = mx.gluon.nn.HybridSequential()

    with pytest.raises(TypeError, match='expected a GluonCV RPN, got HybridSequential'):
        pad_proposals(NotFasterRCNN())
