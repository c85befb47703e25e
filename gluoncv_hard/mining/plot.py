"""``history.png`` of a mining-rounds run (:mod:`gluoncv_hard.mining.loop`)."""
import io

from gluoncv_hard.utils.atomic import write_bytes_atomic

__all__ = ['plot_history']


def plot_history(history, path):
    """``history.png``: mAP (top) and false detections per held-out negative image (bottom)
    per round, with the images mined for each round; written atomically (Agg, no display)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    rounds = history['rounds']
    x = [r['round'] for r in rounds]
    figure = Figure(figsize=(6.4, 5.2), dpi=100)
    FigureCanvasAgg(figure)
    top, bottom = figure.subplots(2, 1, sharex=True)
    for key, label, style in (('voc07_map', 'VOC07 mAP (hard ignored)', 'o-'),
                              ('coco_ap', 'COCO AP@[.5:.95]', 's--')):
        points = [(r['round'], r[key]) for r in rounds if r[key] is not None]
        if points:
            top.plot(*zip(*points), style, label=label)
    for r in rounds:
        if r.get('stop_check') and r['voc07_map'] is not None:
            # With early stopping off, show where the rule would have stopped.
            top.annotate('rule: ' + r['stop_check'].replace('_', ' '),
                         (r['round'], r['voc07_map']), textcoords='offset points',
                         xytext=(0, -14), ha='center', fontsize=7, color='tab:red')
    top.set_ylabel('validation')
    top.grid(alpha=0.3)
    if top.lines:
        top.legend(loc='best', fontsize=8)
    threshold = rounds[0]['neg_score_threshold'] if rounds else 0.5
    bottom.plot(x, [r['neg_false_per_image'] for r in rounds], 'o-', color='tab:red')
    bottom.set_ylabel('false detections / image\n(held-out negatives, score >= {:g})'.format(
        threshold), fontsize=9)
    bottom.set_xlabel('round (0 = baseline without mined negatives)')
    bottom.grid(alpha=0.3)
    for r in rounds:
        bottom.annotate('+{} mined\n({} total)'.format(r['num_mined'], r['num_negatives_trained'])
                        if r['round'] else 'baseline',
                        (r['round'], r['neg_false_per_image']), textcoords='offset points',
                        xytext=(0, 8), ha='center', fontsize=7)
    bottom.set_xticks(x)
    if x:
        bottom.set_xlim(min(x) - 0.5, max(x) + 0.5)
    values = [r['neg_false_per_image'] for r in rounds]
    if values:
        bottom.set_ylim(0, max(values) * 1.35 + 1e-3)
    early_stop = history['config'].get('early_stop', True)
    figure.suptitle('Hard negative mining rounds ({}{}); stop: {}'.format(
        history['config'].get('retrain', ''), '' if early_stop else ', early stop off',
        history.get('stop_reason') or 'running'), fontsize=10)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format='png')
    write_bytes_atomic(path, buffer.getvalue())
