"""VOC mAP through GluonCV's metrics, with hard boxes ignored; APs computed by hand."""
import numpy as np
import pytest

from gluoncv_hard.evaluation import make_image_record, voc_map

CLASSES = ['face', 'cat', 'dog']

# One image, class 0: a normal box and a hard box far apart, and three detections.
NORMAL_GT = [0, 0, 10, 10]
HARD_GT = [20, 0, 30, 10]
FAR_AWAY = [50, 50, 60, 60]
DET_BOXES = np.array([HARD_GT, FAR_AWAY, NORMAL_GT], dtype=float)  # exact hits, IoU 1
DET_SCORES = np.array([0.9, 0.8, 0.7])
DET_LABELS = np.zeros(3, dtype=int)


def record(boxes, scores, labels, gt):
    return make_image_record(boxes, scores, labels, gt, len(CLASSES))


def gt_rows(*rows):
    return np.array(rows, dtype=np.float32).reshape(-1, 6)


@pytest.mark.parametrize('use_07', [True, False])
def test_detection_on_hard_box_is_neither_tp_nor_fp(use_07):
    # In score order: hard hit (ignored), FP, TP. n_pos = 1.
    # tp = [0, 0, 1], fp = [0, 1, 1] -> precision [nan, 0, 1/2], recall [0, 0, 1].
    # VOC12: envelope at recall 1 is 1/2 -> AP = 1 * 1/2. VOC07: every point sees 1/2.
    gt = gt_rows(NORMAL_GT + [0, 0], HARD_GT + [0, 1])
    result = voc_map([record(DET_BOXES, DET_SCORES, DET_LABELS, gt)], CLASSES, use_07)
    assert result['per_class']['face'] == pytest.approx(0.5)
    assert result['mAP'] == pytest.approx(0.5)
    assert result['per_class']['cat'] is None and result['per_class']['dog'] is None


@pytest.mark.parametrize('use_07, expected', [
    # Same boxes, hard flag cleared: n_pos = 2, order TP, FP, TP.
    # precision [1, 1/2, 2/3], recall [1/2, 1/2, 1].
    # VOC12: 1/2 * 1 + 1/2 * 2/3 = 5/6.
    # VOC07: points 0..0.5 (6) see precision 1, points 0.6..1 (5) see 2/3 -> (6 + 10/3) / 11.
    (False, 5 / 6), (True, (6 + 10 / 3) / 11)])
def test_without_hard_flag_the_detection_counts_as_tp(use_07, expected):
    gt = gt_rows(NORMAL_GT + [0, 0], HARD_GT + [0, 0])
    result = voc_map([record(DET_BOXES, DET_SCORES, DET_LABELS, gt)], CLASSES, use_07)
    assert result['per_class']['face'] == pytest.approx(expected)


@pytest.mark.parametrize('use_07', [True, False])
def test_without_the_hard_box_the_detection_is_an_fp(use_07):
    # Order FP, FP, TP with n_pos = 1: precision at recall 1 is 1/3 -> AP 1/3 (both metrics).
    gt = gt_rows(NORMAL_GT + [0, 0])
    result = voc_map([record(DET_BOXES, DET_SCORES, DET_LABELS, gt)], CLASSES, use_07)
    assert result['per_class']['face'] == pytest.approx(1 / 3)


def test_voc_devkit_rule_looks_only_at_the_best_overlapping_box():
    # The detection's best box (IoU 1) is hard, so it is ignored, although it also overlaps
    # a normal box with IoU 11*11 / (11*15) = 0.73 (VOC +1 pixel convention). Recall 0 -> AP 0.
    gt = gt_rows([0, 0, 10, 14, 0, 0], [0, 0, 10, 10, 0, 1])
    result = voc_map([record([[0, 0, 10, 10]], [0.9], [0], gt)], CLASSES)
    assert result['per_class']['face'] == 0.0


@pytest.mark.parametrize('use_07', [True, False])
def test_perfect_detections_give_map_one(use_07):
    gt_a = gt_rows([0, 0, 10, 10, 0, 0], [30, 30, 50, 60, 1, 0], [5, 5, 8, 8, 1, 1])
    gt_b = gt_rows([10, 10, 40, 40, 2, 0])
    records = [record(gt_a[:2, :4], [0.9, 0.3], [0, 1], gt_a),
               record(gt_b[:, :4], [0.6], [2], gt_b)]
    result = voc_map(records, CLASSES, use_07)
    # VOC07 sums 11 terms of 1/11: 1.0000000000000002.
    assert result['per_class'] == pytest.approx({'face': 1.0, 'cat': 1.0, 'dog': 1.0})
    assert result['mAP'] == pytest.approx(1.0)


def test_no_detections_give_zero():
    gt = gt_rows([0, 0, 10, 10, 0, 0], [0, 0, 10, 10, 1, 0])
    result = voc_map([record(np.zeros((0, 4)), [], [], gt)], CLASSES)
    assert result['per_class'] == {'face': 0.0, 'cat': 0.0, 'dog': None}
    assert result['mAP'] == 0.0


def test_zero_gt_images():
    good = record([[0, 0, 10, 10]], [0.5], [0], gt_rows([0, 0, 10, 10, 0, 0]))
    silent_empty = record(np.zeros((0, 4)), [], [], None)
    assert voc_map([good, silent_empty], CLASSES)['mAP'] == 1.0
    # An empty image with a higher-scoring detection adds an FP ahead of the TP:
    # precision [0, 1/2], recall [0, 1] -> AP 1/2.
    false_alarm = record([[0, 0, 10, 10]], [0.9], [0], None)
    assert voc_map([good, false_alarm], CLASSES)['mAP'] == pytest.approx(0.5)


def test_nothing_at_all_gives_none():
    result = voc_map([record(np.zeros((0, 4)), [], [], None)], CLASSES)
    assert result == {'per_class': {name: None for name in CLASSES}, 'mAP': None}


def test_class_with_only_hard_boxes_or_only_detections_has_no_ap():
    gt = gt_rows([0, 0, 10, 10, 0, 0], [0, 0, 10, 10, 1, 1])
    result = voc_map([record([[0, 0, 10, 10], [50, 50, 60, 60]], [0.9, 0.8], [0, 2], gt)],
                     CLASSES)
    assert result['per_class'] == {'face': 1.0, 'cat': None, 'dog': None}
    assert result['mAP'] == 1.0
