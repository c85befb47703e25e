"""Accumulate per-image detections and report positive- and negative-image metrics together.

An image is **negative** when it has no GT box at all (``gt_label`` is ``None``, empty, or only
padding). An image whose boxes are all hard is not negative: it goes with the positive images,
where detections on its hard boxes are ignored and others are false positives.

Report sections:

- ``positive_images``: VOC07, VOC12 (IoU ``voc_iou_thresh``) and COCO-style AP over positive
  images only, the usual benchmark number.
- ``all_images``: the same over positive and negative images, so false detections on negatives
  lower precision; ``None`` when there is no negative image (it would equal the above).
- ``negative_images``: false-detection counts on negatives (see `.negatives`).
- ``intervals`` (only with ``report(bootstrap=N)``, N > 0): for every number above (per class
  too), and for the fraction of hard boxes with a confident detection, the percentile bootstrap
  interval over images (see `.bootstrap`).
"""
import numpy as np

from gluoncv_hard import schema
from gluoncv_hard.evaluation.bootstrap import (
    DEFAULT_LEVEL,
    HARD_DETECTION_IOU_THRESH,
    bootstrap_intervals,
    make_outcome_table,
)
from gluoncv_hard.evaluation.coco import HARD_OVERLAP_MODES, IOU_THRESHOLDS, MAX_DETS, coco_map
from gluoncv_hard.evaluation.detections import make_image_record
from gluoncv_hard.evaluation.negatives import (
    DEFAULT_SCORE_THRESHOLDS,
    HEADLINE_SCORE_THRESHOLD,
    negative_image_stats,
)
from gluoncv_hard.evaluation.voc import voc_map

__all__ = ['DetectionEvaluator', 'format_table']


class DetectionEvaluator:
    """Hard-aware detection evaluator.

    Parameters
    ----------
    class_names : sequence of str
        Unique names; class id ``i`` is ``class_names[i]``.
    voc_iou_thresh : float
        IoU threshold of the VOC metrics.
    hard_overlap : {'iod', 'iou'}
        How the COCO metric decides that a detection lies on a hard box (see `.coco`); the
        default ``'iod'`` is pycocotools' rule for ``iscrowd`` regions.
    max_dets : int
        COCO-style detections kept per image and class.
    score_thresholds : sequence of float
        Sweep for the negative-image counts; ``HEADLINE_SCORE_THRESHOLD`` (0.5) is always added.

    Examples
    --------
    >>> import numpy as np
    >>> ev = DetectionEvaluator(['face'])
    >>> ev.update('a.jpg', np.array([[0., 0, 10, 10]]), np.array([0.9]), np.array([0]),
    ...           np.array([[0., 0, 10, 10, 0, 0]]))
    >>> ev.update('b.jpg', np.array([[5., 5, 9, 9]]), np.array([0.6]), np.array([0]), None)
    >>> r = ev.report()
    >>> r['positive_images']['voc12']['mAP'], r['negative_images']['headline']['total']
    (1.0, 1)
    """

    def __init__(self, class_names, voc_iou_thresh=0.5, hard_overlap='iod', max_dets=MAX_DETS,
                 score_thresholds=DEFAULT_SCORE_THRESHOLDS):
        self.class_names = [str(name) for name in class_names]
        if not self.class_names or len(set(self.class_names)) != len(self.class_names):
            raise ValueError('class_names must be a non-empty list of unique names, got {}'
                             .format(list(class_names)))
        if hard_overlap not in HARD_OVERLAP_MODES:
            raise ValueError('hard_overlap must be one of {}, got {!r}'
                             .format(HARD_OVERLAP_MODES, hard_overlap))
        if not 0 < voc_iou_thresh < 1:
            raise ValueError('voc_iou_thresh must be in (0, 1), got {}'.format(voc_iou_thresh))
        self.voc_iou_thresh = float(voc_iou_thresh)
        self.hard_overlap = hard_overlap
        self.max_dets = int(max_dets)
        self.score_thresholds = sorted(set(float(t) for t in score_thresholds)
                                       | {HEADLINE_SCORE_THRESHOLD})
        self.reset()

    def reset(self):
        """Forget every image."""
        self._positive = []  # ImageRecord
        self._positive_ids = []
        self._negative = []  # ImageRecord
        self._negative_ids = []
        self._seen_ids = set()

    def __len__(self):
        return len(self._seen_ids)

    def update(self, image_id, det_boxes, det_scores, det_labels, gt_label):
        """Add one image.

        Parameters
        ----------
        image_id : str or int
            Unique over the evaluation; appears in the report.
        det_boxes : array-like, shape (K, 4)
            ``xmin, ymin, xmax, ymax`` on the same pixel scale as ``gt_label``; K may be 0.
        det_scores : array-like, shape (K,)
        det_labels : array-like, shape (K,)
            Class ids in ``[0, len(class_names))``, no padding (see `faster_rcnn_to_arrays`).
        gt_label : array-like, shape (N, 6) or (N, 5), or None
            Schema layout. ``None`` or no box: a negative image.
        """
        if isinstance(image_id, bool) or not isinstance(image_id, (str, int, np.integer)):
            raise TypeError('image_id must be a str or int (it goes into the JSON report), '
                            'got {!r}'.format(image_id))
        image_id = image_id if isinstance(image_id, str) else int(image_id)
        if image_id in self._seen_ids:
            raise ValueError('image {!r} was already added; image ids must be unique'
                             .format(image_id))
        record = make_image_record(det_boxes, det_scores, det_labels, gt_label,
                                   len(self.class_names), where='image {!r}'.format(image_id))
        self._seen_ids.add(image_id)
        if len(record.gt_label):
            self._positive.append(record)
            self._positive_ids.append(image_id)
        else:
            self._negative.append(record)
            self._negative_ids.append(image_id)

    def _ap_metrics(self, records):
        return {
            'voc07': voc_map(records, self.class_names, use_07_metric=True,
                             iou_thresh=self.voc_iou_thresh),
            'voc12': voc_map(records, self.class_names, use_07_metric=False,
                             iou_thresh=self.voc_iou_thresh),
            'coco': coco_map(records, self.class_names, max_dets=self.max_dets,
                             hard_overlap=self.hard_overlap),
        }

    def outcome_table(self):
        """Every image's matched detections, for bootstrap intervals (see `.bootstrap`).

        Returns
        -------
        OutcomeTable
            Positive images first, then negative ones, each in the order they were added (the
            order of the report's ``all_images`` metrics), with the evaluator's settings.
        """
        return make_outcome_table(self._positive + self._negative, self.class_names,
                                  image_ids=self._positive_ids + self._negative_ids,
                                  voc_iou_thresh=self.voc_iou_thresh, max_dets=self.max_dets,
                                  hard_overlap=self.hard_overlap)

    def report(self, bootstrap=0, bootstrap_seed=0):
        """Every metric, as a JSON-serialisable dict (undefined values are ``None``).

        Parameters
        ----------
        bootstrap : int
            Resamples of the images for confidence intervals; 0 (default): none.
        bootstrap_seed : int
            Seed of the resamples (the same seed gives the same intervals).

        Returns
        -------
        dict
            Keys ``class_names``, ``settings``, ``num_images`` (``positive``, ``negative``,
            ``total``), ``ground_truth`` (per class ``num_boxes``, ``num_hard``),
            ``positive_images``, ``all_images`` (each ``voc07``/``voc12``: ``per_class``,
            ``mAP``; ``coco``: ``AP``, ``AP50``, ``AP75``, ``AR``, ``per_class``) and
            ``negative_images`` (`negative_image_stats` plus ``headline``, the entry of
            ``by_threshold`` at score 0.5). With ``bootstrap > 0`` also ``intervals``:
            ``{metric: {'value', 'low', 'high', 'level', 'resamples'}}`` with the metric
            names of `.bootstrap` (``'positive_images/voc07/mAP'``, ...), and
            ``settings['bootstrap']`` (``resamples``, ``seed``, ``level``, what is resampled).
        """
        if isinstance(bootstrap, bool) or int(bootstrap) != bootstrap or bootstrap < 0:
            raise ValueError('bootstrap must be 0 (no intervals) or a number of resamples, '
                             'got {!r}'.format(bootstrap))
        num_classes = len(self.class_names)
        num_boxes = np.zeros(num_classes, dtype=np.int64)
        num_hard = np.zeros(num_classes, dtype=np.int64)
        for record in self._positive:
            _, classes, hard = schema.split_label(record.gt_label)
            classes = classes.astype(np.int64)
            num_boxes += np.bincount(classes, minlength=num_classes)
            num_hard += np.bincount(classes[hard], minlength=num_classes)

        negatives = negative_image_stats(self._negative_ids,
                                         [r.det_scores for r in self._negative],
                                         self.score_thresholds)
        negatives['headline'] = next(entry for entry in negatives['by_threshold']
                                     if entry['threshold'] == HEADLINE_SCORE_THRESHOLD)
        report = {
            'class_names': list(self.class_names),
            'settings': {
                'voc_iou_thresh': self.voc_iou_thresh,
                # pycocotools' linspace values (0.8999999999999999...), rounded for reading.
                'coco_iou_thresholds': np.round(IOU_THRESHOLDS, 2).tolist(),
                'hard_overlap': self.hard_overlap,
                'max_dets': self.max_dets,
            },
            'num_images': {'positive': len(self._positive), 'negative': len(self._negative),
                           'total': len(self)},
            'ground_truth': {name: {'num_boxes': int(num_boxes[c]), 'num_hard': int(num_hard[c])}
                             for c, name in enumerate(self.class_names)},
            'positive_images': self._ap_metrics(self._positive),
            'all_images': (self._ap_metrics(self._positive + self._negative)
                           if self._negative else None),
            'negative_images': negatives,
        }
        if bootstrap:
            report['settings']['bootstrap'] = {
                'resamples': int(bootstrap), 'seed': int(bootstrap_seed), 'level': DEFAULT_LEVEL,
                'method': 'percentile; positive and negative images resampled separately',
                'hard_detection': 'score >= {}, VOC IoU >= {}, any class'.format(
                    HEADLINE_SCORE_THRESHOLD, HARD_DETECTION_IOU_THRESH)}
            report['intervals'] = bootstrap_intervals(self.outcome_table(), int(bootstrap),
                                                      seed=bootstrap_seed)
        return report


def _fmt(value, width=7):
    return '{:>{w}}'.format('-' if value is None else '{:.4f}'.format(value), w=width)


def _percent(value):
    return '-' if value is None else '{:.1f}%'.format(100 * value)


def format_table(report, num_hardest=5):
    """Render a `DetectionEvaluator.report` as a plain-text table.

    With an ``intervals`` section, the headline numbers get their intervals: two rows (low,
    high) under each mean row, the interval of the headline negative-image row beside it, and
    a line on hard boxes with a confident detection.

    Parameters
    ----------
    report : dict
        As returned by `DetectionEvaluator.report` (or loaded back from JSON).
    num_hardest : int
        How many negative images with the highest detection score to list.

    Returns
    -------
    str
    """
    counts = report['num_images']
    lines = ['Images: {} positive, {} negative. Hard boxes ignored (COCO hard overlap: {}).'
             .format(counts['positive'], counts['negative'], report['settings']['hard_overlap'])]
    name_width = max([len('mean, all images')] + [len(n) for n in report['class_names']])
    header = '{:<{w}} {:>6} {:>6} {:>7} {:>7} {:>7} {:>7} {:>7}'.format(
        'class', 'boxes', 'hard', 'VOC07', 'VOC12', 'AP', 'AP50', 'AP75', w=name_width)
    lines += ['', 'Positive images (VOC at IoU {}; AP = COCO-style mean over IoU 0.50:0.95)'
              .format(report['settings']['voc_iou_thresh']), header, '-' * len(header)]
    metrics = report['positive_images']
    for name in report['class_names']:
        gt = report['ground_truth'][name]
        coco = metrics['coco']['per_class'][name]
        lines.append('{:<{w}} {:>6} {:>6} {} {} {} {} {}'.format(
            name, gt['num_boxes'], gt['num_hard'], _fmt(metrics['voc07']['per_class'][name]),
            _fmt(metrics['voc12']['per_class'][name]), _fmt(coco['AP']), _fmt(coco['AP50']),
            _fmt(coco['AP75']), w=name_width))
    lines.append('-' * len(header))
    rows = [('mean', 'positive_images')]
    if report['all_images'] is not None:
        rows.append(('mean, all images', 'all_images'))
    intervals = report.get('intervals')
    level = '{:g}%'.format(100 * report['settings']['bootstrap']['level']) if intervals else ''
    for label, prefix in rows:
        section = report[prefix]
        lines.append('{:<{w}} {:>6} {:>6} {} {} {} {} {}'.format(
            label, '', '', _fmt(section['voc07']['mAP']), _fmt(section['voc12']['mAP']),
            _fmt(section['coco']['AP']), _fmt(section['coco']['AP50']),
            _fmt(section['coco']['AP75']), w=name_width))
        if intervals:
            names = ['voc07/mAP', 'voc12/mAP', 'coco/AP', 'coco/AP50', 'coco/AP75']
            for bound in ('low', 'high'):
                lines.append('{:<{w}} {:>6} {:>6} {}'.format(
                    '  {} {}'.format(level, bound), '', '', ' '.join(
                        _fmt(intervals['{}/{}'.format(prefix, name)][bound])
                        for name in names), w=name_width))
    if intervals:
        hard = intervals['hard_boxes/confident_detection_rate']
        if hard['value'] is not None:
            lines.append('Hard boxes with a confident detection: {} ({}: {} - {}; {})'.format(
                _percent(hard['value']), level, _percent(hard['low']), _percent(hard['high']),
                report['settings']['bootstrap']['hard_detection']))

    negatives = report['negative_images']
    lines += ['', 'Negative images: {} (every detection is false)'.format(negatives['num_images'])]
    if negatives['num_images']:
        lines.append('{:>8} {:>8} {:>10} {:>16}'.format('score >=', 'total', 'per image',
                                                        'images with any'))
        for entry in negatives['by_threshold']:
            marker = ' *' if entry['threshold'] == negatives['headline']['threshold'] else ''
            if marker and intervals:
                per_image = intervals['negative_images/mean_per_image']
                with_any = intervals['negative_images/fraction_of_images']
                marker += '  {}: {:.3f} - {:.3f} per image, {} - {} with any'.format(
                    level, per_image['low'], per_image['high'], _percent(with_any['low']),
                    _percent(with_any['high']))
            lines.append('{:>8.2f} {:>8} {:>10.3f} {:>15.1f}%{}'.format(
                entry['threshold'], entry['total'], entry['mean_per_image'],
                100 * entry['fraction_of_images'], marker))
        lines.append('(* headline threshold)')
        hardest = [e for e in negatives['per_image'] if e['max_score'] is not None][:num_hardest]
        if hardest:
            lines.append('Highest-scoring negatives: ' + ', '.join(
                '{} ({:.3f})'.format(e['image_id'], e['max_score']) for e in hardest))
    if intervals:
        lines += ['', '{} intervals: percentile bootstrap over images, {} resamples, positive '
                      'and negative images resampled separately.'
                      .format(level, report['settings']['bootstrap']['resamples'])]
    return '\n'.join(lines)
