"""Tests of the demo data generator: determinism, VOC correctness, hard-by-construction rules,
identity split, background choice and the output-directory safety rules.

The checks read the generated files with independent code (``xml.etree``, OpenCV, the raw LFW
array from scikit-image) and use the generator's ``demo_meta.json`` only for what cannot be
recovered from the pixels (which LFW crop was pasted, whether it was mirrored, its hard reason).
"""
import glob
import json
import os
import socket
import xml.etree.ElementTree as ET

import cv2
import numpy as np
import pytest
import skimage.data

from gluoncv_hard.cli import make_demo
from gluoncv_hard.demo import generate, render, sources, staging
from gluoncv_hard.errors import InputError

# Written out here rather than imported, so a wrong constant in the library cannot hide itself.
TRAIN_FACES = set(range(0, 70))
TEST_FACES = set(range(70, 100))
TRAIN_NONFACES = set(range(100, 170))
TEST_NONFACES = set(range(170, 200))
PICTURES_WITH_FACES_OR_ANIMALS = {'astronaut', 'camera', 'chelsea', 'cat', 'coins', 'horse',
                                  'logo'}
HARD_REASONS = {'tiny', 'blur', 'low_contrast', 'truncated'}

SMALL = dict(n_train=60, n_val=30, n_negatives_pool=20, n_negatives_test=10, progress=False)
TINY = dict(n_train=6, n_val=3, n_negatives_pool=3, n_negatives_test=2, progress=False)


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('demo') / 'data')
    summary = generate.generate_demo_dataset(out, seed=3, **SMALL)
    return out, summary


def read_voc(path):
    """``(width, height, depth), [(xmin, ymin, xmax, ymax, difficult, truncated, name)]`` as
    written in the file (1-based)."""
    root = ET.parse(path).getroot()
    size = root.find('size')
    shape = tuple(int(size.find(k).text) for k in ('width', 'height', 'depth'))
    objects = []
    for obj in root.findall('object'):
        box = obj.find('bndbox')
        objects.append(tuple(int(box.find(k).text) for k in ('xmin', 'ymin', 'xmax', 'ymax'))
                       + (int(obj.find('difficult').text), int(obj.find('truncated').text),
                          obj.find('name').text))
    return shape, objects


def all_files(root):
    found = {}
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            path = os.path.join(dirpath, name)
            with open(path, 'rb') as f:
                found[os.path.relpath(path, root)] = f.read()
    return found


def meta_of(out):
    with open(os.path.join(out, generate.META_FILE), encoding='utf-8') as f:
        return json.load(f)


def correlation(a, b):
    a = a - a.mean()
    b = b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


# --- determinism ------------------------------------------------------------------------------

def test_same_seed_gives_identical_bytes_and_other_seed_differs(tmp_path):
    first = generate.generate_demo_dataset(str(tmp_path / 'a'), seed=7, **TINY)
    generate.generate_demo_dataset(str(tmp_path / 'b'), seed=7, **TINY)
    generate.generate_demo_dataset(str(tmp_path / 'c'), seed=8, **TINY)
    a, b, c = (all_files(str(tmp_path / name)) for name in 'abc')
    assert sum(first['images'].values()) == 14
    assert len(a) > 14 and a.keys() == b.keys()
    assert all(a[name] == b[name] for name in a)
    jpegs = [name for name in a if name.endswith('.jpg')]
    assert len(jpegs) == 14 and a.keys() == c.keys()
    assert all(a[name] != c[name] for name in jpegs)


def test_a_scene_does_not_depend_on_the_size_of_other_splits(tmp_path):
    generate.generate_demo_dataset(str(tmp_path / 'a'), seed=1, **TINY)
    generate.generate_demo_dataset(str(tmp_path / 'b'), seed=1, **dict(TINY, n_train=2))
    a, b = all_files(str(tmp_path / 'a')), all_files(str(tmp_path / 'b'))
    assert a['JPEGImages/val_00002.jpg'] == b['JPEGImages/val_00002.jpg']
    assert a['negatives/test/negtest_00001.jpg'] == b['negatives/test/negtest_00001.jpg']


# --- layout and VOC ---------------------------------------------------------------------------

def test_layout_and_counts(dataset):
    out, summary = dataset
    with open(os.path.join(out, 'ImageSets', 'Main', 'train.txt')) as f:
        train_ids = f.read().split()
    with open(os.path.join(out, 'ImageSets', 'Main', 'val.txt')) as f:
        val_ids = f.read().split()
    assert len(train_ids) == 60 and len(val_ids) == 30 and not set(train_ids) & set(val_ids)
    for image_id in train_ids + val_ids:
        assert os.path.isfile(os.path.join(out, 'JPEGImages', image_id + '.jpg'))
        assert os.path.isfile(os.path.join(out, 'Annotations', image_id + '.xml'))
    assert len(glob.glob(os.path.join(out, 'JPEGImages', '*.jpg'))) == 90
    assert len(glob.glob(os.path.join(out, 'negatives', 'pool', '*.jpg'))) == 20
    assert len(glob.glob(os.path.join(out, 'negatives', 'test', '*.jpg'))) == 10
    with open(os.path.join(out, 'classes.txt')) as f:
        assert f.read().split() == ['face']
    with open(os.path.join(out, 'README.txt')) as f:
        readme = f.read()
    assert '--seed 3' in readme and 'train scenes             60' in readme
    assert staging.is_complete_output(out)
    assert summary['images'] == {'train': 60, 'val': 30, 'negatives_pool': 20,
                                 'negatives_test': 10}
    assert not [p for p in os.listdir(os.path.dirname(out)) if '.tmp-' in p or '.old-' in p]


def test_xml_boxes_are_inside_the_image_and_match_the_jpeg_size(dataset):
    out, _ = dataset
    n_objects = 0
    for xml_path in glob.glob(os.path.join(out, 'Annotations', '*.xml')):
        (width, height, depth), objects = read_voc(xml_path)
        image_id = os.path.splitext(os.path.basename(xml_path))[0]
        image = cv2.imread(os.path.join(out, 'JPEGImages', image_id + '.jpg'),
                           cv2.IMREAD_UNCHANGED)
        assert image.shape == (height, width, depth) == (height, width, 3)
        assert 320 <= width <= 480 and 0.65 <= height / width <= 0.85
        assert 1 <= len(objects) <= 4, image_id
        for xmin, ymin, xmax, ymax, difficult, truncated, name in objects:
            assert name == 'face' and difficult in (0, 1) and truncated in (0, 1)
            # 1-based VOC: 1 <= min < max <= size (GluonCV subtracts 1 and asserts max > min).
            assert 1 <= xmin < xmax <= width and 1 <= ymin < ymax <= height, image_id
            n_objects += 1
    assert n_objects >= 90


def _fit(gray, box, reference, dx, dy):
    """Correlation of the middle of ``reference`` (25x25) with ``box`` of ``gray`` moved by
    ``(dx, dy)``; the feathered mask hides the crop's border, so only the middle is compared."""
    xmin, ymin, xmax, ymax = box
    centre = slice(6, 19)
    crop = gray[ymin + dy:ymax + 1 + dy, xmin + dx:xmax + 1 + dx]
    crop = cv2.resize(crop, (25, 25), interpolation=cv2.INTER_AREA)
    return correlation(crop[centre, centre], reference[centre, centre])


def test_one_based_boxes_enclose_exactly_the_pasted_face(dataset):
    """The pixels inside each box (XML value - 1) are the LFW crop named in the metadata, and a
    box moved by one pixel in any direction fits worse: an off-by-one would fail here."""
    out, _ = dataset
    lfw = np.asarray(skimage.data.lfw_subset(), dtype=np.float32)
    checked = 0
    for record in meta_of(out)['images']:
        if record['annotation'] is None:
            continue
        gray = cv2.imread(os.path.join(out, record['image']), cv2.IMREAD_GRAYSCALE)
        gray = gray.astype(np.float32)
        height, width = gray.shape
        _, objects = read_voc(os.path.join(out, record['annotation']))
        assert len(objects) == len(record['faces'])
        for face, obj in zip(record['faces'], objects):
            xmin, ymin, xmax, ymax = (v - 1 for v in obj[:4])
            if (face['style'] != 'normal' or face['truncated'] or xmax - xmin < 24
                    or xmin < 1 or ymin < 1 or xmax > width - 2 or ymax > height - 2):
                continue
            reference = lfw[face['lfw_index']]
            if face['flip']:
                reference = reference[:, ::-1]
            box = (xmin, ymin, xmax, ymax)
            exact = _fit(gray, box, reference, 0, 0)
            assert exact > 0.85, (record['id'], face)
            moved = [_fit(gray, box, reference, dx, dy)
                     for dx, dy in ((-1, 0), (1, 0), (0, -1), (0, 1))]
            assert exact > max(moved), (record['id'], face)
            checked += 1
    assert checked >= 40


def test_gluoncv_voc_reader_recovers_the_metadata_boxes(dataset):
    from gluoncv.data import VOCDetection

    from gluoncv_hard import schema

    class FaceVOC(VOCDetection):
        CLASSES = ('face',)

    out, _ = dataset
    data = FaceVOC(root=out, splits=[('', 'val')])
    records = {r['id']: r for r in meta_of(out)['images']}
    assert len(data) == 30
    for idx in range(len(data)):
        image_id = os.path.basename(data._items[idx][1])
        label = schema.validate_label(data._label_cache[idx], where=image_id)
        faces = records[image_id]['faces']
        expected = np.array([face['box'] for face in faces], dtype=np.float32)
        np.testing.assert_array_equal(label[:, schema.BOX], expected)
        np.testing.assert_array_equal(label[:, schema.HARD], [f['difficult'] for f in faces])
        np.testing.assert_array_equal(label[:, schema.CLASS_ID], 0)


# --- hard by construction ---------------------------------------------------------------------

def test_hard_fraction_and_reasons(dataset):
    out, summary = dataset
    faces = [f for r in meta_of(out)['images'] for f in r['faces']]
    difficult = [f for f in faces if f['difficult']]
    assert 0.12 <= len(difficult) / len(faces) <= 0.35
    assert {f['style'] for f in difficult} == HARD_REASONS
    assert all((f['style'] in HARD_REASONS) == f['difficult'] for f in faces)
    assert summary['hard_faces'] == len(difficult)
    assert sum(summary['hard_by_reason'].values()) == len(difficult)


def test_hard_reasons_hold_in_the_written_boxes(dataset):
    out, _ = dataset
    by_style = {}
    for record in meta_of(out)['images']:
        if record['annotation'] is None:
            continue
        gray = cv2.imread(os.path.join(out, record['image']), cv2.IMREAD_GRAYSCALE)
        (width, height, _), objects = read_voc(os.path.join(out, record['annotation']))
        for face, (xmin, ymin, xmax, ymax, difficult, truncated, _) in zip(record['faces'],
                                                                          objects):
            w, h = xmax - xmin + 1, ymax - ymin + 1
            x0, y0, full_w, full_h = face['rect']
            visible = w * h / float(full_w * full_h)
            touches_border = xmin == 1 or ymin == 1 or xmax == width or ymax == height
            style = face['style']
            assert difficult == (style in HARD_REASONS)
            assert bool(truncated) == (visible < 1.0)
            assert touches_border or not truncated
            if style == 'tiny':
                assert max(w, h) <= 14
            elif style == 'truncated':
                assert truncated and touches_border and visible < 0.5
            else:
                assert min(full_w, full_h) >= 14
                if style == 'normal':
                    assert visible >= 0.65
            inner = gray[ymin - 1 + h // 4:ymax - h // 4, xmin - 1 + w // 4:xmax - w // 4]
            lap = cv2.Laplacian(inner.astype(np.float32), cv2.CV_32F)
            by_style.setdefault(style, []).append((float(inner.std()), float(lap.var()), w))
    normal = [s for s in by_style['normal'] if s[2] >= 20]
    # Low contrast: far less intensity variation than a normal face.
    assert (np.median([s[0] for s in by_style['low_contrast']])
            < 0.5 * np.median([s[0] for s in normal]))
    # Blur: far less fine detail (Laplacian energy) than normal faces of similar size.
    assert (np.median([s[1] for s in by_style['blur']])
            < 0.5 * np.median([s[1] for s in normal]))


# --- negatives, split, backgrounds ------------------------------------------------------------

def test_negative_scenes_have_no_faces_and_no_annotations(dataset):
    out, _ = dataset
    records = meta_of(out)['images']
    negatives = [r for r in records if r['split'].startswith('negatives')]
    assert len(negatives) == 30
    listed = set()
    for name in ('train', 'val'):
        with open(os.path.join(out, 'ImageSets', 'Main', name + '.txt')) as f:
            listed.update(f.read().split())
    for record in negatives:
        image_id = os.path.splitext(os.path.basename(record['image']))[0]
        assert record['faces'] == [] and record['annotation'] is None
        assert record['image'].startswith('negatives/')
        assert image_id not in listed
        assert not os.path.exists(os.path.join(out, 'Annotations', image_id + '.xml'))
    assert sum(len(r['distractors']) for r in negatives) > 0


def test_identity_split_by_lfw_index(dataset):
    out, _ = dataset
    used = {}
    for record in meta_of(out)['images']:
        entry = used.setdefault(record['split'], {'faces': set(), 'nonfaces': set()})
        entry['faces'].update(f['lfw_index'] for f in record['faces'])
        entry['nonfaces'].update(d['lfw_index'] for d in record['distractors'])
    assert used['train']['faces'] and used['train']['faces'] <= TRAIN_FACES
    assert used['val']['faces'] and used['val']['faces'] <= TEST_FACES
    assert not used['train']['faces'] & used['val']['faces']
    for split in ('train', 'negatives_pool'):
        assert used[split]['nonfaces'] <= TRAIN_NONFACES
    for split in ('val', 'negatives_test'):
        assert used[split]['nonfaces'] <= TEST_NONFACES
    assert not used['negatives_pool']['nonfaces'] & used['negatives_test']['nonfaces']


def test_no_background_with_faces_or_animals(dataset):
    out, _ = dataset
    meta = meta_of(out)
    used = {r['background'] for r in meta['images']}
    assert len(used) >= 8
    assert used <= set(meta['backgrounds']) == set(sources.BACKGROUND_NAMES)
    assert not set(sources.BACKGROUND_NAMES) & PICTURES_WITH_FACES_OR_ANIMALS
    assert PICTURES_WITH_FACES_OR_ANIMALS <= set(sources.FORBIDDEN_BACKGROUNDS)


def test_sources_load_without_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError('network access attempted')
    monkeypatch.setattr(socket.socket, 'connect', refuse)
    monkeypatch.setattr(socket, 'create_connection', refuse)
    backgrounds = sources.load_backgrounds.__wrapped__()
    patches = sources.load_lfw_patches.__wrapped__()
    assert list(backgrounds) == list(sources.BACKGROUND_NAMES)
    assert all(b.ndim == 2 and b.dtype == np.uint8 and min(b.shape) >= 100
               for b in backgrounds.values())
    assert patches.shape == (200, 25, 25) and 0.0 <= patches.min() and patches.max() <= 1.0


def test_scene_colour_carries_no_patch_information(dataset):
    """Scenes are grayscale times one global per-channel gain, so the channel ratio is the same
    inside and outside the face boxes."""
    out, _ = dataset
    records = [r for r in meta_of(out)['images'] if r['annotation'] is not None]
    for record in records[:20]:
        image = cv2.imread(os.path.join(out, record['image'])).astype(np.float64)
        mask = np.zeros(image.shape[:2], bool)
        for face in record['faces']:
            xmin, ymin, xmax, ymax = face['box']
            mask[ymin:ymax + 1, xmin:xmax + 1] = True
        inside = image[mask].mean(axis=0)
        outside = image[~mask].mean(axis=0)
        np.testing.assert_allclose(inside / inside.sum(), outside / outside.sum(), atol=0.01)


# --- output directory safety ------------------------------------------------------------------

def test_refuses_to_overwrite_an_unrelated_directory(tmp_path):
    target = tmp_path / 'mine'
    target.mkdir()
    (target / 'precious.txt').write_text('keep me')
    with pytest.raises(FileExistsError, match='force=True') as error:
        generate.generate_demo_dataset(str(target), **TINY)
    assert isinstance(error.value, InputError) and error.value.param == 'out_dir'
    assert os.listdir(str(target)) == ['precious.txt']
    assert sorted(os.listdir(str(tmp_path))) == ['mine']
    generate.generate_demo_dataset(str(target), force=True, **TINY)
    assert not (target / 'precious.txt').exists() and staging.is_complete_output(str(target))


def test_refuses_a_file_and_accepts_an_empty_directory(tmp_path):
    (tmp_path / 'file').write_text('x')
    with pytest.raises(FileExistsError, match='not a directory'):
        generate.generate_demo_dataset(str(tmp_path / 'file'), **TINY)
    (tmp_path / 'empty').mkdir()
    summary = generate.generate_demo_dataset(str(tmp_path / 'empty'), **TINY)
    assert summary['images']['train'] == 6


def test_replaces_a_previous_demo_output_without_force(tmp_path):
    target = str(tmp_path / 'demo')
    generate.generate_demo_dataset(target, seed=1, **TINY)
    generate.generate_demo_dataset(target, seed=2, **dict(TINY, n_train=2))
    assert generate.load_meta(target)['seed'] == 2
    assert len(os.listdir(os.path.join(target, 'JPEGImages'))) == 2 + 3
    assert sorted(os.listdir(str(tmp_path))) == ['demo']


def test_a_failed_run_leaves_no_output_and_keeps_the_previous_one(tmp_path, monkeypatch):
    target = tmp_path / 'demo'
    generate.generate_demo_dataset(str(target), seed=1, **TINY)
    before = all_files(str(target))
    real = render.compose_scene
    calls = []

    def fail_on_fourth_scene(*args, **kwargs):
        calls.append(1)
        if len(calls) == 4:
            raise RuntimeError('simulated crash')
        return real(*args, **kwargs)

    monkeypatch.setattr(render, 'compose_scene', fail_on_fourth_scene)
    with pytest.raises(RuntimeError, match='simulated crash'):
        generate.generate_demo_dataset(str(target), seed=2, **TINY)
    assert all_files(str(target)) == before
    assert sorted(os.listdir(str(tmp_path))) == ['demo']
    calls.clear()
    with pytest.raises(RuntimeError, match='simulated crash'):
        generate.generate_demo_dataset(str(tmp_path / 'fresh'), seed=2, **TINY)
    assert sorted(os.listdir(str(tmp_path))) == ['demo']


def test_a_directory_without_the_marker_is_not_a_demo_output(tmp_path):
    target = str(tmp_path / 'demo')
    generate.generate_demo_dataset(target, **TINY)
    os.remove(os.path.join(target, staging.COMPLETION_MARKER))
    assert not staging.is_complete_output(target)
    with pytest.raises(FileNotFoundError, match='not a finished demo') as error:
        generate.load_meta(target)
    assert isinstance(error.value, InputError) and error.value.param == 'out_dir'
    with pytest.raises(FileExistsError):
        generate.generate_demo_dataset(target, **TINY)


# --- command line -----------------------------------------------------------------------------

def test_cli_builds_and_refuses(tmp_path, capsys):
    out = str(tmp_path / 'cli')
    status = make_demo.main(['--out', out, '--seed', '0', '--n-train', '3', '--n-val', '2',
                            '--n-negatives-pool', '1', '--n-negatives-test', '1', '--quiet'])
    assert status == 0
    assert '3 train + 2 val scenes' in capsys.readouterr().out
    assert generate.load_meta(out)['parameters']['counts']['train'] == 3
    (tmp_path / 'other').mkdir()
    (tmp_path / 'other' / 'x').write_text('x')
    status = make_demo.main(['--out', str(tmp_path / 'other'), '--quiet'])
    assert status == 2
    err = capsys.readouterr().err
    assert err.startswith('error: --out: ') and 'refusing to overwrite' in err
    assert 'Traceback' not in err and os.listdir(str(tmp_path / 'other')) == ['x']
    assert make_demo.main(['--out', str(tmp_path / 'bad'), '--n-val', '-1', '--quiet']) == 2
    assert capsys.readouterr().err == 'error: --n-val must be a non-negative integer, got -1\n'


@pytest.mark.parametrize('kwargs, message', [
    (dict(seed=-1), 'seed'), (dict(n_train=-2), 'n_train'),
    (dict(hard_fraction=1.5), 'hard_fraction'), (dict(max_faces=0), 'max_faces'),
    (dict(max_distractors_negative=-1), 'max_distractors_negative')])
def test_bad_parameters_are_rejected(tmp_path, kwargs, message):
    with pytest.raises(InputError, match='^' + message) as error:
        generate.generate_demo_dataset(str(tmp_path / 'x'), **dict(TINY, **kwargs))
    assert error.value.param == message
    assert not (tmp_path / 'x').exists()


def test_heldout_backgrounds_appear_only_in_the_negative_scenes(tmp_path):
    heldout = ['grass', 'moon', 'text']
    out = str(tmp_path / 'heldout')
    generate.generate_demo_dataset(out, seed=5, heldout_backgrounds=heldout,
                                   **dict(SMALL, n_train=30, n_val=10))
    meta = meta_of(out)
    by_split = {}
    for record in meta['images']:
        by_split.setdefault(record['split'], set()).add(record['background'])
    assert by_split['train'] and not by_split['train'] & set(heldout)
    assert by_split['val'] and not by_split['val'] & set(heldout)
    assert by_split['negatives_pool'] <= set(heldout)
    assert by_split['negatives_test'] <= set(heldout)
    assert len(by_split['negatives_pool'] | by_split['negatives_test']) >= 2
    assert meta['parameters']['heldout_backgrounds'] == sorted(heldout)
    # The command line says the same.
    cli_out = str(tmp_path / 'cli')
    make_demo.run(['--out', cli_out, '--quiet', '--n-train', '2', '--n-val', '1',
                   '--n-negatives-pool', '4', '--n-negatives-test', '2',
                   '--heldout-backgrounds', 'brick'])
    negatives = [r['background'] for r in meta_of(cli_out)['images'] if not r['faces']
                 and r['split'].startswith('negatives')]
    assert negatives and set(negatives) == {'brick'}


@pytest.mark.parametrize('heldout, message', [
    (['lena'], 'unknown background'),
    (list(sources.BACKGROUND_NAMES), 'leaves none'),
])
def test_bad_heldout_backgrounds_are_refused_before_any_output(tmp_path, heldout, message):
    out = tmp_path / 'never'
    with pytest.raises(InputError, match=message) as info:
        generate.generate_demo_dataset(str(out), heldout_backgrounds=heldout, **TINY)
    assert info.value.param == 'heldout_backgrounds'
    assert not out.exists()


def test_is_default_dataset_tells_the_default_parameters_and_seed(tmp_path):
    out = str(tmp_path / 'small')
    generate.generate_demo_dataset(out, seed=0, **TINY)
    assert not generate.is_default_dataset(out, seed=0)  # other counts
    assert not generate.is_default_dataset(str(tmp_path / 'absent'))
    marker = staging.read_marker(out)
    marker['parameters'] = generate.recorded_parameters()
    with open(os.path.join(out, staging.COMPLETION_MARKER), 'w') as f:
        json.dump(marker, f)
    assert generate.is_default_dataset(out, seed=0)
    assert not generate.is_default_dataset(out, seed=1)
