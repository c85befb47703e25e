"""Hard-aware detection evaluation: VOC and COCO-style AP with hard boxes ignored, and false
detections on negative images. Pure NumPy (plus GluonCV's VOC metrics); no network, no model.

Typical use with a GluonCV Faster R-CNN::

    evaluator = DetectionEvaluator(class_names)
    for image_id, (x, label, im_scale) in ...:
        ids, scores, bboxes = net(x)
        boxes, det_scores, det_labels = faster_rcnn_to_arrays(ids, scores, bboxes, im_scale)
        evaluator.update(image_id, boxes, det_scores, det_labels, label)
    report = evaluator.report()          # JSON-serialisable
    print(format_table(report))

Confidence intervals (bootstrap over images, `.bootstrap`): ``evaluator.report(bootstrap=1000)``,
or for two models on the same images
``paired_bootstrap(evaluator_a.outcome_table(), evaluator_b.outcome_table())``.
"""
from gluoncv_hard.evaluation.bootstrap import (
           OutcomeTable,
           bootstrap_intervals,
           make_outcome_table,
           metrics_from_weights,
           paired_bootstrap,
           paired_bootstrap_over_runs,
)
from gluoncv_hard.evaluation.coco import coco_map, match_detections, pairwise_overlap
from gluoncv_hard.evaluation.detections import (
           ImageRecord,
           faster_rcnn_to_arrays,
           make_image_record,
           rescale_boxes,
)
from gluoncv_hard.evaluation.evaluator import DetectionEvaluator, format_table
from gluoncv_hard.evaluation.negatives import DEFAULT_SCORE_THRESHOLDS, negative_image_stats
from gluoncv_hard.evaluation.voc import voc_map

__all__ = ['DetectionEvaluator', 'format_table', 'faster_rcnn_to_arrays', 'rescale_boxes',
           'ImageRecord', 'make_image_record', 'voc_map', 'coco_map', 'match_detections',
           'pairwise_overlap', 'negative_image_stats', 'DEFAULT_SCORE_THRESHOLDS',
           'OutcomeTable', 'make_outcome_table', 'metrics_from_weights', 'bootstrap_intervals',
           'paired_bootstrap', 'paired_bootstrap_over_runs']
