"""Shared fixtures: small real GluonCV networks and reference implementations."""
import numpy as np
import pytest


def random_boxes(rng, num, width, height, min_size=4, max_size=None):
    """``(num, 4)`` float32 boxes fully inside a ``width x height`` image."""
    max_size = max_size or min(width, height) // 2
    wh = rng.uniform(min_size, max_size, size=(num, 2))
    x1 = rng.uniform(0, width - wh[:, 0])
    y1 = rng.uniform(0, height - wh[:, 1])
    return np.stack([x1, y1, x1 + wh[:, 0], y1 + wh[:, 1]], axis=1).astype(np.float32)


@pytest.fixture(scope='session')
def c4_anchors():
    """Anchors of a ResNet-style C4 Faster R-CNN (stride 16, 15 per cell) for a 320x480 input."""
    from gluoncv.model_zoo.rcnn.rpn.anchor import RPNAnchorGenerator
    gen = RPNAnchorGenerator(stride=16, base_size=16, ratios=(0.5, 1, 2), scales=(2, 4, 8, 16, 32),
                             alloc_size=(64, 64))
    gen.initialize()
    import mxnet as mx
    anchors = gen(mx.nd.zeros((1, 3, 64, 64))).reshape((64, 64, -1, 4)).asnumpy()
    return np.ascontiguousarray(anchors[:20, :30].reshape(-1, 4))


def _tiny_net(name, **kwargs):
    import gluoncv_hard
    net = gluoncv_hard.get_model(name, classes=['face'], **kwargs)
    net.initialize()
    return net


@pytest.fixture(scope='session')
def tiny_c4_net():
    return _tiny_net('tiny')


@pytest.fixture(scope='session')
def tiny_fpn_net():
    return _tiny_net('tiny_fpn')


@pytest.fixture
def make_tiny_net():
    """Factory for a fresh tiny network (``name``, keyword arguments of ``get_model``)."""
    return _tiny_net
