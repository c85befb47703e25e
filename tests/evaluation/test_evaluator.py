"""The accumulating evaluator: routing of images, one report, JSON round trip, table."""
import json

import numpy as np
import pytest

from gluoncv_hard import schema
from gluoncv_hard.evaluation import DetectionEvaluator, format_table

CLASSES = ['face', 'cat']
NO_DETS = (np.zeros((0, 4)), np.zeros(0), np.zeros(0))


def build():
    ev = DetectionEvaluator(CLASSES, score_thresholds=(0.1, 0.7))
    # Positive image: a face found exactly (0.8), a hard face hit (0.95, ignored).
    ev.update('pos1', np.array([[0., 0, 10, 10], [20, 20, 30, 30]]), np.array([0.8, 0.95]),
              np.array([0, 0]), np.array([[0, 0, 10, 10, 0, 0], [20, 20, 30, 30, 0, 1]]))
    # Only hard boxes: positive set, not negative.
    ev.update('pos_hard_only', *NO_DETS, np.array([[5, 5, 9, 9, 1, 1]]))
    # Negatives in three spellings; one has a face detection above the TP's score.
    ev.update('neg1', np.array([[40., 40, 50, 50]]), np.array([0.9]), np.array([0]), None)
    ev.update('neg2', *NO_DETS, schema.empty_label())
    ev.update(3, np.array([[1., 1, 5, 5]]), np.array([0.2]), np.array([1]),
              schema.padding_label())
    return ev


def test_images_are_routed_and_metrics_combined():
    report = build().report()
    assert report['num_images'] == {'positive': 2, 'negative': 3, 'total': 5}
    assert report['ground_truth'] == {'face': {'num_boxes': 2, 'num_hard': 1},
                                      'cat': {'num_boxes': 1, 'num_hard': 1}}
    positive = report['positive_images']
    # The face TP is the only counted detection on positives; cat has no non-hard box.
    assert positive['voc12']['per_class'] == {'face': 1.0, 'cat': None}
    assert positive['coco']['AP'] == pytest.approx(1.0)
    # With negatives: FP (0.9, neg1) before the TP (0.8): precision 1/2 at recall 1.
    # The cat detection on image 3 is in a class without positives: no effect.
    everything = report['all_images']
    assert everything['voc07']['mAP'] == pytest.approx(0.5)
    assert everything['voc12']['mAP'] == pytest.approx(0.5)
    assert everything['coco']['AP'] == pytest.approx(0.5)
    negatives = report['negative_images']
    assert negatives['score_thresholds'] == [0.1, 0.5, 0.7]  # 0.5 always added
    assert negatives['headline'] == {'threshold': 0.5, 'total': 1, 'mean_per_image': 1 / 3,
                                     'fraction_of_images': 1 / 3}
    assert [e['total'] for e in negatives['by_threshold']] == [2, 1, 1]
    assert [e['image_id'] for e in negatives['per_image']] == ['neg1', 3, 'neg2']


def test_no_negatives_gives_no_all_images_section():
    ev = DetectionEvaluator(CLASSES)
    ev.update('a', np.array([[0., 0, 10, 10]]), np.array([0.8]), np.array([0]),
              np.array([[0, 0, 10, 10, 0, 0]]))
    report = ev.report()
    assert report['all_images'] is None
    assert report['negative_images']['num_images'] == 0
    assert 'Negative images: 0' in format_table(report)


def test_report_round_trips_through_strict_json_and_formats():
    report = build().report()
    text = json.dumps(report, allow_nan=False)
    loaded = json.loads(text)
    assert loaded == json.loads(json.dumps(report))
    table = format_table(loaded)
    assert table == format_table(report)
    lines = table.splitlines()
    face_row = next(line for line in lines if line.startswith('face'))
    assert face_row.split() == ['face', '2', '1', '1.0000', '1.0000', '1.0000', '1.0000',
                                '1.0000']
    assert next(line for line in lines if line.startswith('cat')).split()[3:] == ['-'] * 5
    assert any(line.split()[:2] == ['0.50', '1'] and line.endswith('*') for line in lines)
    assert 'neg1 (0.900)' in table


def test_empty_evaluator_reports():
    report = DetectionEvaluator(CLASSES).report()
    assert report['positive_images']['voc12']['mAP'] is None
    assert report['positive_images']['coco']['AP'] is None
    json.dumps(report, allow_nan=False)
    format_table(report)


def test_bad_updates_are_rejected():
    ev = DetectionEvaluator(CLASSES)
    ev.update('a', *NO_DETS, None)
    with pytest.raises(ValueError, match="image 'a' was already added"):
        ev.update('a', *NO_DETS, None)
    with pytest.raises(TypeError, match='str or int'):
        ev.update(('a', 1), *NO_DETS, None)
    with pytest.raises(ValueError, match="image 'b'.*class id 5"):
        ev.update('b', np.array([[0., 0, 1, 1]]), np.array([0.5]), np.array([5]), None)
    assert len(ev) == 1  # the rejected image was not recorded


@pytest.mark.parametrize('kwargs, message', [
    (dict(class_names=[]), 'non-empty'), (dict(class_names=['a', 'a']), 'unique'),
    (dict(class_names=['a'], hard_overlap='iof'), "one of \\('iou', 'iod'\\)"),
    (dict(class_names=['a'], voc_iou_thresh=1.5), 'voc_iou_thresh'),
])
def test_bad_settings_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DetectionEvaluator(**kwargs)
