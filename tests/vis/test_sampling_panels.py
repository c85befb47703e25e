"""Sampling pictures: which candidates are drawn, panel sizes, titles and printed counts."""
import numpy as np
from sampling_data import LABEL, NET_HEIGHT, NET_WIDTH, save_tiny_params

from gluoncv_hard import schema
from gluoncv_hard.core.matching import HardConfig, near_hard_mask
from gluoncv_hard.vis import draw as visualize
from gluoncv_hard.vis import sampling_panels as sp
from gluoncv_hard.vis.sampling_inputs import load_network
from gluoncv_hard.vis.sampling_views import anchor_view, roi_view

COMPARE_PAD = 8


def test_drawn_negatives_include_every_negative_over_a_hard_box(image, net):
    for policy in ('ignore', 'drop'):
        view = anchor_view(image, LABEL, net, HardConfig(policy), seed=1)
        drawn = sp.anchors_to_draw(view, max_negatives=5, seed=1)
        hard = view.label[view.label[:, schema.HARD] > 0.5, schema.BOX]
        near = near_hard_mask(view.anchors, hard, HardConfig())
        assert view.negative[drawn['negative']].all()
        assert set(np.flatnonzero(view.negative & near)) <= set(drawn['negative'])
        assert len(drawn['negative']) == 5 + drawn['negative_over_hard']
        drawn_near = near[drawn['negative']].sum()
        assert drawn_near == drawn['negative_over_hard']
        assert (drawn_near == 0) == (policy == 'ignore')
        assert set(drawn['ignored_near_hard']) == set(np.flatnonzero(view.ignored_near_hard))


def test_policy_titles():
    assert sp.policy_title(HardConfig()) == 'hard_policy=ignore (iof > 0.5, normal_wins)'
    assert sp.policy_title(HardConfig(overlap='iou_or_iof', thresh=0.3)) == (
        'hard_policy=ignore (iou_or_iof > 0.3 or cover > 0.95, normal_wins)')
    assert sp.policy_title(HardConfig('drop')) == 'hard_policy=drop (hard boxes removed)'


def test_rpn_panel_draws_ignored_anchors_and_counts_them(image, net):
    view = anchor_view(image, LABEL, net, HardConfig())
    panel = sp.render_view(view)
    assert panel.shape[1] == NET_WIDTH and panel.shape[0] > NET_HEIGHT
    assert (panel == visualize.IGNORED).all(axis=2).sum() > 100
    lines = sp.summary_lines(view)
    assert lines[0] == sp.policy_title(view.config)
    assert '{} ignored near a hard box'.format(view.counts()['ignored_near_hard']) in lines[1]
    assert lines[2] == '  RCNN RoIs: not computed (needs --params)'


def test_draw_sampling_puts_one_panel_per_config_side_by_side(image, net):
    configs = [HardConfig(policy) for policy in sp.COMPARED_POLICIES]
    drawn = sp.draw_sampling(image, LABEL, net, configs, max_negatives=None)
    assert drawn.picture.shape[1] == 3 * (NET_WIDTH + COMPARE_PAD)
    assert [v.config for v in drawn.views] == configs and drawn.rois == [None] * 3
    assert len(drawn.lines) == 3 * 3
    single = sp.draw_sampling(image, LABEL, net, configs[2:])
    np.testing.assert_array_equal(single.picture, sp.render_view(single.views[0]))
    panels = [drawn.picture[:, i * (NET_WIDTH + COMPARE_PAD):][:, :NET_WIDTH] for i in range(3)]
    assert not (panels[1] == panels[2]).all()


def test_rcnn_panel_goes_below_the_rpn_panel(image, tmp_path):
    net = load_network('tiny', ['face'], save_tiny_params(tmp_path / 'tiny.params'))
    view = anchor_view(image, LABEL, net, HardConfig())
    rois = roi_view(net, view)
    panel = sp.render_view(view, rois, ['face'])
    assert panel.shape[1] == NET_WIDTH and panel.shape[0] > 2 * NET_HEIGHT
    assert 'proposals ignored near a hard box' in sp.summary_lines(view, rois)[2]
