"""Drawing primitives: solid vs dashed outlines, captions, legends, contact sheets, PNG output."""
import os

import cv2
import numpy as np
import pytest

from gluoncv_hard.vis import demo_scenes
from gluoncv_hard.vis import draw as visualize

GREY = 128


def blank(height=60, width=80):
    return np.full((height, width, 3), GREY, np.uint8)


def is_colour(pixels, colour):
    return np.all(pixels == np.array(colour, np.uint8), axis=-1)


def test_solid_outline_is_continuous_and_the_input_is_not_modified():
    image = blank()
    out = visualize.draw_boxes(image, [[10, 20, 50, 40]], visualize.NORMAL_GT)
    assert (image == GREY).all()
    for edge in (out[20, 10:51], out[40, 10:51], out[20:41, 10], out[20:41, 50]):
        assert is_colour(edge, visualize.NORMAL_GT).all()
    assert (out[25:36, 15:46] == GREY).all()  # inside untouched


def test_dashed_outline_has_gaps_but_every_corner():
    out = visualize.draw_boxes(blank(), [[10, 20, 50, 40]], visualize.HARD_GT, dashed=True)
    for edge in (out[20, 10:51], out[40, 10:51], out[20:41, 10], out[20:41, 50]):
        on = is_colour(edge, visualize.HARD_GT)
        assert 0.4 < on.mean() < 0.9
        assert (edge[~on] == GREY).all()
    for y, x in ((20, 10), (20, 50), (40, 50), (40, 10)):
        assert is_colour(out[y, x], visualize.HARD_GT)
    solid = visualize.draw_boxes(blank(), [[10, 20, 50, 40]], visualize.HARD_GT)
    assert (is_colour(out, visualize.HARD_GT) <= is_colour(solid, visualize.HARD_GT)).all()


def test_thickness_widens_the_outline():
    thin = visualize.draw_boxes(blank(), [[10, 20, 50, 40]], visualize.POSITIVE, thickness=1)
    thick = visualize.draw_boxes(blank(), [[10, 20, 50, 40]], visualize.POSITIVE, thickness=3)
    assert is_colour(thick, visualize.POSITIVE).sum() > 2 * is_colour(thin,
                                                                      visualize.POSITIVE).sum()


def test_caption_sits_above_the_box_on_the_box_colour_or_below_at_the_top():
    out = visualize.draw_boxes(blank(100, 120), [[30, 50, 90, 90]], visualize.DETECTION,
                               texts=[visualize.box_caption('cat', 0.875)])
    above = out[30:50, 30:90]
    assert is_colour(above, visualize.DETECTION).mean() > 0.3
    assert (~is_colour(above, visualize.DETECTION) & (above != GREY).any(-1)).any()  # glyphs
    assert visualize.box_caption('cat', 0.875) == 'cat 0.88'
    assert visualize.box_caption(score=0.5) == '0.50' and visualize.box_caption() == ''
    top = visualize.draw_boxes(blank(100, 120), [[30, 0, 90, 40]], visualize.DETECTION,
                               texts=['x'])
    assert is_colour(top[41:55, 30:40], visualize.DETECTION).any()


def test_draw_label_draws_normal_solid_green_and_hard_dashed_red():
    label = np.array([[5, 5, 35, 25, 0, 0], [40, 30, 75, 55, 1, 1]], np.float32)
    out = visualize.draw_label(blank(), label, class_names=['cat', 'dog'], captions=False)
    assert is_colour(out[25, 5:36], visualize.NORMAL_GT).all()
    bottom = is_colour(out[55, 40:76], visualize.HARD_GT)
    assert bottom.any() and not bottom.all()
    # A 5-column label means nothing is hard.
    out5 = visualize.draw_label(blank(), label[:, :5], captions=False)
    assert is_colour(out5[55, 40:76], visualize.NORMAL_GT).all()


def test_bad_inputs_are_rejected():
    with pytest.raises(ValueError):
        visualize.draw_boxes(np.zeros((10, 10), np.uint8), [[1, 1, 5, 5]], visualize.MISS)
    with pytest.raises(ValueError):
        visualize.draw_boxes(blank(), [[1, 1, 5, 5]], visualize.MISS, texts=['a', 'b'])
    assert (visualize.draw_boxes(blank(), np.zeros((0, 4)), visualize.MISS) == GREY).all()


def test_palette_colours_are_distinct():
    names = ['NORMAL_GT', 'HARD_GT', 'POSITIVE', 'NEGATIVE', 'IGNORED', 'DETECTION',
             'FALSE_ALARM', 'MISS', 'UNLABELLED']
    assert len({getattr(visualize, n) for n in names}) == len(names)
    assert visualize.to_bgr((1, 2, 3)) == (3, 2, 1)


def test_contact_sheet_layout():
    images = [np.full((20 + 5 * i, 30 + 10 * i, 3), 10 * i, np.uint8) for i in range(5)]
    sheet = visualize.contact_sheet(images, columns=2, pad=4)
    cell_h, cell_w = 40 + 4, 70 + 4
    assert sheet.shape == (3 * cell_h, 2 * cell_w, 3)
    for i, image in enumerate(images):
        r, c = divmod(i, 2)
        tile = sheet[r * cell_h:r * cell_h + image.shape[0],
                     c * cell_w:c * cell_w + image.shape[1]]
        assert (tile == image).all()
    # The empty cell of the last row and the padding are white.
    assert (sheet[2 * cell_h:, cell_w:] == 255).all()
    assert visualize.contact_sheet(images[:1], columns=3, pad=0).shape == (20, 90, 3)
    with pytest.raises(ValueError):
        visualize.contact_sheet([])


def test_demo_scenes_use_the_shared_contact_sheet():
    assert demo_scenes.contact_sheet is visualize.contact_sheet


def test_text_panel_wraps_long_lines_and_draws_swatches():
    one = visualize.text_panel(['short'], 200)
    wrapped = visualize.text_panel(['a long line of words ' * 4], 200)
    assert wrapped.shape[1] == 200 and wrapped.shape[0] > 2 * one.shape[0] - 8
    legend = visualize.legend_panel([('hard GT', visualize.HARD_GT, True),
                                     ('note', None, False)], 200)
    assert is_colour(legend, visualize.HARD_GT).any()
    stacked = visualize.stack_vertical([one, legend], pad=3)
    assert stacked.shape == (one.shape[0] + legend.shape[0] + 3, 200, 3)


def test_save_png_round_trip_and_no_temporary_left(tmp_path):
    image = np.random.default_rng(0).integers(0, 255, (17, 23, 3)).astype(np.uint8)
    path = str(tmp_path / 'x.png')
    visualize.save_png(path, image)
    back = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    assert (cv2.cvtColor(back, cv2.COLOR_BGR2RGB) == image).all()
    assert os.listdir(str(tmp_path)) == ['x.png']
    with pytest.raises(ValueError):
        visualize.save_png(str(tmp_path / 'y.png'), image.astype(np.float32))
    assert os.listdir(str(tmp_path)) == ['x.png']


def test_save_png_writes_the_bytes_of_encode_png(tmp_path):
    image = np.random.default_rng(1).integers(0, 255, (9, 31, 3)).astype(np.uint8)
    png = visualize.encode_png(image)
    assert png[:8] == b'\x89PNG\r\n\x1a\n'
    decoded = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    assert (cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB) == image).all()
    path = str(tmp_path / 'x.png')
    visualize.save_png(path, image)
    with open(path, 'rb') as f:
        assert f.read() == png
    for bad in (image[:, :, 0], image.astype(np.float32), np.zeros((4, 4, 4), np.uint8)):
        with pytest.raises(ValueError, match='a PNG needs an'):
            visualize.encode_png(bad)
