"""Properties of the scene-composition helpers (mask, placement, styles)."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gluoncv_hard.demo import render


@given(st.integers(min(render.TINY_SIZE), 120), st.integers(min(render.TINY_SIZE), 120))
@settings(max_examples=60, deadline=None)
def test_feather_alpha_is_a_soft_symmetric_mask(height, width):
    alpha = render.feather_alpha(height, width)
    assert alpha.shape == (height, width) and alpha.dtype == np.float32
    assert alpha.min() >= 0.0 and alpha.max() <= 1.0
    np.testing.assert_allclose(alpha, alpha[::-1, :], atol=1e-6)
    np.testing.assert_allclose(alpha, alpha[:, ::-1], atol=1e-6)
    # No hard edge: the border is faded, the corners more than the edge middles.
    assert alpha[0].max() < 0.5 and alpha[:, 0].max() < 0.5
    assert alpha[0, 0] <= alpha[0, width // 2] + 1e-6
    assert alpha[height // 2, width // 2] == 1.0


@given(st.integers(0, 2 ** 32 - 1), st.floats(0.2, 0.45))
@settings(max_examples=60, deadline=None)
def test_truncated_patches_cross_exactly_one_border_by_the_asked_fraction(seed, visible):
    rng = np.random.default_rng(seed)
    style = {'width': 40, 'height': 44, 'visible': visible}
    rect = render.place_patch(rng, style, 320, 240, occupied=[])
    x0, y0, w, h = rect
    xmin, ymin, xmax, ymax = render._visible_rect(rect, 320, 240)
    shown = (xmax - xmin + 1) * (ymax - ymin + 1) / float(w * h)
    assert abs(shown - visible) <= 1.0 / 40 + 1e-9
    crossed = [x0 < 0, y0 < 0, x0 + w > 320, y0 + h > 240]
    assert sum(crossed) == 1


def test_placement_avoids_occupied_boxes_and_gives_up_when_full():
    rng = np.random.default_rng(0)
    style = {'width': 30, 'height': 30, 'visible': 1.0}
    occupied = []
    for _ in range(20):
        rect = render.place_patch(rng, style, 200, 150, occupied)
        if rect is None:
            break
        box = render._visible_rect(rect, 200, 150)
        assert not render._overlaps(box, occupied)
        occupied.append(box)
    assert len(occupied) >= 6
    full = [(0, 0, 199, 149)]
    assert render.place_patch(rng, style, 200, 150, full) is None


def test_sample_style_follows_the_hard_rules():
    rng = np.random.default_rng(1)
    styles = [render.sample_style(rng, hard_fraction=0.5) for _ in range(2000)]
    by = {}
    for s in styles:
        by.setdefault(s['style'], []).append(s)
    assert set(by) == set(render.STYLES)
    assert 0.45 < 1 - len(by['normal']) / 2000.0 < 0.55
    assert all(max(s['width'], s['height']) <= 14 for s in by['tiny'])
    assert all(s['visible'] < 0.5 for s in by['truncated'])
    assert all(s['mean'] is None and s['gain'] <= 0.15 for s in by['low_contrast'])
    assert all(s['blur_sigma'] > 1.0 for s in by['blur'])
    assert all(s['blur_sigma'] == 0 and s['gain'] >= 0.7 for s in by['normal'])
    assert all(min(s['width'], s['height']) >= 14 for s in by['normal'])
