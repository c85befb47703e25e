"""FPN RoI pooling: each RoI's features come from its own level only, whatever memory held."""
import mxnet as mx
import numpy as np
from mxnet import autograd

import gluoncv_hard


def test_each_roi_is_pooled_from_its_level_and_nothing_else():
    """What this proves: the box features of an FPN network are deterministic and correct. Stock
    GluonCV sums, over the levels, ROIAlign outputs of RoIs masked to batch index -1, whose rows
    MXNet 1.9's CPU ROIAlign leaves unwritten (uninitialized memory: random, up to ~1e30) and
    which corrupt the rows of valid RoIs pooled in the same call (this test fails on stock)."""
    net = gluoncv_hard.get_model('tiny_fpn', classes=['face'])
    net.initialize()
    x = mx.nd.random.uniform(shape=(1, 3, 512, 640))
    net(x)
    features = net.features(x)
    rng = np.random.default_rng(0)
    corners = rng.uniform(0, 100, (64, 2))
    sizes = rng.uniform(8, 600, (64, 2))  # levels 3, 4 and 5 get some
    rois = np.hstack([np.zeros((64, 1)), corners, corners + sizes]).astype(np.float32)
    # The level rule of FPN (Lin et al.), as GluonCV writes it: 4 + log2(sqrt(area) / 224).
    area = (rois[:, 3] - rois[:, 1] + 1) * (rois[:, 4] - rois[:, 2] + 1)
    level = np.clip(np.floor(4 + np.log2(np.sqrt(area) / 224 + 1e-6)), 3, 5).astype(int)
    assert set(level) == {3, 4, 5}
    expected = np.stack([
        mx.nd.contrib.ROIAlign(features[lv - 3], mx.nd.array(roi[None]), net._roi_size,
                               1. / net._strides[lv - 3], sample_ratio=2)[0].asnumpy()
        for roi, lv in zip(rois, level)])
    for train in (False, True, True):
        # Fill the memory pool with large values first: they must not leak into the result.
        junk = mx.nd.full((64, 64, 7, 7), 1e30)
        junk.wait_to_read()
        del junk
        with autograd.train_mode() if train else autograd.predict_mode():
            pooled = net._pyramid_roi_feats(mx.nd, features, mx.nd.array(rois), net._roi_size,
                                            net._strides)
        np.testing.assert_allclose(pooled.asnumpy(), expected, rtol=1e-5, atol=1e-6)
