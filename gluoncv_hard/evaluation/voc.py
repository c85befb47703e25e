"""Pascal VOC mAP at one IoU threshold, with hard boxes ignored, computed by GluonCV's metrics.

GluonCV's ``VOCMApMetric`` (area under the precision envelope, VOC2010+) and ``VOC07MApMetric``
(11-point) implement the VOC devkit rule when given ``gt_difficults``; the schema's ``hard``
column is passed there. Their rule, per image and class, detections in score order:

1. IoU uses VOC's integer-pixel convention (``xmax + 1``, ``ymax + 1``).
2. Each detection looks only at the GT box it overlaps most (hard or not).
3. If that IoU is below the threshold: false positive.
4. Else if that box is hard: ignored (neither TP nor FP), however many detections hit it.
5. Else the first detection on the box is a TP and later ones are FPs (duplicates).

Hard boxes do not count as positives. A class with no non-hard GT box has AP ``None``; mAP is
the mean over the other classes. This differs from the COCO-style rule in `.coco`, where a
detection prefers any free non-hard box over a hard one.
"""
import warnings

import numpy as np
from gluoncv.utils.metrics.voc_detection import VOC07MApMetric, VOCMApMetric

from gluoncv_hard import schema

__all__ = ['voc_map']


def _nan_to_none(value):
    value = float(value)
    return None if np.isnan(value) else value


def voc_map(records, class_names, use_07_metric=False, iou_thresh=0.5):
    """VOC mAP over a set of images, hard GT boxes ignored.

    Parameters
    ----------
    records : iterable of `ImageRecord`
        Images without any GT box are allowed (all their detections are candidates for FP).
    class_names : sequence of str
    use_07_metric : bool
        True: VOC2007 11-point AP. False: area under the precision envelope (VOC2010+).
    iou_thresh : float

    Returns
    -------
    dict
        ``{'per_class': {name: AP or None}, 'mAP': float or None}``; ``None`` where no class has
        a non-hard GT box.
    """
    metric_class = VOC07MApMetric if use_07_metric else VOCMApMetric
    metric = metric_class(iou_thresh=iou_thresh, class_names=list(class_names))
    seen_anything = False
    for record in records:
        gt = record.gt_label
        if len(gt) == 0 and len(record.det_labels) == 0:
            continue
        seen_anything = True
        # The metric iterates over a batch axis; numpy inputs may have zero length on axis 1
        # (MXNet NDArrays could not), so an image with no GT or no detection needs no padding.
        metric.update(record.det_boxes[None], record.det_labels[None].astype(np.float64),
                      record.det_scores[None], gt[None, :, schema.BOX],
                      gt[None, :, schema.CLASS_ID], schema.is_hard(gt[None, :, schema.HARD]))
    if not seen_anything:
        # GluonCV's get() fails on max() of an empty sequence when nothing was recorded.
        return {'per_class': {name: None for name in class_names}, 'mAP': None}
    with warnings.catch_warnings():
        # nanmean over classes that are all undefined warns; None reports it.
        warnings.simplefilter('ignore', RuntimeWarning)
        names, values = metric.get()
    per_class = {name: _nan_to_none(value) for name, value in zip(names[:-1], values[:-1])}
    return {'per_class': per_class, 'mAP': _nan_to_none(values[-1])}
