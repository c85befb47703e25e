"""RandomCropWithHard: boxes stay inside the crop, hard flags survive, cut boxes become hard."""
import mxnet as mx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gluoncv_hard import FasterRCNNDefaultTrainTransform, schema
from gluoncv_hard.data.augment import RandomCropWithHard, choose_window, crop_label
from gluoncv_hard.errors import InputError


@st.composite
def scenes(draw, max_boxes=6):
    """An image size and a valid (N, 6) label; boxes may stick out of the image."""
    width = draw(st.integers(8, 200))
    height = draw(st.integers(8, 200))
    rows = []
    for _ in range(draw(st.integers(0, max_boxes))):
        x1 = draw(st.floats(-20, width - 1, allow_nan=False))
        y1 = draw(st.floats(-20, height - 1, allow_nan=False))
        w = draw(st.floats(0.5, 120, allow_nan=False))
        h = draw(st.floats(0.5, 120, allow_nan=False))
        rows.append([x1, y1, x1 + w, y1 + h, draw(st.integers(0, 3)), draw(st.integers(0, 1))])
    label = np.array(rows, np.float32).reshape(-1, 6)
    return width, height, schema.validate_label(label)


def _expected(label, window, cut_thresh, min_visible_px):
    """Reference, box by box: (kept row indices, hard flags of kept rows)."""
    x0, y0, w, h = window
    kept, hard = [], []
    for i, (x1, y1, x2, y2, _, was_hard) in enumerate(label.astype(np.float64)):
        cx1, cy1 = max(x1 - x0, 0), max(y1 - y0, 0)
        cx2, cy2 = min(x2 - x0, w), min(y2 - y0, h)
        vw, vh = cx2 - cx1, cy2 - cy1
        if vw <= 0 or vh <= 0 or vw < min_visible_px or vh < min_visible_px:
            continue
        kept.append(i)
        fraction = vw * vh / ((x2 - x1) * (y2 - y1))
        hard.append(bool(was_hard) or fraction < 1 - cut_thresh)
    return kept, hard


@settings(max_examples=200, deadline=None)
@given(scene=scenes(), size=st.integers(1, 250), cut_thresh=st.floats(0, 1),
       min_visible_px=st.sampled_from([0, 1, 2, 5]), object_prob=st.floats(0, 1),
       seed=st.integers(0, 2 ** 16))
def test_crop_properties(scene, size, cut_thresh, min_visible_px, object_prob, seed):
    width, height, label = scene
    img = np.zeros((height, width, 3), np.uint8)
    crop = RandomCropWithHard(size, cut_thresh, object_prob, min_visible_px, rng=seed)
    window = crop.window(width, height, label, rng=np.random.default_rng(seed))
    x0, y0, w, h = window
    assert (w, h) == (min(size, width), min(size, height))
    assert 0 <= x0 <= width - w and 0 <= y0 <= height - h

    out = crop_label(label, window, cut_thresh, min_visible_px)
    assert out.dtype == np.float32 and out.shape[1] == schema.LABEL_WIDTH
    # Inside the window, and every kept box is a valid box.
    assert (out[:, schema.XMIN] >= 0).all() and (out[:, schema.YMIN] >= 0).all()
    assert (out[:, schema.XMAX] <= w).all() and (out[:, schema.YMAX] <= h).all()
    schema.validate_label(out)
    kept, hard = _expected(label, window, cut_thresh, min_visible_px)
    assert len(out) == len(kept)
    np.testing.assert_array_equal(out[:, schema.CLASS_ID], label[kept, schema.CLASS_ID])
    assert (out[:, schema.HARD] == 1).tolist() == hard
    # A hard box stays hard.
    assert (out[label[kept, schema.HARD] == 1, schema.HARD] == 1).all()

    # The callable: image and label agree with its own window.
    cropped, out_label = crop(img, label)
    assert cropped.shape[:2] == (h, w)
    assert (out_label[:, schema.XMAX] <= w).all() and (out_label[:, schema.YMAX] <= h).all()


def test_uncut_box_keeps_its_flag_and_a_cut_box_becomes_hard_at_the_threshold():
    label = np.array([[10, 10, 20, 20, 0, 0],     # inside
                      [10, 10, 20, 20, 1, 1],     # inside, hard
                      [90, 10, 110, 20, 2, 0],    # half visible: 0.5 is not < 0.5
                      [95, 10, 115, 20, 3, 0],    # a quarter visible
                      [150, 10, 160, 20, 4, 0],   # outside
                      [99, 30, 105, 40, 5, 0]],   # 1 px wide after clipping
                     np.float32)
    out = crop_label(label, (0, 0, 100, 100), cut_thresh=0.5, min_visible_px=2)
    assert out[:, schema.CLASS_ID].tolist() == [0, 1, 2, 3]
    assert out[:, schema.HARD].tolist() == [0, 1, 0, 1]
    np.testing.assert_array_equal(out[2, schema.BOX], [90, 10, 100, 20])
    out = crop_label(label, (0, 0, 100, 100), cut_thresh=0.4, min_visible_px=2)
    assert out[:, schema.HARD].tolist() == [0, 1, 1, 1]
    out = crop_label(label, (0, 0, 100, 100), cut_thresh=0.5, min_visible_px=0)
    assert out[:, schema.CLASS_ID].tolist() == [0, 1, 2, 3, 5]


def test_window_coordinates_are_shifted():
    label = np.array([[50, 60, 70, 90, 0, 0]], np.float32)
    out = crop_label(label, (40, 30, 100, 100))
    np.testing.assert_array_equal(out[0], [10, 30, 30, 60, 0, 0])


def test_five_column_and_empty_labels():
    img = np.zeros((100, 120, 3), np.uint8)
    crop = RandomCropWithHard(50, rng=0)
    for _ in range(20):
        _, out = crop(img, np.array([[10, 10, 90, 90, 1]], np.float32))
        assert out.shape[1] == 6 and (out[:, schema.CLASS_ID] == 1).all()
    cropped, out = crop(img, schema.empty_label())
    assert cropped.shape == (50, 50, 3) and out.shape == (0, 6) and out.dtype == np.float32
    _, out = crop(img, np.zeros((0, 5), np.float32))
    assert out.shape == (0, 6)


def test_nothing_left_gives_an_empty_label_the_train_transform_accepts():
    img = mx.nd.array(np.random.default_rng(0).integers(0, 255, (200, 300, 3)), dtype='uint8')
    label = np.array([[0, 0, 20, 20, 0, 0]], np.float32)
    # object_prob=0 and a small box in a corner: most windows miss it.
    crop = RandomCropWithHard(64, object_prob=0, rng=1)
    empties = 0
    for _ in range(10):
        cropped, out = crop(img, label)
        assert isinstance(cropped, mx.nd.NDArray) and cropped.shape == (64, 64, 3)
        if len(out) == 0:
            empties += 1
            img_out, label_out = FasterRCNNDefaultTrainTransform(64, 128)(cropped, out)
            assert label_out.shape == (1, 6)  # the transform's padding row
    assert empties > 0


def test_ndarray_crop_matches_numpy_crop():
    data = np.random.default_rng(0).integers(0, 255, (90, 130, 3)).astype(np.uint8)
    label = np.array([[30, 20, 70, 60, 0, 0]], np.float32)
    a = RandomCropWithHard(40, rng=7)(data, label)
    b = RandomCropWithHard(40, rng=7)(mx.nd.array(data, dtype='uint8'), label)
    np.testing.assert_array_equal(a[0], b[0].asnumpy())
    np.testing.assert_array_equal(a[1], b[1])


def test_object_crops_contain_their_object_centre():
    label = np.array([[300, 200, 340, 240, 0, 0], [10, 10, 30, 30, 0, 1]], np.float32)
    crop = RandomCropWithHard(100, object_prob=1.0, rng=3)
    for _ in range(30):
        x0, y0, w, h = crop.window(640, 480, label)
        # Only the normal box is a centre; it lands in the middle half of the window.
        assert x0 + w / 4 - 1 <= 320 <= x0 + 3 * w / 4 + 1
        assert y0 + h / 4 - 1 <= 220 <= y0 + 3 * h / 4 + 1


def test_small_images_are_kept_whole_on_the_short_axis():
    assert choose_window(50, 300, 100, rng=0)[::2] == (0, 50)
    assert choose_window(50, 30, 100, rng=0) == (0, 0, 50, 30)


def test_seeded_and_global_randomness_are_repeatable():
    img = np.zeros((300, 400, 3), np.uint8)
    label = np.array([[100, 100, 150, 160, 0, 0], [250, 50, 300, 90, 0, 0]], np.float32)

    def windows(crop):
        return [tuple(crop(img, label)[1].ravel()) for _ in range(15)]

    assert windows(RandomCropWithHard(120, rng=11)) == windows(RandomCropWithHard(120, rng=11))
    np.random.seed(5)
    first = windows(RandomCropWithHard(120))
    np.random.seed(5)
    assert windows(RandomCropWithHard(120)) == first
    assert len(set(first)) > 1


@pytest.mark.parametrize('kwargs, param', [
    (dict(size=0), 'size'), (dict(size=1.5), 'size'),
    (dict(size=10, cut_thresh=1.2), 'cut_thresh'),
    (dict(size=10, object_prob=-0.1), 'object_prob'),
    (dict(size=10, min_visible_px=-1), 'min_visible_px')])
def test_bad_arguments_are_rejected(kwargs, param):
    with pytest.raises(InputError) as info:
        RandomCropWithHard(**kwargs)
    assert info.value.param == param


def test_cut_boxes_get_the_schema_hard_flag():
    label = np.array([[80, 10, 140, 50, 0, 0]], np.float32)  # 1/3 of it inside the window
    out = crop_label(label, (0, 0, 100, 100), cut_thresh=0.5)
    assert out[0, schema.HARD] == schema.HARD_FLAG and schema.is_hard(out[:, schema.HARD]).all()
