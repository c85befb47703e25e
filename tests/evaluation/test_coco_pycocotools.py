"""Our COCO AP equals pycocotools' ``COCOeval`` (the reference every paper reports), with hard
boxes passed to it as ``iscrowd=1``.

The corpus: random scenes of three classes with hard boxes, detections that hit boxes at every
IoU, duplicates, small detections inside hard regions (where the crowd rule, intersection over
the detection's area, decides), exactly repeated GT boxes (ties in IoU), tied scores, classes
that are only hard, images without boxes, and a ``max_dets`` that truncates. Tolerance 1e-4 on
AP, AP50, AP75 and AR@max_dets, overall and per class.
"""
import contextlib
import io

import numpy as np
import pytest
from optional import import_or_skip

from gluoncv_hard.evaluation import coco_map, make_image_record

COCO = import_or_skip('pycocotools.coco', reason="pip install -e '.[dev]'").COCO
COCOeval = import_or_skip('pycocotools.cocoeval').COCOeval

CLASSES = ['face', 'cat', 'car']
TOLERANCE = 1e-4


def pycocotools_metrics(records, num_classes, max_dets):
    """AP, AP50, AP75, AR (area 'all', ``max_dets``) and per-class AP from ``COCOeval``."""
    images, annotations, detections = [], [], []
    for image_id, r in enumerate(records, 1):
        images.append({'id': image_id, 'width': 1000, 'height': 1000})
        for row in r.gt_label.tolist():
            x1, y1, x2, y2, cls, hard = row
            annotations.append({'id': len(annotations) + 1, 'image_id': image_id,
                                'category_id': int(cls) + 1, 'bbox': [x1, y1, x2 - x1, y2 - y1],
                                'area': (x2 - x1) * (y2 - y1), 'iscrowd': int(hard >= 0.5)})
        for box, score, label in zip(r.det_boxes.tolist(), r.det_scores.tolist(),
                                     r.det_labels.tolist()):
            x1, y1, x2, y2 = box
            detections.append({'image_id': image_id, 'category_id': int(label) + 1,
                               'bbox': [x1, y1, x2 - x1, y2 - y1], 'score': score})
    with contextlib.redirect_stdout(io.StringIO()):
        gt = COCO()
        gt.dataset = {'images': images, 'annotations': annotations,
                      'categories': [{'id': c + 1, 'name': str(c)} for c in range(num_classes)]}
        gt.createIndex()
        evaluator = COCOeval(gt, gt.loadRes(detections), 'bbox')
        # COCOeval keeps maxDets[-1] detections per image and class, and the smaller counts
        # at accumulation; summarize() prints index 2 as "maxDets=100".
        evaluator.params.maxDets = sorted({1, 10, 100, max_dets})
        evaluator.evaluate()
        evaluator.accumulate()
    # What COCOeval.summarize() reports, read for area 'all' and maxDets = max_dets.
    m = evaluator.params.maxDets.index(max_dets)
    precision = evaluator.eval['precision'][:, :, :, 0, m]  # (T, R, K)
    recall = evaluator.eval['recall'][:, :, 0, m]  # (T, K)

    def mean(values):
        return float(values[values > -1].mean()) if (values > -1).any() else None

    thresholds = list(np.round(evaluator.params.iouThrs, 2))
    return {'AP': mean(precision), 'AP50': mean(precision[thresholds.index(0.5)]),
            'AP75': mean(precision[thresholds.index(0.75)]), 'AR': mean(recall),
            'per_class': [mean(precision[:, :, k]) for k in range(num_classes)],
            'summary': evaluator}


def test_reading_of_the_reference_is_what_its_summary_prints():
    records = make_records(0)
    reference = pycocotools_metrics(records, len(CLASSES), 100)
    evaluator = reference['summary']
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator.summarize()
    stats = evaluator.stats
    assert (stats[0], stats[1], stats[2], stats[8]) == pytest.approx(
        (reference['AP'], reference['AP50'], reference['AP75'], reference['AR']), abs=1e-12)


def jitter(rng, box, scale):
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    d = rng.normal(0, scale, 4) * np.array([w, h, w, h])
    # Sorted: a network never outputs xmax < xmin (pycocotools would ignore such a box as
    # outside every area range; here it is a false positive).
    xs, ys = sorted([x1 + d[0], x2 + d[2]]), sorted([y1 + d[1], y2 + d[3]])
    return [xs[0], ys[0], xs[1], ys[1]]


def random_scene(rng, only_hard_class=2):
    """One image: ``(gt rows (N, 6), det boxes, scores, labels)``."""
    gt, dets, scores, labels = [], [], [], []
    for _ in range(rng.integers(0, 7)):
        cls = int(rng.integers(0, len(CLASSES)))
        x1, y1 = rng.integers(0, 800, 2)
        w, h = rng.integers(8, 200, 2)
        hard = int(cls == only_hard_class or rng.random() < 0.25)
        gt.append([x1, y1, x1 + w, y1 + h, cls, hard])
        if rng.random() < 0.15:  # the same box annotated twice: IoU ties between GT boxes
            gt.append([x1, y1, x1 + w, y1 + h, cls, hard])
    for row in gt:
        box, cls = row[:4], row[4]
        for _ in range(rng.integers(0, 4)):  # hits at every IoU, and duplicates
            dets.append(jitter(rng, box, rng.choice([0.0, 0.02, 0.05, 0.1, 0.25])))
            scores.append(float(rng.choice([rng.random(), 0.5])))  # some tied scores
            labels.append(cls if rng.random() < 0.9 else int(rng.integers(0, len(CLASSES))))
        if row[5] and rng.random() < 0.7:  # small detections inside a hard region
            x1, y1, x2, y2 = box
            for _ in range(rng.integers(1, 4)):
                u = rng.uniform(x1, x1 + 0.6 * (x2 - x1))
                v = rng.uniform(y1, y1 + 0.6 * (y2 - y1))
                dets.append([u, v, u + 0.3 * (x2 - x1), v + 0.3 * (y2 - y1)])
                scores.append(float(rng.random()))
                labels.append(cls)
    for _ in range(rng.integers(0, 5)):  # false alarms anywhere
        x1, y1 = rng.uniform(0, 900, 2)
        w, h = rng.uniform(5, 100, 2)
        dets.append([x1, y1, x1 + w, y1 + h])
        scores.append(float(rng.random()))
        labels.append(int(rng.integers(0, len(CLASSES))))
    return gt, dets, scores, labels


def make_records(seed, num_images=40):
    rng = np.random.default_rng(seed)
    records = []
    for _ in range(num_images):
        gt, dets, scores, labels = random_scene(rng)
        records.append(make_image_record(
            np.array(dets, dtype=np.float64).reshape(-1, 4), np.array(scores),
            np.array(labels, dtype=np.int64), np.array(gt, dtype=np.float32).reshape(-1, 6)
            if gt else None, len(CLASSES)))
    # One more detection so that no run has an empty result list (pycocotools needs one).
    records.append(make_image_record(np.array([[1., 1, 20, 20]]), np.array([0.3]),
                                     np.array([0]), np.array([[2, 2, 21, 21, 0, 0]]),
                                     len(CLASSES)))
    return records


def assert_equal_to_pycocotools(records, max_dets):
    ours = coco_map(records, CLASSES, max_dets=max_dets)
    reference = pycocotools_metrics(records, len(CLASSES), max_dets)
    for key in ('AP', 'AP50', 'AP75', 'AR'):
        assert ours[key] == pytest.approx(reference[key], abs=TOLERANCE), key
    for c, name in enumerate(CLASSES):
        expected = reference['per_class'][c]
        if expected is None:
            assert ours['per_class'][name]['AP'] is None
        else:
            assert ours['per_class'][name]['AP'] == pytest.approx(expected, abs=TOLERANCE)
    return ours


@pytest.mark.parametrize('seed', range(8))
def test_random_corpus_with_hard_boxes(seed):
    ours = assert_equal_to_pycocotools(make_records(seed), max_dets=100)
    # The corpus exercises the rule: the class with only hard boxes has no AP, the others do.
    assert ours['per_class']['car']['AP'] is None
    assert ours['AP'] is not None and 0 < ours['AP'] < 1


@pytest.mark.parametrize('seed', range(3))
def test_max_dets_truncation(seed):
    assert_equal_to_pycocotools(make_records(100 + seed), max_dets=2)


def test_small_detections_inside_a_hard_region_are_ignored_as_by_crowd_regions():
    # One normal face, one hard region; three small detections inside the region, each with an
    # IoU far below 0.5 but mostly inside it: COCO's crowd rule ignores them.
    gt = np.array([[0, 0, 50, 50, 0, 0], [100, 100, 300, 300, 0, 1]], dtype=np.float32)
    dets = np.array([[0, 0, 50, 50], [120, 120, 160, 160], [200, 200, 240, 250],
                     [150, 110, 190, 140]], dtype=np.float64)
    record = make_image_record(dets, np.array([0.6, 0.9, 0.8, 0.7]), np.zeros(4, np.int64), gt,
                               len(CLASSES))
    ours = assert_equal_to_pycocotools([record], max_dets=100)
    assert ours['AP'] == pytest.approx(1.0)


def test_repeated_gt_boxes_tie_the_way_pycocotools_breaks_it():
    # Two identical normal boxes, one hard; the detection's IoU ties on the normal boxes.
    gt = np.array([[10, 10, 60, 60, 0, 0], [10, 10, 60, 60, 0, 0], [0, 0, 70, 70, 0, 1]],
                  dtype=np.float32)
    dets = np.array([[12, 12, 60, 61], [10, 10, 60, 60], [11, 9, 58, 60]], dtype=np.float64)
    record = make_image_record(dets, np.array([0.9, 0.8, 0.7]), np.zeros(3, np.int64), gt,
                               len(CLASSES))
    assert_equal_to_pycocotools([record], max_dets=100)
