"""COCO-style AP with hard boxes as ignore regions: hand-computed cases and a loop reference."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gluoncv_hard.evaluation import coco_map, make_image_record, match_detections, pairwise_overlap
from gluoncv_hard.evaluation.coco import (
    FALSE_POSITIVE,
    IGNORED,
    IOU_THRESHOLDS,
    RECALL_THRESHOLDS,
    TRUE_POSITIVE,
)

CLASSES = ['face', 'cat']


def record(boxes, scores, labels, gt):
    gt = None if gt is None else np.array(gt, dtype=np.float32).reshape(-1, 6)
    return make_image_record(np.array(boxes, dtype=float).reshape(-1, 4), scores, labels, gt,
                             len(CLASSES))


# ---------------------------------------------------------------- loop reference
def overlap_ref(a, b, mode):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    area_a = max(0.0, a[2] - a[0]) * max(0.0, a[3] - a[1])
    area_b = max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])
    denominator = area_a + area_b - inter if mode == 'iou' else area_a
    return inter / denominator if denominator > 0 else 0.0


def coco_ref(records, num_classes, max_dets=100, hard_overlap='iou'):
    """The documented rule written with plain loops, pycocotools style."""
    ap = {c: [] for c in range(num_classes)}
    rec = {c: [] for c in range(num_classes)}
    for c in range(num_classes):
        n_pos = 0
        outcomes, scores = [[] for _ in IOU_THRESHOLDS], []
        for r in records:
            gts = [row for row in r.gt_label.tolist() if int(row[4]) == c]
            normal = [g[:4] for g in gts if g[5] < 0.5]
            hard = [g[:4] for g in gts if g[5] >= 0.5]
            n_pos += len(normal)
            dets = [i for i in range(len(r.det_labels)) if r.det_labels[i] == c]
            dets = sorted(dets, key=lambda i: -r.det_scores[i])[:max_dets]
            scores += [r.det_scores[i] for i in dets]
            for t_index, t in enumerate(IOU_THRESHOLDS):
                taken = set()
                for i in dets:
                    box = r.det_boxes[i].tolist()
                    best, best_iou = -1, -1.0
                    for g, gt_box in enumerate(normal):
                        iou = overlap_ref(box, gt_box, 'iou')
                        # >=: of equal IoUs the last box wins, as in pycocotools.
                        if g not in taken and iou >= t and iou >= best_iou:
                            best, best_iou = g, iou
                    if best >= 0:
                        taken.add(best)
                        outcomes[t_index].append('tp')
                    elif any(overlap_ref(box, h, hard_overlap) >= t for h in hard):
                        outcomes[t_index].append('ignored')
                    else:
                        outcomes[t_index].append('fp')
        if n_pos == 0:
            ap[c], rec[c] = None, None
            continue
        order = sorted(range(len(scores)), key=lambda i: -scores[i])
        for t_index in range(len(IOU_THRESHOLDS)):
            tp = fp = 0
            recalls, precisions = [], []
            for i in order:
                tp += outcomes[t_index][i] == 'tp'
                fp += outcomes[t_index][i] == 'fp'
                recalls.append(tp / n_pos)
                precisions.append(tp / (tp + fp + np.spacing(1)))
            for i in range(len(precisions) - 2, -1, -1):
                precisions[i] = max(precisions[i], precisions[i + 1])
            q = []
            for r_point in RECALL_THRESHOLDS:
                hits = [i for i, value in enumerate(recalls) if value >= r_point]
                q.append(precisions[hits[0]] if hits else 0.0)
            ap[c].append(sum(q) / len(q))
            rec[c].append(recalls[-1] if recalls else 0.0)
    return ap, rec


# ---------------------------------------------------------------- hand-computed cases
NORMAL_GT = [0, 0, 10, 10]
HARD_GT = [20, 0, 30, 10]
FAR_AWAY = [50, 50, 60, 60]
DETS = dict(boxes=[HARD_GT, FAR_AWAY, NORMAL_GT], scores=[0.9, 0.8, 0.7], labels=[0, 0, 0])


def test_detection_on_hard_box_is_ignored_at_every_threshold():
    # Exact hits (IoU 1). Order: hard hit (ignored), FP, TP; n_pos = 1.
    # recall [0, 0, 1], precision [0, 0, 1/2] -> envelope 1/2 at every recall point -> AP 1/2.
    result = coco_map([record(gt=[NORMAL_GT + [0, 0], HARD_GT + [0, 1]], **DETS)], CLASSES)
    assert result['AP'] == pytest.approx(0.5)
    assert result['AP50'] == pytest.approx(0.5)
    assert result['AP75'] == pytest.approx(0.5)
    assert result['AR'] == 1.0
    assert result['per_class']['face']['n_pos'] == 1
    assert result['per_class']['cat'] == {'AP': None, 'AP50': None, 'AP75': None, 'AR': None,
                                          'n_pos': 0}


def test_without_hard_flag_ap_changes_as_computed():
    # Order TP, FP, TP; n_pos = 2. recall [1/2, 1/2, 1], precision [1, 1/2, 2/3].
    # Envelope [1, 2/3, 2/3]: recall points 0..0.50 (51) -> 1, 0.51..1 (50) -> 2/3.
    result = coco_map([record(gt=[NORMAL_GT + [0, 0], HARD_GT + [0, 0]], **DETS)], CLASSES)
    assert result['AP'] == pytest.approx((51 + 50 * 2 / 3) / 101)


def test_without_the_hard_box_the_detection_is_an_fp():
    # Order FP, FP, TP; n_pos = 1: precision 1/3 at recall 1 -> AP 1/3.
    result = coco_map([record(gt=[NORMAL_GT + [0, 0]], **DETS)], CLASSES)
    assert result['AP'] == pytest.approx(1 / 3)


def test_iou_thresholds_split_ap50_and_ap75():
    # IoU 72/100 = 0.72: TP at 0.50..0.70 (5 thresholds, AP 1), FP at 0.75..0.95 (AP 0).
    result = coco_map([record([[0, 0, 10, 7.2]], [0.9], [0], [[0, 0, 10, 10, 0, 0]])], CLASSES)
    assert (result['AP'], result['AP50'], result['AP75']) == pytest.approx((0.5, 1.0, 0.0))


def test_greedy_matching_takes_next_best_free_box():
    g0, g1 = [0, 0, 10, 10], [0, 2, 10, 12]
    d0, d1 = [0, 0.5, 10, 10.5], [0, 0, 10, 10]
    ious = pairwise_overlap(np.array([d0, d1]), np.array([g0, g1]))
    np.testing.assert_allclose(ious, [[95 / 105, 85 / 115], [1, 80 / 120]])
    status = match_detections(np.array([d0, d1]), np.array([g0, g1]), np.zeros(2, bool))
    # t <= 0.65: d0 -> g0, d1 -> g1 (0.667). t in 0.70..0.90: d1 finds g0 taken, g1 too low.
    # t = 0.95: d0 (0.905) fails, d1 takes g0.
    tp, fp = TRUE_POSITIVE, FALSE_POSITIVE
    expected = [[tp, tp]] * 4 + [[tp, fp]] * 5 + [[fp, tp]]
    np.testing.assert_array_equal(status, expected)
    # AP per threshold: 1 (x4); TP,FP -> 51/101 (x5); FP,TP -> precision 1/2 up to recall 1/2
    # -> 25.5/101.
    result = coco_map([record([d0, d1], [0.9, 0.8], [0, 0],
                              [g0 + [0, 0], g1 + [0, 0]])], CLASSES)
    assert result['AP'] == pytest.approx((4 + 5 * 51 / 101 + 25.5 / 101) / 10)
    assert result['AP50'] == 1.0
    assert result['AP75'] == pytest.approx(51 / 101)


def test_iou_tie_goes_to_the_last_gt_box_as_in_pycocotools():
    # d0 overlaps g0 and g1 equally (90/110); d1 overlaps g1 with 90/110 and g0 with 70/130.
    # At t = 0.7, d0 takes g1 (pycocotools keeps the last of equal IoUs), so d1 finds g1 taken
    # and g0 below the threshold: an FP. (Taking g0 would have made both TPs, but it is not the
    # reference definition that published COCO numbers use.)
    gt_boxes = np.array([[0., 0, 10, 10], [2, 0, 12, 10]])
    dets = np.array([[1., 0, 11, 10], [3, 0, 13, 10]])
    status = match_detections(dets, gt_boxes, np.zeros(2, bool), [0.7])
    np.testing.assert_array_equal(status, [[TRUE_POSITIVE, FALSE_POSITIVE]])
    # At t = 0.5 g0 (IoU 0.54) is still good enough for d1.
    status = match_detections(dets, gt_boxes, np.zeros(2, bool), [0.5])
    np.testing.assert_array_equal(status, [[TRUE_POSITIVE, TRUE_POSITIVE]])


def test_free_normal_box_wins_over_hard_box():
    # The detection equals the hard box (IoU 1) and overlaps a normal box with IoU 100/140.
    # COCO rule: TP on the normal box while 0.714 >= t (0.50..0.70), else ignored -> AP 1/2.
    # (The VOC devkit rule ignores it at 0.5; see test_voc.)
    gt = [[0, 0, 10, 14, 0, 0], [0, 0, 10, 10, 0, 1]]
    status = match_detections(np.array([[0., 0, 10, 10]]), np.array(gt)[:, :4],
                              np.array([False, True]))
    np.testing.assert_array_equal(status[:, 0], [TRUE_POSITIVE] * 5 + [IGNORED] * 5)
    result = coco_map([record([[0, 0, 10, 10]], [0.9], [0], gt)], CLASSES)
    assert (result['AP'], result['AP50'], result['AP75']) == pytest.approx((0.5, 1.0, 0.0))


@pytest.mark.parametrize('mode, expected', [('iou', 0.5), ('iod', 1.0)])
def test_hard_overlap_mode_iou_versus_intersection_over_detection(mode, expected):
    # A small detection inside a large hard region: IoU 100/10000, IoD 1.
    # 'iou': FP then TP -> AP 1/2. 'iod' (pycocotools crowd): ignored then TP -> AP 1.
    gt = [[0, 0, 100, 100, 0, 1], [200, 200, 210, 210, 0, 0]]
    dets = [[10, 10, 20, 20], [200, 200, 210, 210]]
    result = coco_map([record(dets, [0.9, 0.8], [0, 0], gt)], CLASSES, hard_overlap=mode)
    assert result['AP'] == pytest.approx(expected)


def test_hard_box_absorbs_any_number_of_detections():
    gt = [[0, 0, 10, 10, 0, 1], [40, 40, 50, 50, 0, 0]]
    dets = [[0, 0, 10, 10]] * 3 + [[40, 40, 50, 50], [40, 40, 50, 50]]
    status = match_detections(np.array(dets, float), np.array(gt, float)[:, :4],
                              np.array([True, False]), [0.5])
    # Three on the hard box ignored, first on the normal box TP, its duplicate FP.
    np.testing.assert_array_equal(status, [[IGNORED] * 3 + [TRUE_POSITIVE, FALSE_POSITIVE]])


def test_perfect_no_detections_and_absent_class():
    gt = [[0, 0, 10, 10, 0, 0], [20, 20, 40, 50, 0, 0]]
    perfect = coco_map([record([g[:4] for g in gt], [0.5, 0.4], [0, 0], gt)], CLASSES)
    assert (perfect['AP'], perfect['AR']) == (pytest.approx(1.0), 1.0)
    none = coco_map([record(np.zeros((0, 4)), [], [], gt)], CLASSES)
    assert (none['AP'], none['AP50'], none['AR']) == (0.0, 0.0, 0.0)
    nothing = coco_map([record(np.zeros((0, 4)), [], [], None)], CLASSES)
    assert nothing['AP'] is None and nothing['per_class']['face']['AP'] is None


def test_max_dets_keeps_the_highest_scores_per_image_and_class():
    gt = [[0, 0, 10, 10, 0, 0]]
    # The TP has the lowest score; with max_dets=2 it is dropped -> AP 0.
    dets = [[50, 50, 60, 60], [70, 70, 80, 80], [0, 0, 10, 10]]
    assert coco_map([record(dets, [0.9, 0.8, 0.7], [0, 0, 0], gt)], CLASSES,
                    max_dets=2)['AP'] == 0.0
    # Cap is per class: two detections of class 1 do not push out the class-0 TP.
    assert coco_map([record(dets, [0.9, 0.8, 0.7], [1, 1, 0], gt)], CLASSES,
                    max_dets=2)['AP'] == pytest.approx(1.0)


def test_small_case_matches_loop_reference():
    records = [
        record([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 28], [0, 0, 5, 5]],
               [0.9, 0.85, 0.6, 0.3], [0, 0, 0, 1],
               [[0, 0, 10, 10, 0, 0], [20, 20, 30, 30, 0, 1], [0, 0, 6, 6, 1, 0]]),
        record([[3, 3, 9, 9]], [0.95], [0], None),
        record([[2, 2, 12, 12], [40, 40, 44, 44]], [0.5, 0.4], [0, 1],
               [[2, 2, 12, 13, 0, 0], [40, 40, 45, 45, 1, 0], [100, 100, 110, 110, 1, 0]]),
    ]
    assert_matches_reference(records, max_dets=100, hard_overlap='iou')


def assert_matches_reference(records, max_dets, hard_overlap):
    result = coco_map(records, CLASSES, max_dets=max_dets, hard_overlap=hard_overlap)
    ref_ap, ref_recall = coco_ref(records, len(CLASSES), max_dets, hard_overlap)
    defined = [c for c in range(len(CLASSES)) if ref_ap[c] is not None]
    for c, name in enumerate(CLASSES):
        got = result['per_class'][name]
        if ref_ap[c] is None:
            assert got['AP'] is None
            continue
        assert got['AP'] == pytest.approx(np.mean(ref_ap[c]), abs=1e-12)
        assert got['AP50'] == pytest.approx(ref_ap[c][0], abs=1e-12)
        assert got['AP75'] == pytest.approx(ref_ap[c][5], abs=1e-12)
        assert got['AR'] == pytest.approx(np.mean(ref_recall[c]), abs=1e-12)
    if defined:
        assert result['AP'] == pytest.approx(np.mean([np.mean(ref_ap[c]) for c in defined]),
                                             abs=1e-12)
    else:
        assert result['AP'] is None


# ---------------------------------------------------------------- property test
coordinate = st.integers(0, 12)


@st.composite
def boxes(draw):
    x0, y0 = draw(coordinate), draw(coordinate)
    return [x0, y0, x0 + draw(st.integers(1, 8)), y0 + draw(st.integers(1, 8))]


@st.composite
def detection_box(draw, gt):
    """Mostly a jittered GT box (so hard hits, duplicates and ties happen), else random."""
    source = draw(st.integers(-1, len(gt) - 1))
    if source < 0:
        return draw(boxes())
    x0, y0, x1, y1 = gt[source][:4]
    jitter = draw(st.lists(st.integers(-1, 1), min_size=4, max_size=4))
    x0, y0 = x0 + jitter[0], y0 + jitter[1]
    return [x0, y0, max(x1 + jitter[2], x0 + 1), max(y1 + jitter[3], y0 + 1)]


@st.composite
def images(draw):
    gt = [b + [draw(st.integers(0, 1)), draw(st.integers(0, 1))]
          for b in draw(st.lists(boxes(), max_size=4))]
    n = draw(st.integers(0, 6))
    dets = [draw(detection_box(gt)) for _ in range(n)]
    # Few distinct scores so that ties (stable order) are exercised.
    scores = draw(st.lists(st.sampled_from([0.1, 0.5, 0.5, 0.9]), min_size=n, max_size=n))
    labels = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    return record(dets, scores, labels, gt or None)


@settings(max_examples=150, deadline=None)
@given(st.lists(images(), min_size=1, max_size=3), st.sampled_from([2, 100]),
       st.sampled_from(['iou', 'iod']))
def test_vectorized_matches_loop_reference(records, max_dets, hard_overlap):
    assert_matches_reference(records, max_dets, hard_overlap)


def test_pairwise_overlap_modes_and_degenerate_boxes():
    a = np.array([[0., 0, 10, 10], [5, 5, 5, 9]])  # second has zero area
    b = np.array([[0., 0, 20, 10]])
    np.testing.assert_allclose(pairwise_overlap(a, b, 'iou'), [[0.5], [0.0]])
    np.testing.assert_allclose(pairwise_overlap(a, b, 'iod'), [[1.0], [0.0]])
    assert pairwise_overlap(a, np.zeros((0, 4))).shape == (2, 0)
    with pytest.raises(ValueError, match='iou'):
        pairwise_overlap(a, b, 'giou')
