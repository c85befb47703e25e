"""Evaluate a network on a labelled data set and on images without objects, in one report."""
from gluoncv_hard.engine.predict import predict_dataset
from gluoncv_hard.evaluation import DetectionEvaluator
from gluoncv_hard.utils.progress import progress_bar

__all__ = ['evaluate_network', 'headline_metrics']


def evaluate_network(net, ctx, class_names, dataset=None, negatives=None, num_workers=0,
                     progress=False, bootstrap=0):
    """Run ``net`` over ``dataset`` (labelled; hard boxes ignored) and ``negatives``.

    Returns :meth:`gluoncv_hard.evaluation.DetectionEvaluator.report`: VOC07/VOC12 mAP at IoU
    0.5 and COCO-style AP@[.5:.95] on the labelled images, false detections on the negatives;
    with ``bootstrap`` > 0 resamples, also their confidence intervals over images.
    """
    evaluator = DetectionEvaluator(class_names)
    for name, data, negative in (('val', dataset, False), ('negatives', negatives, True)):
        if data is None:
            continue
        predictions = predict_dataset(net, data, ctx, num_workers=num_workers)
        if progress:
            predictions = progress_bar(predictions, total=len(data), desc='evaluate ' + name,
                                       leave=False)
        for p in predictions:
            evaluator.update('{}:{}'.format(name, data.image_id(p.index)), p.boxes, p.scores,
                             p.labels, None if negative else p.gt_label)
    return evaluator.report(bootstrap=bootstrap)


def headline_metrics(report):
    """The few numbers logged per validation (``None`` where undefined)."""
    positive = report['positive_images']
    negatives = report['negative_images']
    headline = negatives['headline']
    return {
        'voc07_map': positive['voc07']['mAP'],
        'voc12_map': positive['voc12']['mAP'],
        'coco_ap': positive['coco']['AP'],
        'coco_ap50': positive['coco']['AP50'],
        'neg_images': negatives['num_images'],
        'neg_false_detections': headline['total'],
        'neg_false_per_image': headline['mean_per_image'],
        'neg_images_with_false': headline['fraction_of_images'],
        'neg_score_threshold': headline['threshold'],
    }
