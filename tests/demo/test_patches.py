"""The pretraining windows: deterministic, labelled by what their pixels show, train identities
and allowed backgrounds only."""
import cv2
import numpy as np
import pytest

from gluoncv_hard.demo import patches, sources
from gluoncv_hard.errors import InputError

N_WINDOWS = 90


@pytest.fixture(scope='module')
def rendered():
    windows = patches.PatchWindows(seed=3)
    return windows, [windows.render(i) for i in range(N_WINDOWS)]


def _correlation(a, b):
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum() + 1e-9))


def _match(gray, crop, rect):
    """Correlation of the window's pixels under ``rect`` with an LFW crop (either flip), over
    the middle of the patch, where the feathered mask is opaque."""
    x, y, w, h = rect
    region = gray[y:y + h, x:x + w]
    middle = (slice(int(h * 0.2), int(h * 0.8)), slice(int(w * 0.2), int(w * 0.8)))
    resized = cv2.resize(crop, (w, h), interpolation=cv2.INTER_CUBIC)
    return max(_correlation(region[middle], resized[middle]),
               _correlation(region[middle], resized[:, ::-1][middle]))


def test_a_window_depends_only_on_seed_and_index(rendered):
    windows, first = rendered
    again = patches.PatchWindows(seed=3)
    for index in (0, 7, 41):
        image, label, record = again.render(index)
        np.testing.assert_array_equal(image, first[index][0])
        assert (label, record) == first[index][1:]
    assert not np.array_equal(patches.PatchWindows(seed=4).render(0)[0], first[0][0])
    assert not np.array_equal(first[1][0], first[0][0])


def test_windows_are_rgb_uint8_of_every_class(rendered):
    windows, items = rendered
    labels = [label for _, label, _ in items]
    assert set(labels) == {patches.BACKGROUND, patches.FACE, patches.NONFACE}
    assert min(np.bincount(labels)) >= N_WINDOWS // 6
    for image, label, record in items:
        assert image.shape == (patches.WINDOW_SIZE, patches.WINDOW_SIZE, 3)
        assert image.dtype == np.uint8
        assert record['class'] == patches.CLASS_NAMES[label]
        assert (record['patch'] is None) == (label == patches.BACKGROUND)


def test_the_label_patch_is_in_the_window_at_the_asked_size(rendered):
    windows, items = rendered
    size = windows.size
    low, high = patches.LABEL_SIDE_FRACTION
    for _, label, record in items:
        if label == patches.BACKGROUND:
            continue
        x, y, w, h = record['patch']['rect']
        assert 0 <= x and 0 <= y and x + w <= size and y + h <= size
        assert low * size - 1 <= max(w, h) <= high * size + 1
        pool = windows.pool.faces if label == patches.FACE else windows.pool.nonfaces
        assert record['patch']['lfw_index'] in pool


def test_face_windows_show_the_face_their_record_names(rendered):
    # An off-by-one rectangle or a wrong index would match its own crop worse than others'.
    windows, items = rendered
    lfw = sources.load_lfw_patches()
    checked = 0
    for image, label, record in items:
        if label != patches.FACE:
            continue
        gray = image.astype(np.float32).mean(axis=2)
        rect, own = record['patch']['rect'], record['patch']['lfw_index']
        score = _match(gray, lfw[own], rect)
        assert score > 0.9
        assert score > max(_match(gray, lfw[other], rect)
                           for other in windows.pool.faces if other != own)
        checked += 1
    assert checked >= 10


def test_context_patches_cover_little_of_the_window(rendered):
    windows, items = rendered
    size = windows.size
    context = [patch for _, _, record in items for patch in record['context']]
    assert len(context) >= N_WINDOWS // 2
    for patch in context:
        x, y, w, h = patch['rect']
        inside = max(0, min(x + w, size) - max(x, 0)) * max(0, min(y + h, size) - max(y, 0))
        assert 0 < inside <= patches.CONTEXT_MAX_OVERLAP * min(w * h, size * size)
        assert patch['lfw_index'] in windows.pool.faces + windows.pool.nonfaces
    assert {p['style'] for p in context} - {'normal'}, 'hard styles appear in the context'


def test_only_train_identities_and_allowed_backgrounds_are_used(rendered):
    windows, items = rendered
    used = {record['background'] for _, _, record in items}
    assert used and not used & set(sources.MINING_HELDOUT_BACKGROUNDS)
    assert windows.heldout_backgrounds == tuple(sorted(sources.MINING_HELDOUT_BACKGROUNDS))
    test_pool = sources.PATCH_POOLS['test']
    indices = {p['lfw_index'] for _, _, record in items
               for p in ([record['patch']] if record['patch'] else []) + record['context']}
    assert not indices & set(test_pool.faces + test_pool.nonfaces)
    everything = patches.PatchWindows(seed=3, heldout_backgrounds=())
    assert everything.heldout_backgrounds == ()
    assert set(everything.backgrounds) == set(sources.BACKGROUND_NAMES)


def test_mining_backgrounds_leave_textures_and_photos_for_the_scenes():
    kept = set(sources.BACKGROUND_NAMES) - set(sources.MINING_HELDOUT_BACKGROUNDS)
    assert 3 <= len(sources.MINING_HELDOUT_BACKGROUNDS) <= 4
    assert kept & {'brick', 'grass', 'gravel'} and kept & {'coffee', 'rocket', 'motorcycle'}


@pytest.mark.parametrize('heldout, message', [
    (['grass', 'lena'], 'unknown background'),
    (list(sources.BACKGROUND_NAMES), 'leaves none'),
])
def test_bad_heldout_backgrounds_are_refused(heldout, message):
    with pytest.raises(InputError, match=message) as info:
        patches.PatchWindows(seed=0, heldout_backgrounds=heldout)
    assert info.value.param == 'heldout_backgrounds'


@pytest.mark.parametrize('kwargs, param', [({'seed': -1}, 'seed'), ({'seed': 1.5}, 'seed'),
                                           ({'seed': 0, 'size': 8}, 'window_size')])
def test_bad_settings_are_refused(kwargs, param):
    with pytest.raises(InputError) as info:
        patches.PatchWindows(**kwargs)
    assert info.value.param == param
