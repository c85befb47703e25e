import mxnet as mx
import numpy as np
from conftest import random_boxes

from gluoncv_hard.core.overlaps import pairwise_cover, pairwise_iof, pairwise_iou


def test_iou_equals_mxnet_box_iou():
    rng = np.random.default_rng(0)
    a, b = random_boxes(rng, 200, 300, 200), random_boxes(rng, 7, 300, 200)
    expected = mx.nd.contrib.box_iou(mx.nd.array(a), mx.nd.array(b), format='corner').asnumpy()
    np.testing.assert_allclose(pairwise_iou(a, b), expected, atol=1e-6)


def test_hand_computed_values():
    a = np.array([[0, 0, 10, 10]], np.float32)
    b = np.array([[5, 0, 15, 10], [0, 0, 2, 2], [20, 20, 30, 30]], np.float32)
    np.testing.assert_allclose(pairwise_iou(a, b), [[50 / 150, 4 / 100, 0]])
    np.testing.assert_allclose(pairwise_iof(a, b), [[50 / 100, 4 / 100, 0]])
    np.testing.assert_allclose(pairwise_cover(a, b), [[50 / 100, 1, 0]])


def test_empty_and_degenerate_inputs():
    a = np.array([[0, 0, 0, 10]], np.float32)  # zero area
    assert pairwise_iou(a, np.zeros((0, 4))).shape == (1, 0)
    assert pairwise_iou(np.zeros((0, 4)), a).shape == (0, 1)
    assert pairwise_iof(a, a)[0, 0] == 0 and pairwise_cover(a, a)[0, 0] == 0
