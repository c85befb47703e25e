"""Sampling views: the anchors and RoIs are labelled exactly as the training path labels them."""
import numpy as np
import pytest
from sampling_data import HEIGHT, LABEL, NET_HEIGHT, NET_WIDTH, save_tiny_params

from gluoncv_hard import schema
from gluoncv_hard.core.matching import HardConfig, near_hard_mask
from gluoncv_hard.vis import sampling_views as sv
from gluoncv_hard.vis.sampling_inputs import load_network
from gluoncv_hard.vis.sampling_panels import COMPARED_POLICIES


def near_hard(view):
    hard = view.label[view.label[:, schema.HARD] > 0.5, schema.BOX]
    return near_hard_mask(view.anchors, hard, HardConfig())


def test_anchor_targets_are_the_transforms_and_ignore_clears_the_hard_neighbourhood(image, net):
    # Sample every candidate: the comparison then does not depend on the subsampling.
    views = {policy: sv.anchor_view(image, LABEL, net, HardConfig(policy), num_sample=10 ** 6,
                                    pos_ratio=1.0)
             for policy in COMPARED_POLICIES}
    ignore, drop, positive = views['ignore'], views['drop'], views['positive']
    near = near_hard(ignore)
    assert ignore.image.shape == (NET_HEIGHT, NET_WIDTH, 3)
    np.testing.assert_allclose(ignore.label[:, :4], LABEL[:, :4] * NET_HEIGHT / HEIGHT, rtol=1e-2)
    assert len(ignore.anchors) == len(ignore.cls_target)
    assert near.sum() > 10
    # ignore: no negative over the hard box, and they are the ones drawn as ignored.
    assert not ignore.negative[near].any()
    assert ignore.ignored_near_hard.sum() > 0
    assert (ignore.cls_target[ignore.ignored_near_hard] == -1).all()
    assert (ignore.ignored_near_hard <= near).all()
    # drop: the same anchors are trained as background; nothing is ignored because of hardness.
    assert drop.negative[near].sum() > 10
    assert not drop.ignored_near_hard.any()
    # positive: the hard box gets positive anchors like a normal one.
    assert positive.positive[near].any() and not drop.positive[near].any()
    assert not positive.ignored_near_hard.any()


def test_ignored_anchors_follow_the_generator_at_the_image_border(image, net):
    # A normal box at the bottom border inside a hard box: its best anchor crosses the border,
    # so the generator makes the best *valid* anchors positive (normal_wins keeps them). A view
    # that matched every anchor, valid or not, called those trained positives ignored.
    label = np.array([[170, 213, 230, 240, 0, 0], [151, 192, 270, 240, 0, 1]], np.float32)
    view = sv.anchor_view(image, label, net, HardConfig(), num_sample=10 ** 6, pos_ratio=1.0)
    assert view.positive.sum() > 0 and view.ignored_near_hard.sum() > 100
    assert not (view.positive & view.ignored_near_hard).any()
    assert (view.cls_target[view.ignored_near_hard] == -1).all()


def test_subsampling_is_seeded(image, net):
    a = sv.anchor_view(image, LABEL, net, HardConfig(), seed=3)
    b = sv.anchor_view(image, LABEL, net, HardConfig(), seed=3)
    c = sv.anchor_view(image, LABEL, net, HardConfig(), seed=4)
    assert (a.cls_target == b.cls_target).all() and (a.cls_target != c.cls_target).any()
    assert (a.negative.sum(), a.positive.sum()) == (c.negative.sum(), c.positive.sum())


def test_image_without_boxes_has_only_negatives(image, net):
    view = sv.anchor_view(image, schema.empty_label(), net, HardConfig())
    assert view.label.shape == (0, 6) and view.positive.sum() == 0
    assert view.negative.sum() == sv.RPN_DEFAULTS['num_sample']


def test_unknown_rpn_option_is_refused(image, net):
    with pytest.raises(TypeError, match='unknown RPN options'):
        sv.anchor_view(image, LABEL, net, HardConfig(), num_samples=5)


def test_rcnn_stage_never_samples_background_over_the_hard_box(image, tmp_path):
    params = save_tiny_params(tmp_path / 'tiny.params')
    net = load_network('tiny', ['face'], params)
    view = sv.anchor_view(image, LABEL, net, HardConfig())
    rois = sv.roi_view(net, view)
    hard = view.label[1:, :4]
    assert rois.rois.shape == (net.sampler.num_sample, 4)
    assert not (rois.samples[near_hard_mask(rois.rois, hard, HardConfig())] == -1).any()
    assert rois.ignored_near_hard.any()
    assert near_hard_mask(rois.proposals[rois.ignored_near_hard], hard, HardConfig()).all()
    assert (rois.samples == 1).sum() >= 1  # the appended normal GT box at least
    counts = rois.counts()
    assert counts['proposals'] == len(rois.proposals)
    assert counts['foreground'] + counts['background'] <= net.sampler.num_sample
