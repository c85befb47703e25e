"""``PREFIX_metrics.png``: a picture of a training run, drawn from ``PREFIX_metrics.jsonl``.

Three panels over the epochs: the four training losses (log scale), the validation metrics
(VOC07/VOC12 mAP and COCO AP, AP50, hard boxes ignored; false detections per negative image on
the right axis) with the best epoch marked, and the learning rate. The trainer redraws it after
each validation and after the last epoch; ``gluoncv-hard-plot RUN_PREFIX`` draws it for any run.
When a run was resumed from an earlier epoch, the metrics file holds an epoch more than once;
the latest line of each epoch is the one drawn (it is what the checkpoints came from).
"""
import io
import json
import math
import os

from gluoncv_hard.errors import InputError, InputNotFoundError
from gluoncv_hard.modeling.losses import LOSS_NAMES
from gluoncv_hard.utils.atomic import write_bytes_atomic

__all__ = ['METRICS_SUFFIX', 'PLOT_SUFFIX', 'metrics_path_of', 'plot_path_of', 'read_metrics',
           'latest_per_epoch', 'plot_metrics', 'plot_run']

METRICS_SUFFIX = '_metrics.jsonl'
PLOT_SUFFIX = '_metrics.png'

_VAL_CURVES = (('voc07_map', 'VOC07 mAP', 'o-'), ('voc12_map', 'VOC12 mAP', 'v-'),
               ('coco_ap', 'COCO AP@[.5:.95]', 's--'), ('coco_ap50', 'COCO AP50', 'd:'))


def metrics_path_of(run):
    """``PREFIX_metrics.jsonl`` for a run prefix (a path that already is one is kept)."""
    run = str(run)
    return run if run.endswith(METRICS_SUFFIX) else run + METRICS_SUFFIX


def plot_path_of(metrics_path):
    """``PREFIX_metrics.png`` beside ``PREFIX_metrics.jsonl``."""
    metrics_path = str(metrics_path)
    if metrics_path.endswith(METRICS_SUFFIX):
        return metrics_path[:-len(METRICS_SUFFIX)] + PLOT_SUFFIX
    return os.path.splitext(metrics_path)[0] + '.png'


def read_metrics(path, param='run'):
    """The lines of a metrics file as dicts.

    Raises
    ------
    InputNotFoundError
        When ``path`` does not exist.
    InputError
        For a line that is not a JSON object with an integer ``epoch`` (file and line named).
    """
    if not os.path.isfile(path):
        raise InputNotFoundError('{} does not exist (a training run writes it: give the run '
                                 "prefix, e.g. runs/faster_rcnn_tiny_voc)".format(path),
                                 param=param)
    lines = []
    with open(path, encoding='utf-8') as f:
        for number, text in enumerate(f, 1):
            if not text.strip():
                continue
            try:
                line = json.loads(text)
            except ValueError as e:
                raise InputError('{}, line {}: not JSON ({}); was the file edited or cut?'
                                 .format(path, number, e), param=param) from None
            if not isinstance(line, dict) or not isinstance(line.get('epoch'), int):
                raise InputError('{}, line {}: expected a JSON object with an integer "epoch", '
                                 'as training writes it'.format(path, number), param=param)
            lines.append(line)
    return lines


def latest_per_epoch(lines):
    """The last line of each epoch, in epoch order."""
    latest = {}
    for line in lines:
        latest[line['epoch']] = line
    return [latest[epoch] for epoch in sorted(latest)]


def _finite(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value)


def plot_metrics(lines, title=''):
    """PNG bytes of the run picture (module docstring) for metrics ``lines``."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    lines = latest_per_epoch(lines)
    figure = Figure(figsize=(7.0, 7.6), dpi=100)
    FigureCanvasAgg(figure)
    losses, val, rate = figure.subplots(3, 1, sharex=True,
                                        gridspec_kw={'height_ratios': [3, 3, 1.2]})
    epochs = [line['epoch'] for line in lines]

    for name in LOSS_NAMES:
        points = [(line['epoch'], line['train_losses'][name]) for line in lines
                  if _finite(line.get('train_losses', {}).get(name))
                  and line['train_losses'][name] > 0]
        if points:
            losses.plot(*zip(*points), '.-', label=name)
    if losses.lines:
        losses.set_yscale('log')
        losses.legend(loc='best', fontsize=8)
    losses.set_ylabel('training loss\n(epoch mean)')
    losses.grid(alpha=0.3, which='both')

    validated = [line for line in lines if isinstance(line.get('val'), dict)]
    for key, label, style in _VAL_CURVES:
        points = [(line['epoch'], line['val'][key]) for line in validated
                  if _finite(line['val'].get(key))]
        if points:
            val.plot(*zip(*points), style, label=label, markersize=4)
    best = [line for line in validated if line.get('best') and _finite(line['val'].get(
        'voc07_map'))]
    if best:
        val.plot([best[-1]['epoch']], [best[-1]['val']['voc07_map']], '*', color='gold',
                 markersize=14, markeredgecolor='black', label='best (saved)', zorder=5)
    val.set_ylabel('validation\n(hard boxes ignored)')
    val.set_ylim(-0.02, 1.02)
    val.grid(alpha=0.3)
    false_points = [(line['epoch'], line['val']['neg_false_per_image']) for line in validated
                    if _finite(line['val'].get('neg_false_per_image'))]
    handles, labels = val.get_legend_handles_labels()
    if false_points:
        right = val.twinx()
        right.plot(*zip(*false_points), 'x-', color='tab:red', label='false detections per '
                   'negative image (score >= {:g})'.format(
                       validated[-1]['val'].get('neg_score_threshold', 0.5)))
        right.set_ylabel('false / negative image', color='tab:red', fontsize=9)
        right.set_ylim(bottom=0)
        more_handles, more_labels = right.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    if handles:
        val.legend(handles, labels, loc='best', fontsize=7)
    if not validated:
        val.text(0.5, 0.5, 'no validation yet', ha='center', va='center',
                 transform=val.transAxes, color='gray')

    points = [(line['epoch'], line['lr']) for line in lines if _finite(line.get('lr'))]
    if points:
        rate.plot(*zip(*points), '.-', color='tab:gray')
    rate.set_ylabel('lr (epoch end)', fontsize=9)
    rate.set_xlabel('epoch')
    rate.grid(alpha=0.3)
    if epochs:
        rate.set_xlim(min(epochs) - 0.5, max(epochs) + 0.5)
        rate.xaxis.get_major_locator().set_params(integer=True)
    figure.suptitle(title or 'training run', fontsize=10)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format='png')
    return buffer.getvalue()


def plot_run(run, out=None):
    """Draw ``PREFIX_metrics.png`` (or ``out``) from a run's metrics file; returns its path.

    Parameters
    ----------
    run : str
        The run's prefix (``--save-prefix``) or its ``PREFIX_metrics.jsonl``.
    out : str, optional
        Where to write the PNG (default beside the metrics file); written atomically.
    """
    metrics_path = metrics_path_of(run)
    lines = read_metrics(metrics_path)
    if not lines:
        raise InputError('{} has no epoch yet: nothing to plot'.format(metrics_path),
                         param='run')
    out = out or plot_path_of(metrics_path)
    last = latest_per_epoch(lines)[-1]
    title = '{}: {} epoch(s), last epoch {}'.format(
        os.path.basename(metrics_path[:-len(METRICS_SUFFIX)]
                         if metrics_path.endswith(METRICS_SUFFIX) else metrics_path),
        len(latest_per_epoch(lines)), last['epoch'])
    if last.get('horovod'):
        title += ', {} Horovod processes'.format(last['horovod'].get('ranks'))
    write_bytes_atomic(out, plot_metrics(lines, title))
    return out
