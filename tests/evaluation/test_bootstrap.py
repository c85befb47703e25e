"""Bootstrap intervals over images: the outcome table reproduces voc_map / coco_map, weights are
repeated images, intervals behave, paired and over-runs differences, the evaluator's report."""
import json
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gluoncv_hard.evaluation import DetectionEvaluator, coco_map, format_table, voc_map
from gluoncv_hard.evaluation.bootstrap import (
    bootstrap_intervals,
    make_outcome_table,
    metrics_from_weights,
    paired_bootstrap,
    paired_bootstrap_over_runs,
    resample_image_weights,
)
from gluoncv_hard.evaluation.detections import make_image_record
from gluoncv_hard.evaluation.negatives import negative_image_stats

CLASSES = ['face', 'cat', 'dog']  # random_records' default num_classes
HEADLINE = ['positive_images/voc07/mAP', 'positive_images/voc12/mAP', 'positive_images/coco/AP',
            'positive_images/coco/AP50', 'negative_images/mean_per_image',
            'negative_images/fraction_of_images', 'hard_boxes/confident_detection_rate']


def random_records(rng, num_images, num_classes=3, negative_fraction=0.25,
                   detections=6, score_levels=None):
    """Images with normal and hard boxes, detections near them (duplicates included), others
    anywhere, and negatives; ``score_levels`` rounds the scores to force ties."""
    records = []
    for _ in range(num_images):
        if rng.random() < negative_fraction:
            gt = None
        else:
            count = int(rng.integers(1, 4))
            corner = rng.uniform(0, 100, (count, 2))
            gt = np.concatenate([corner, corner + rng.uniform(6, 40, (count, 2)),
                                 rng.integers(0, num_classes, (count, 1)),
                                 rng.random((count, 1)) < 0.3], axis=1)
        count = int(rng.integers(0, 2 * detections))
        corner = rng.uniform(0, 100, (count, 2))
        boxes = np.concatenate([corner, corner + rng.uniform(6, 40, (count, 2))], axis=1)
        labels = rng.integers(0, num_classes, count)
        if gt is not None and count:
            near = rng.random(count) < 0.7
            source = rng.integers(0, len(gt), count)
            boxes[near] = gt[source[near], :4] + rng.normal(0, 3, (near.sum(), 4))
            labels[near] = np.where(rng.random(near.sum()) < 0.8, gt[source[near], 4],
                                    labels[near])
        scores = rng.random(count)
        if score_levels:
            scores = np.round(scores * score_levels) / score_levels
        records.append(make_image_record(boxes, scores, labels, gt, num_classes))
    return records


def is_negative(record):
    return len(record.gt_label) == 0


def reference_metrics(records, class_names=CLASSES, prefix='all_images', **coco_kwargs):
    """The names of `.bootstrap` computed by voc_map and coco_map on ``records``."""
    out = {}
    for metric, use_07 in (('voc07', True), ('voc12', False)):
        result = voc_map(records, class_names, use_07_metric=use_07)
        out['{}/{}/mAP'.format(prefix, metric)] = result['mAP']
        for name in class_names:
            out['{}/{}/per_class/{}'.format(prefix, metric, name)] = result['per_class'][name]
    result = coco_map(records, class_names, **coco_kwargs)
    for key in ('AP', 'AP50', 'AP75', 'AR'):
        out['{}/coco/{}'.format(prefix, key)] = result[key]
        for name in class_names:
            out['{}/coco/per_class/{}/{}'.format(prefix, name, key)] = \
                result['per_class'][name][key]
    return out


def assert_equal_metrics(values, expected, tolerance=1e-9):
    for name, reference in expected.items():
        value = values[name]
        if reference is None:
            assert np.isnan(value), name
        else:
            assert value == pytest.approx(reference, abs=tolerance), name


def point_values(table):
    return {name: v[0] for name, v in
            metrics_from_weights(table, np.ones(len(table.image_ids))).items()}


def voc_iou(a, b):
    """VOC IoU of two boxes, written out (+1 pixel)."""
    width = min(a[2], b[2]) - max(a[0], b[0]) + 1
    height = min(a[3], b[3]) - max(a[1], b[1]) + 1
    inter = max(width, 0) * max(height, 0)
    area = (a[2] - a[0] + 1) * (a[3] - a[1] + 1) + (b[2] - b[0] + 1) * (b[3] - b[1] + 1)
    return inter / (area - inter)


def brute_force_hard_rate(records):
    hard, found = 0, 0
    for record in records:
        for row in record.gt_label[record.gt_label[:, 5] > 0.5]:
            hard += 1
            found += any(score >= 0.5 and voc_iou(box, row[:4]) >= 0.5
                         for box, score in zip(record.det_boxes, record.det_scores))
    return found / hard if hard else None


def check_against_references(records, **table_kwargs):
    coco_kwargs = {k: table_kwargs[k] for k in ('max_dets', 'hard_overlap') if k in table_kwargs}
    values = point_values(make_outcome_table(records, CLASSES, **table_kwargs))
    positives = [r for r in records if not is_negative(r)]
    negatives = [r for r in records if is_negative(r)]
    assert_equal_metrics(values, reference_metrics(positives, prefix='positive_images',
                                                   **coco_kwargs))
    if negatives:
        assert_equal_metrics(values, reference_metrics(records, **coco_kwargs))
        stats = negative_image_stats(list(range(len(negatives))),
                                     [r.det_scores for r in negatives], (0.5,))
        headline = stats['by_threshold'][0]
        assert values['negative_images/mean_per_image'] == headline['mean_per_image']
        assert values['negative_images/fraction_of_images'] == headline['fraction_of_images']
    else:
        assert not any(name.startswith(('all_images', 'negative_images')) for name in values)
    rate = brute_force_hard_rate(records)
    value = values['hard_boxes/confident_detection_rate']
    assert np.isnan(value) if rate is None else value == pytest.approx(rate, abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1), num_images=st.integers(0, 25))
def test_all_weights_one_equal_voc_map_and_coco_map(seed, num_images):
    check_against_references(random_records(np.random.default_rng(seed), num_images))


@pytest.mark.parametrize('seed', range(4))
def test_tied_scores_equal_too(seed):
    # COCO's order is defined for ties; VOC's is GluonCV's argsort, reproduced call by call.
    rng = np.random.default_rng(seed)
    check_against_references(random_records(rng, 40, score_levels=3))


@pytest.mark.parametrize('kwargs', [{'max_dets': 2}, {'hard_overlap': 'iou'},
                                    {'max_dets': 1, 'hard_overlap': 'iou'}])
def test_coco_settings_equal_coco_map(kwargs):
    check_against_references(random_records(np.random.default_rng(7), 40, detections=8),
                             **kwargs)


def gt_rows(*rows):
    return np.array(rows, dtype=np.float32).reshape(-1, 6)


def record(boxes, scores, labels, gt):
    return make_image_record(np.array(boxes, dtype=float).reshape(-1, 4), scores, labels, gt,
                             len(CLASSES))


@pytest.mark.parametrize('name, records', [
    # A hard face hit (ignored), a far FP and a TP; the cat's only box is hard -> None.
    ('hard boxes', [record([[20, 0, 30, 10], [50, 50, 60, 60], [0, 0, 10, 10]],
                           [0.9, 0.8, 0.7], [0, 0, 0],
                           gt_rows([0, 0, 10, 10, 0, 0], [20, 0, 30, 10, 0, 1],
                                   [70, 70, 90, 90, 1, 1]))]),
    # Three detections on one face: one TP, two duplicate FPs; a second face missed.
    ('duplicates', [record([[0, 0, 10, 10], [1, 0, 10, 10], [0, 1, 10, 10]], [0.6, 0.9, 0.7],
                           [0, 0, 0], gt_rows([0, 0, 10, 10, 0, 0], [40, 40, 60, 60, 0, 0]))]),
    ('no detections', [record([], [], [], gt_rows([0, 0, 10, 10, 0, 0])),
                       record([], [], [], gt_rows([5, 5, 20, 20, 2, 0]))]),
    ('images without GT', [record([[0, 0, 10, 10]], [0.9], [0], None),
                           record([], [], [], None)]),
    ('negatives beside positives', [record([[0, 0, 10, 10]], [0.4], [0],
                                           gt_rows([0, 0, 10, 10, 0, 0])),
                                    record([[3, 3, 9, 9]], [0.8], [0], None)]),
    ('no images', []),
])
def test_hand_made_cases_equal_voc_map_and_coco_map(name, records):
    check_against_references(records)


def test_hand_made_values():
    values = point_values(make_outcome_table([record(
        [[20, 0, 30, 10], [50, 50, 60, 60], [0, 0, 10, 10]], [0.9, 0.8, 0.7], [0, 0, 0],
        gt_rows([0, 0, 10, 10, 0, 0], [20, 0, 30, 10, 0, 1], [70, 70, 90, 90, 1, 1]))],
        CLASSES))
    # Hard hit ignored, then FP, TP with one positive: precision 1/2 at recall 1 (test_voc).
    assert values['positive_images/voc12/per_class/face'] == pytest.approx(0.5)
    assert np.isnan(values['positive_images/voc12/per_class/cat'])
    assert values['positive_images/voc12/mAP'] == pytest.approx(0.5)
    # Two hard boxes, one with a confident detection on it (the 0.9).
    assert values['hard_boxes/confident_detection_rate'] == 0.5


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1), num_images=st.integers(1, 20))
def test_weights_equal_records_repeated(seed, num_images):
    rng = np.random.default_rng(seed)
    records = random_records(rng, num_images)
    weights = rng.integers(0, 4, num_images)
    # Each image repeated as often as its weight (copies adjacent: the same tie order).
    repeated = [r for r, w in zip(records, weights) for _ in range(w)]
    values = metrics_from_weights(make_outcome_table(records, CLASSES), weights[None])
    values = {name: v[0] for name, v in values.items()}
    assert_equal_metrics(values, reference_metrics(
        [r for r in repeated if not is_negative(r)], prefix='positive_images'))
    if any(map(is_negative, records)):
        assert_equal_metrics(values, reference_metrics(repeated))


def test_resamples_keep_the_group_sizes():
    negative = np.array([False, True, False, False, True])
    weights = resample_image_weights(negative, 50, np.random.default_rng(0))
    assert weights.shape == (50, 5)
    assert (weights[:, ~negative].sum(axis=1) == 3).all()
    assert (weights[:, negative].sum(axis=1) == 2).all()
    assert len(np.unique(weights, axis=0)) > 1


def test_intervals_contain_the_estimate_and_are_deterministic():
    table = make_outcome_table(random_records(np.random.default_rng(3), 200, detections=4),
                               CLASSES)
    intervals = bootstrap_intervals(table, num_resamples=300, seed=5)
    assert intervals == bootstrap_intervals(table, num_resamples=300, seed=5)
    other = bootstrap_intervals(table, num_resamples=300, seed=6)
    assert any(other[name]['low'] != intervals[name]['low'] for name in HEADLINE)
    point = point_values(table)
    for name in HEADLINE + ['all_images/voc07/mAP', 'all_images/coco/AP']:
        entry = intervals[name]
        assert entry['value'] == point[name]
        assert entry['low'] <= entry['value'] <= entry['high'], name
        assert entry['low'] < entry['high'], name
        assert entry['level'] == 0.95 and entry['resamples'] == 300


def test_undefined_metrics_have_no_interval():
    # No hard box anywhere, a class never annotated.
    records = [record([[0, 0, 10, 10]], [0.9], [0], gt_rows([0, 0, 10, 10, 0, 0])),
               record([[0, 0, 10, 10]], [0.3], [0], gt_rows([0, 0, 12, 10, 1, 0]))]
    intervals = bootstrap_intervals(make_outcome_table(records, CLASSES), num_resamples=50)
    for name in ('hard_boxes/confident_detection_rate', 'positive_images/voc07/per_class/dog'):
        assert intervals[name] == {'value': None, 'low': None, 'high': None, 'level': 0.95,
                                   'resamples': 0}
    # The cat's only box is in image 1: the resamples without it leave cat undefined.
    cat = intervals['positive_images/voc07/per_class/cat']
    assert cat['value'] == 0.0 and 0 < cat['resamples'] < 50


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1), num_images=st.integers(30, 50))
def test_width_shrinks_with_more_images(seed, num_images):
    # The same images nine times: the same estimate, a third of the spread.
    records = random_records(np.random.default_rng(seed), num_images, negative_fraction=0.3)
    small = bootstrap_intervals(make_outcome_table(records, CLASSES), 200, seed=seed)
    large = bootstrap_intervals(make_outcome_table(records * 9, CLASSES), 200, seed=seed)
    for name in HEADLINE:
        if small[name]['value'] is None:
            assert large[name]['value'] is None
            continue
        assert large[name]['value'] == pytest.approx(small[name]['value'], abs=1e-12)
        small_width = small[name]['high'] - small[name]['low']
        large_width = large[name]['high'] - large[name]['low']
        assert large_width < small_width or small_width == large_width == 0, name


def test_paired_difference_with_itself_is_exactly_zero():
    table = make_outcome_table(random_records(np.random.default_rng(1), 50), CLASSES)
    for name, entry in paired_bootstrap(table, table, num_resamples=200).items():
        if entry['a'] is None:
            assert entry['difference'] is None and entry['resamples'] == 0
            continue
        assert entry['a'] == entry['b'] and entry['difference'] == 0.0, name
        assert entry['low'] == entry['high'] == 0.0, name


def improved(records, rng):
    """The same images with half of the false positives on positive images removed."""
    out = []
    for r in records:
        if is_negative(r) or not len(r.det_scores):
            out.append(r)
            continue
        iou = np.array([[voc_iou(d, g) for g in r.gt_label[:, :4]] for d in r.det_boxes])
        keep = (iou.max(axis=1) >= 0.5) | (rng.random(len(r.det_scores)) < 0.5)
        out.append(r._replace(det_boxes=r.det_boxes[keep], det_scores=r.det_scores[keep],
                              det_labels=r.det_labels[keep]))
    return out


def test_paired_bootstrap_uses_the_same_resamples_and_sees_a_real_improvement():
    rng = np.random.default_rng(4)
    records = random_records(rng, 150)
    table_a = make_outcome_table(records, CLASSES)
    table_b = make_outcome_table(improved(records, rng), CLASSES)
    paired = paired_bootstrap(table_a, table_b, num_resamples=300, seed=2)
    weights = resample_image_weights(table_a.negative, 300, np.random.default_rng(2))
    samples_a = metrics_from_weights(table_a, weights)
    samples_b = metrics_from_weights(table_b, weights)
    alone_a = bootstrap_intervals(table_a, 300, seed=2)
    alone_b = bootstrap_intervals(table_b, 300, seed=2)
    for name in ('positive_images/voc07/mAP', 'positive_images/coco/AP'):
        entry = paired[name]
        assert entry['a'] == alone_a[name]['value'] and entry['b'] == alone_b[name]['value']
        assert entry['difference'] == pytest.approx(entry['b'] - entry['a'], abs=1e-15)
        assert (entry['low'], entry['high']) == pytest.approx(
            tuple(np.percentile(samples_b[name] - samples_a[name], [2.5, 97.5])), abs=1e-15)
        # Fewer false positives, same true positives: better on every resample.
        assert 0 < entry['low'] <= entry['difference'] <= entry['high']
        # Pairing removes the image-to-image spread both models share.
        assert entry['high'] - entry['low'] < (alone_b[name]['high'] - alone_b[name]['low'])


def test_paired_bootstrap_refuses_other_images():
    records = random_records(np.random.default_rng(2), 10, negative_fraction=0)
    ids = ['im{}'.format(i) for i in range(10)]
    table = make_outcome_table(records, CLASSES, image_ids=ids)
    shuffled = make_outcome_table(records[::-1], CLASSES, image_ids=ids[::-1])
    with pytest.raises(ValueError, match='same order'):
        paired_bootstrap(table, shuffled)
    fewer = make_outcome_table(records[:9], CLASSES, image_ids=ids[:9])
    with pytest.raises(ValueError, match='10 and 9 images, 9 in common'):
        paired_bootstrap(table, fewer)
    other_gt = make_outcome_table(records[:9] + [records[0]], CLASSES, image_ids=ids)
    with pytest.raises(ValueError, match='different ground truth'):
        paired_bootstrap(table, other_gt)
    with pytest.raises(ValueError, match='different settings'):
        paired_bootstrap(table, make_outcome_table(records, CLASSES, image_ids=ids,
                                                   max_dets=5))


def test_over_runs_one_pair_is_the_paired_bootstrap():
    rng = np.random.default_rng(8)
    records = random_records(rng, 60)
    table_a = make_outcome_table(records, CLASSES)
    table_b = make_outcome_table(improved(records, rng), CLASSES)
    paired = paired_bootstrap(table_a, table_b, num_resamples=200, seed=3)
    over_runs = paired_bootstrap_over_runs([(table_a, table_b)], num_resamples=200, seed=3)
    for name in HEADLINE:
        for key in ('difference', 'low', 'high', 'resamples'):
            assert over_runs[name][key] == paired[name][key], (name, key)
        assert over_runs[name]['runs'] == 1
        assert over_runs[name]['per_run'] == [paired[name]['difference']]


def test_over_runs_resamples_the_runs():
    rng = np.random.default_rng(9)
    records = random_records(rng, 80)
    table_a = make_outcome_table(records, CLASSES)
    table_b = make_outcome_table(improved(records, rng), CLASSES)
    name = 'positive_images/voc07/mAP'
    gain = paired_bootstrap(table_a, table_b, 200)[name]['difference']
    assert gain > 0
    # One seed gained nothing, one gained `gain`: the mean is half, and drawing the runs
    # with replacement spreads the interval from about 0 to about `gain`.
    result = paired_bootstrap_over_runs([(table_a, table_a), (table_a, table_b)], 400)[name]
    assert result['per_run'] == [0.0, gain]
    assert result['difference'] == pytest.approx(gain / 2)
    assert result['low'] < gain / 4 and result['high'] > 3 * gain / 4
    # The same runs, a run twice: the image resamples alone, no spread between identical runs.
    same = paired_bootstrap_over_runs([(table_a, table_b)] * 3, 200, seed=1)[name]
    one = paired_bootstrap(table_a, table_b, 200, seed=1)[name]
    assert same['difference'] == pytest.approx(gain)
    assert (same['low'], same['high']) == pytest.approx((one['low'], one['high']), abs=1e-15)


def test_over_runs_refuses_mismatched_runs():
    rng = np.random.default_rng(5)
    table = make_outcome_table(random_records(rng, 10), CLASSES)
    other = make_outcome_table(random_records(rng, 11), CLASSES)
    with pytest.raises(ValueError, match='non-empty'):
        paired_bootstrap_over_runs([])
    with pytest.raises(ValueError, match='run 0 and run 1'):
        paired_bootstrap_over_runs([(table, table), (table, other)])


@pytest.mark.parametrize('kwargs, message', [
    ({'num_resamples': 0}, 'num_resamples'), ({'num_resamples': 2.5}, 'num_resamples'),
    ({'level': 1.0}, 'level')])
def test_bad_settings_are_rejected(kwargs, message):
    table = make_outcome_table([], CLASSES)
    with pytest.raises(ValueError, match=message):
        bootstrap_intervals(table, **kwargs)


def test_bad_weights_are_rejected():
    table = make_outcome_table(random_records(np.random.default_rng(0), 3), CLASSES)
    with pytest.raises(ValueError, match='shape'):
        metrics_from_weights(table, np.ones((2, 4)))
    with pytest.raises(ValueError, match='non-negative'):
        metrics_from_weights(table, [1, -1, 1])


def test_speed_of_1000_resamples_of_400_images():
    rng = np.random.default_rng(0)
    records = random_records(rng, 400, num_classes=1, detections=20)
    num_detections = sum(len(r.det_scores) for r in records)
    assert 7000 < num_detections < 9000
    start = time.perf_counter()
    table = make_outcome_table(records, ['face'])
    table_seconds = time.perf_counter() - start
    start = time.perf_counter()
    intervals = bootstrap_intervals(table, num_resamples=1000)
    seconds = time.perf_counter() - start
    print('outcome table of {} images, {} detections: {:.2f} s; 1000 resamples: {:.2f} s'
          .format(len(records), num_detections, table_seconds, seconds))
    assert intervals['positive_images/coco/AP']['resamples'] == 1000
    # The brief asks for about 5 s; loose so that a loaded machine does not fail it.
    assert seconds < 30


def evaluator_with(records):
    evaluator = DetectionEvaluator(CLASSES)
    for i, r in enumerate(records):
        evaluator.update('im{}'.format(i), r.det_boxes, r.det_scores, r.det_labels,
                         None if is_negative(r) else r.gt_label)
    return evaluator


def test_evaluator_report_with_intervals():
    records = random_records(np.random.default_rng(6), 60, score_levels=5)
    evaluator = evaluator_with(records)
    plain = evaluator.report()
    assert 'intervals' not in plain and 'bootstrap' not in plain['settings']
    report = evaluator.report(bootstrap=100, bootstrap_seed=4)
    assert report == json.loads(json.dumps(report, allow_nan=False))
    assert {k: v for k, v in report.items() if k not in ('intervals', 'settings')} == \
        {k: v for k, v in plain.items() if k != 'settings'}
    assert report['settings']['bootstrap']['resamples'] == 100
    intervals = report['intervals']
    # The intervals' estimates are the report's numbers (ties included).
    for section in ('positive_images', 'all_images'):
        for metric in ('voc07', 'voc12'):
            assert intervals['{}/{}/mAP'.format(section, metric)]['value'] == pytest.approx(
                report[section][metric]['mAP'], abs=1e-12)
        assert intervals[section + '/coco/AP']['value'] == pytest.approx(
            report[section]['coco']['AP'], abs=1e-12)
    headline = report['negative_images']['headline']
    assert intervals['negative_images/mean_per_image']['value'] == headline['mean_per_image']
    assert intervals == bootstrap_intervals(evaluator.outcome_table(), 100, seed=4)
    assert evaluator.outcome_table().image_ids[:2] == tuple(
        'im{}'.format(i) for i, r in enumerate(records) if not is_negative(r))[:2]
    with pytest.raises(ValueError, match='bootstrap'):
        evaluator.report(bootstrap=-1)


def test_format_table_prints_the_headline_intervals():
    evaluator = evaluator_with(random_records(np.random.default_rng(6), 60))
    plain, report = evaluator.report(), evaluator.report(bootstrap=100)
    table = format_table(report)
    intervals = report['intervals']
    lines = table.splitlines()
    low = lines[lines.index(next(line for line in lines if line.startswith('mean '))) + 1]
    assert low.split()[:3] == ['95%', 'low', '{:.4f}'.format(
        intervals['positive_images/voc07/mAP']['low'])]
    assert sum(line.startswith('  95% high') for line in lines) == 2  # positives, all images
    assert 'Hard boxes with a confident detection: ' in table
    headline_row = next(line for line in lines if line.endswith('with any') and '*' in line)
    assert '{:.3f} - '.format(intervals['negative_images/mean_per_image']['low']) \
        in headline_row
    assert '100 resamples' in table
    # The table without intervals is all there, the headline negative row extended.
    plain_table = format_table(plain)
    assert '95%' not in plain_table
    for line in plain_table.splitlines():
        assert line in lines or (line.endswith('*') and headline_row.startswith(line + '  '))
