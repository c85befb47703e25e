"""Planted label errors (gluoncv_hard.demo.plant).

The planted copy is read back with independent code (``xml.etree``) and compared with the
generator's ``demo_meta.json`` (the truth) and with ``planted_errors.json``.
"""
import json
import os
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from gluoncv_hard.demo import generate, plant, staging
from gluoncv_hard.errors import InputError

COUNTS = {'deleted': 3, 'shifted': 3, 'spurious': 4, 'hard_flag': 4}


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('plant') / 'demo')
    generate.generate_demo_dataset(root, seed=2, n_train=16, n_val=2, n_negatives_pool=1,
                                   n_negatives_test=1, progress=False)
    return root


@pytest.fixture(scope='module')
def planted(demo, tmp_path_factory):
    out = str(tmp_path_factory.mktemp('planted') / 'copy')
    summary = plant.plant_label_errors(demo, out, counts=COUNTS, seed=5)
    return out, summary


def read_objects(path):
    """``[(xmin, ymin, xmax, ymax) 0-based, difficult]`` as written."""
    objects = []
    for obj in ET.parse(path).getroot().findall('object'):
        box = obj.find('bndbox')
        objects.append((tuple(int(box.find(k).text) - 1 for k in ('xmin', 'ymin', 'xmax',
                                                                    'ymax')),
                        int(obj.find('difficult').text)))
    return objects


def iou(a, b):
    """IoU with ``width = xmax - xmin`` (the project's overlap), written out here."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(iw, 0) * max(ih, 0)
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])
    return inter / (area - inter)


def meta_records(root):
    with open(os.path.join(root, generate.META_FILE), encoding='utf-8') as f:
        return {r['id']: r for r in json.load(f)['images']}


def test_every_planted_error_is_in_the_annotations_as_recorded(demo, planted):
    out, summary = planted
    with open(os.path.join(out, plant.PLANTED_FILE), encoding='utf-8') as f:
        document = json.load(f)
    errors = document['errors']
    assert errors == summary['errors'] == plant.load_planted_errors(out)
    assert document['planted'] == COUNTS == summary['planted']
    assert [e['variant'] for e in errors if e['kind'] == 'spurious'].count('distractor') == 2
    assert [e['variant'] for e in errors if e['kind'] == 'hard_flag'].count('hard_to_normal') == 2
    records = meta_records(demo)
    by_image = {}
    for e in errors:
        by_image.setdefault(e['image_id'], []).append(e)
    for image_id, record in records.items():
        if record['split'] != 'train':
            continue
        written = read_objects(os.path.join(out, record['annotation']))
        truth = [(tuple(f['box']), int(f['difficult'])) for f in record['faces']]
        mine = by_image.get(image_id, [])
        expected = list(truth)
        for e in mine:
            if e['kind'] == 'deleted':
                face = record['faces'][e['face']]
                assert face['style'] == 'normal' and e['true_box'] == face['box']
                expected.remove((tuple(face['box']), 0))
            elif e['kind'] == 'shifted':
                face = record['faces'][e['face']]
                assert face['style'] == 'normal' and e['true_box'] == face['box']
                assert 0.1 <= iou(e['true_box'], e['labelled_box']) <= 0.4
                size = np.subtract(e['labelled_box'][2:], e['labelled_box'][:2])
                assert (size == np.subtract(face['box'][2:], face['box'][:2])).all()
                expected[expected.index((tuple(face['box']), 0))] = (
                    tuple(e['labelled_box']), 0)
            elif e['kind'] == 'hard_flag':
                face = record['faces'][e['face']]
                was = int(face['difficult'])
                assert (e['variant'], was) in (('normal_to_hard', 0), ('hard_to_normal', 1))
                assert (face['style'] == 'normal') == (was == 0)
                expected[expected.index((tuple(face['box']), was))] = (tuple(face['box']),
                                                                        1 - was)
            else:
                assert e['true_box'] is None
                faces = [f['box'] for f in record['faces']]
                assert all(iou(e['labelled_box'], f) == 0 for f in faces)
                if e['variant'] == 'distractor':
                    d = record['distractors'][e['distractor']]
                    assert d['style'] == 'normal' and d['box'] == e['labelled_box']
                else:
                    patches = faces + [d['box'] for d in record['distractors']]
                    assert all(iou(e['labelled_box'], p) == 0 for p in patches)
                expected.append((tuple(e['labelled_box']), 0))
        assert written == expected, image_id
        if not mine:  # untouched annotations are the generator's bytes
            with open(os.path.join(demo, record['annotation']), 'rb') as a, \
                    open(os.path.join(out, record['annotation']), 'rb') as b:
                assert a.read() == b.read()


def test_at_most_one_error_per_face_and_the_pictures_are_untouched(demo, planted):
    out, summary = planted
    faces = [(e['image_id'], e['face']) for e in summary['errors'] if e['face'] is not None]
    distractors = [(e['image_id'], e['distractor']) for e in summary['errors']
                   if e['distractor'] is not None]
    assert len(set(faces)) == len(faces) and len(set(distractors)) == len(distractors)
    for name in sorted(os.listdir(os.path.join(demo, 'JPEGImages'))):
        a, b = os.path.join(demo, 'JPEGImages', name), os.path.join(out, 'JPEGImages', name)
        with open(a, 'rb') as fa, open(b, 'rb') as fb:
            assert fa.read() == fb.read()
        assert os.stat(a).st_ino == os.stat(b).st_ino  # hard links on one file system
    assert os.path.isfile(os.path.join(out, 'negatives', 'pool', 'negpool_00000.jpg'))
    # The val annotations are copies, not links: editing one cannot change the original.
    val = os.path.join('Annotations', 'val_00000.xml')
    assert os.stat(os.path.join(demo, val)).st_ino != os.stat(os.path.join(out, val)).st_ino
    marker = staging.read_marker(out)
    assert marker[plant.MARKER_KEY]['planted'] == COUNTS
    assert staging.read_marker(demo) == {k: v for k, v in marker.items()
                                         if k != plant.MARKER_KEY}
    with open(os.path.join(out, 'README.txt')) as f:
        assert 'PLANTED LABEL ERRORS' in f.read()


def test_the_project_reader_sees_the_planted_labels(planted):
    from gluoncv_hard.data.datasets import open_dataset
    out, summary = planted
    dataset, _ = open_dataset('voc', 'train', out)
    ids = [dataset.image_id(i) for i in range(len(dataset))]
    for e in summary['errors']:
        label = dataset[ids.index(e['image_id'])][1]
        boxes = label[:, :4].tolist()
        if e['labelled_box'] is not None:
            row = boxes.index([float(v) for v in e['labelled_box']])
            assert label[row, 5] == (e['variant'] == 'normal_to_hard')
        if e['kind'] in ('deleted', 'shifted'):
            assert [float(v) for v in e['true_box']] not in boxes


def test_same_seed_same_errors_other_seed_others(demo, planted, tmp_path):
    out, summary = planted
    again = plant.plant_label_errors(demo, str(tmp_path / 'again'), counts=COUNTS, seed=5)
    other = plant.plant_label_errors(demo, str(tmp_path / 'other'), counts=COUNTS, seed=6)
    assert again['errors'] == summary['errors'] and other['errors'] != summary['errors']
    for name in sorted(os.listdir(os.path.join(out, 'Annotations'))) + [plant.PLANTED_FILE]:
        sub = name if name == plant.PLANTED_FILE else os.path.join('Annotations', name)
        with open(os.path.join(out, sub), 'rb') as a, \
                open(str(tmp_path / 'again' / sub), 'rb') as b:
            assert a.read() == b.read()


def test_rates_are_fractions_of_their_population(demo, tmp_path):
    records = [r for r in meta_records(demo).values() if r['split'] == 'train']
    normal = sum(not f['difficult'] for r in records for f in r['faces'])
    faces = sum(len(r['faces']) for r in records)
    summary = plant.plant_label_errors(
        demo, str(tmp_path / 'out'), rates={'deleted': 0.1, 'hard_flag': 0.2, 'spurious': 0.25},
        counts={'shifted': 1}, seed=0)
    assert summary['planted'] == {'deleted': round(0.1 * normal), 'shifted': 1,
                                  'hard_flag': round(0.2 * faces),
                                  'spurious': round(0.25 * len(records))}


@pytest.mark.parametrize('kwargs, param, message', [
    (dict(counts={'moved': 1}), 'counts', 'unknown kind'),
    (dict(counts={'deleted': 1}, rates={'deleted': 0.1}), 'rates', 'both as a count'),
    (dict(counts={'deleted': -1}), 'counts', 'non-negative integer'),
    (dict(counts={'deleted': 1.5}), 'counts', 'non-negative integer'),
    (dict(rates={'shifted': 1.5}), 'rates', r'in \[0, 1\]'),
    (dict(counts={'deleted': 10 ** 4}), 'counts', 'only .* normal faces available'),
    (dict(counts={'hard_flag': 10 ** 4}), 'counts', 'available'),
    (dict(counts={'spurious': 10 ** 4}), 'counts', 'available'),
    (dict(counts={'deleted': 1}, image_set='nope'), 'image_set', 'no image set'),
    (dict(counts={'deleted': 1}, seed=-1), 'seed', 'non-negative'),
])
def test_bad_requests_are_refused_and_leave_nothing(demo, tmp_path, kwargs, param, message):
    out = tmp_path / 'out'
    with pytest.raises(InputError, match=message) as error:
        plant.plant_label_errors(demo, str(out), **kwargs)
    assert error.value.param == param
    assert not out.exists() and os.listdir(str(tmp_path)) == []


def test_only_a_finished_unedited_demo_set_is_accepted(demo, planted, tmp_path):
    (tmp_path / 'empty').mkdir()
    with pytest.raises(InputError, match='not a finished demo data set') as error:
        plant.plant_label_errors(str(tmp_path / 'empty'), str(tmp_path / 'out'),
                                 counts={'deleted': 1})
    assert error.value.param == 'data_root'
    with pytest.raises(InputError, match='already carries planted'):
        plant.plant_label_errors(planted[0], str(tmp_path / 'out'), counts={'deleted': 1})
    edited = str(tmp_path / 'edited')
    shutil.copytree(demo, edited)
    path = os.path.join(edited, 'Annotations', 'train_00003.xml')
    tree = ET.parse(path)
    tree.getroot().remove(tree.getroot().find('object'))
    tree.write(path)
    with pytest.raises(InputError, match='train_00003.xml differs from what demo_meta.json'):
        plant.plant_label_errors(edited, str(tmp_path / 'out'), counts={'deleted': 1})
    for target in (demo, os.path.join(demo, 'sub')):
        with pytest.raises(InputError, match='separate folders') as error:
            plant.plant_label_errors(demo, target, counts={'deleted': 1})
        assert error.value.param == 'out_dir'
    assert staging.is_complete_output(demo)


def test_a_failed_run_leaves_the_previous_copy(demo, tmp_path):
    out = str(tmp_path / 'out')
    plant.plant_label_errors(demo, out, counts={'deleted': 1}, seed=0)
    before = plant.load_planted_errors(out)
    with pytest.raises(InputError):
        plant.plant_label_errors(demo, out, counts={'deleted': 10 ** 4})
    assert plant.load_planted_errors(out) == before
    assert sorted(os.listdir(str(tmp_path))) == ['out']
    # A previous copy (it has the marker) is replaced without force.
    plant.plant_label_errors(demo, out, counts={'shifted': 2}, seed=0)
    assert [e['kind'] for e in plant.load_planted_errors(out)] == ['shifted', 'shifted']
