"""The label and loss-target codes, pinned against GluonCV's own encoders."""
import mxnet as mx
import numpy as np
from gluoncv.nn.coder import MultiClassEncoder, SigmoidClassEncoder
from hypothesis import given, settings
from hypothesis import strategies as st

from gluoncv_hard.core import codes
from gluoncv_hard.core.codes import (
    IGNORE,
    NEGATIVE,
    POSITIVE,
    RPN_TARGET_IGNORE,
    RPN_TARGET_NEGATIVE,
    RPN_TARGET_POSITIVE,
    TARGET_BACKGROUND,
    TARGET_IGNORE,
    rpn_targets,
)


def test_codes_are_distinct_within_each_convention():
    assert len({POSITIVE, NEGATIVE, IGNORE}) == 3
    assert len({RPN_TARGET_POSITIVE, RPN_TARGET_NEGATIVE, RPN_TARGET_IGNORE}) == 3
    assert RPN_TARGET_NEGATIVE == TARGET_BACKGROUND and RPN_TARGET_IGNORE == TARGET_IGNORE
    assert RPN_TARGET_POSITIVE > TARGET_BACKGROUND > TARGET_IGNORE


@settings(max_examples=30, deadline=None)
@given(labels=st.lists(st.sampled_from([POSITIVE, NEGATIVE, IGNORE]), max_size=50))
def test_rpn_targets_equal_gluoncv_sigmoid_class_encoder(labels):
    samples = np.array(labels, np.float32)
    got = rpn_targets(samples)
    assert got.dtype == np.float32 and got.shape == samples.shape
    if len(samples):
        expected = SigmoidClassEncoder()(samples)[0]
        np.testing.assert_array_equal(got, expected)


def test_rcnn_targets_of_gluoncv_use_the_shared_codes():
    # GluonCV's RCNN class targets: class id + 1 for POSITIVE samples, background for NEGATIVE,
    # ignored for IGNORE.
    samples = mx.nd.array([[POSITIVE, NEGATIVE, IGNORE]])
    matches = mx.nd.array([[0, 0, 0]])
    gt_label = mx.nd.array([[[2]]])
    target = MultiClassEncoder()(samples, matches, gt_label).asnumpy()[0]
    assert target.tolist() == [2 + 1, TARGET_BACKGROUND, TARGET_IGNORE]


def test_all_names_exported():
    assert set(codes.__all__) >= {'POSITIVE', 'NEGATIVE', 'IGNORE', 'RPN_TARGET_POSITIVE',
                                  'RPN_TARGET_NEGATIVE', 'RPN_TARGET_IGNORE', 'TARGET_IGNORE',
                                  'TARGET_BACKGROUND'}
