"""The mining-rounds loop: train, evaluate, mine, retrain (see :mod:`gluoncv_hard.mining.rounds`
for the rounds and the stop rule)."""
import json
import os
import time

from gluoncv_hard.errors import InputError
from gluoncv_hard.mining.plot import plot_history
from gluoncv_hard.mining.rounds import (
    HISTORY_FILE,
    PLOT_FILE,
    recommended_round,
    round_train_config,
    stop_reason,
)
from gluoncv_hard.utils.atomic import write_text_atomic

__all__ = ['run_rounds']


def _say(config, text):
    if config.progress:
        print(text, flush=True)


class _Evaluator:
    """Loads checkpoints, evaluates them on the fixed validation / held-out negative sets."""

    def __init__(self, config, ctx):
        from gluoncv_hard.data import ConcatDetection
        from gluoncv_hard.data.classes import read_class_names
        from gluoncv_hard.data.datasets import open_dataset, open_negatives
        data = config.base.data
        self.config, self.ctx = config, ctx
        classes = read_class_names(data.classes) if data.classes else None
        train_set, self.classes = open_dataset(data.dataset, data.train, data.data_root, classes)
        self.train_size = len(train_set)
        self.val_set = open_dataset(data.dataset, data.val, data.data_root,
                                    self.classes)[0] if data.val else None
        self.neg_test = ConcatDetection([open_negatives(spec) for spec in config.neg_test])

    def load(self, params):
        from gluoncv_hard.engine.checkpoint import read_sidecar
        from gluoncv_hard.engine.networks import load_trained_network
        # A bare .params (no sidecar, e.g. an init from elsewhere) is built from the settings.
        bare = not read_sidecar(params)
        net, _ = load_trained_network(params, self.ctx,
                                      network=self.config.base.model.network if bare else None,
                                      classes=self.classes if bare else None)
        if list(net.classes) != list(self.classes):
            raise InputError('{} was trained for classes {} but the data set has {}'.format(
                params, list(net.classes), list(self.classes)))
        net.hybridize(static_alloc=True)
        return net

    def evaluate(self, net):
        from gluoncv_hard.engine.validation import evaluate_network
        return evaluate_network(net, self.ctx, self.classes, self.val_set, self.neg_test,
                                num_workers=self.config.base.data.num_workers,
                                progress=self.config.progress)


def _round_entry(index, checkpoint, report, mined, num_negatives, seconds, retrain):
    from gluoncv_hard.engine.validation import headline_metrics
    metrics = headline_metrics(report)
    negatives = report['negative_images']
    return dict(
        round=index, checkpoint=checkpoint, retrain=retrain,
        voc07_map=metrics['voc07_map'], voc12_map=metrics['voc12_map'],
        coco_ap=metrics['coco_ap'],
        # AP over validation and held-out negative images together: false detections on the
        # negatives count against precision here.
        voc07_map_with_negatives=(report['all_images'] or {}).get('voc07', {}).get('mAP'),
        neg_images=metrics['neg_images'],
        neg_score_threshold=metrics['neg_score_threshold'],
        neg_false_per_image=metrics['neg_false_per_image'],
        neg_false_detections=metrics['neg_false_detections'],
        neg_images_with_false=metrics['neg_images_with_false'],
        neg_false_by_threshold={str(t['threshold']): t['total']
                                for t in negatives['by_threshold']},
        num_mined=mined, num_negatives_trained=num_negatives, seconds=round(seconds, 1))


def _write_history(config, history):
    write_text_atomic(os.path.join(config.out, HISTORY_FILE),
                      json.dumps(history, indent=1, sort_keys=True))
    plot_history(history, os.path.join(config.out, PLOT_FILE))


def _prepare_out(out):
    if os.path.isdir(out) and os.listdir(out):
        raise InputError('{} is not empty; the rounds write round_K/ folders and history.json '
                         'there: choose a new folder'.format(out), param='out')
    os.makedirs(out, exist_ok=True)


def run_rounds(config):
    """Run round 0 and up to ``config.rounds`` mining rounds; returns the history dict.

    Parameters
    ----------
    config : gluoncv_hard.mining.rounds.RoundsConfig

    Returns
    -------
    dict
        Also ``OUT/history.json``: ``config``, ``rule``, ``rounds`` (one entry per trained
        round: checkpoint, mAPs, false detections on the held-out negatives, images mined for
        it and negatives trained on, ``stop_check``, ``train_argv``: the equivalent train
        command's flags), ``stop_reason``, ``recommended_round`` and
        ``train_size``/``num_per_round``.
    """
    from gluoncv_hard.engine.devices import parse_contexts
    from gluoncv_hard.engine.report import write_report
    from gluoncv_hard.engine.trainer import train
    from gluoncv_hard.mining.negatives import mine_hard_negatives
    from gluoncv_hard.mining.pool import open_pool
    from gluoncv_hard.mining.ranking import default_num
    ctx = parse_contexts(config.base.devices.gpus)
    evaluator = _Evaluator(config, ctx)
    if config.init:
        evaluator.load(config.init)  # a wrong init fails before anything runs
    pool = open_pool(config.pool)
    num = config.num or default_num(evaluator.train_size, config.fraction)
    _prepare_out(config.out)
    history = dict(config=config.as_dict(), train_size=evaluator.train_size, num_per_round=num,
                   pool_size=len(pool), rounds=[], stop_reason=None, recommended_round=None,
                   rule=dict(map_tolerance=config.map_tolerance,
                             min_fp_decrease=config.min_fp_decrease,
                             early_stop=config.early_stop))
    mined_lists, previous = [], None
    for index in range(config.rounds + 1):
        tic = time.time()
        folder = os.path.join(config.out, 'round_{}'.format(index))
        os.makedirs(folder, exist_ok=True)
        mined = 0
        if index:
            _say(config, '\n=== round {}: mining {} images with {} ==='.format(
                index, num, previous['checkpoint']))
            summary = mine_hard_negatives(
                previous['net'], ctx, config.pool, os.path.join(folder, 'mined.lst'), num,
                rank_by=config.rank_by, count_thresh=config.count_thresh, exclude=mined_lists,
                min_score=config.min_score, num_workers=config.base.data.num_workers,
                progress=config.progress, pool=pool)
            _say(config, summary.text())
            if not summary.num_selected:
                history['stop_reason'] = 'nothing_to_mine'
                break
            mined = summary.num_selected
            mined_lists.append(summary.lst_path)
        retrain = config.retrain if index else ('given' if config.init else 'baseline')
        if retrain == 'given':
            argv, checkpoint = None, config.init
            _say(config, '\n=== round 0: evaluating the given baseline {} ==='.format(checkpoint))
        else:
            init = previous['checkpoint'] if retrain == 'finetune' else None
            train_config = round_train_config(config, index, mined_lists, init)
            argv = train_config.to_flags()
            _say(config, '\n=== round {}: gluoncv-hard-train {} ==='.format(index,
                                                                        ' '.join(argv)))
            checkpoint = train(train_config).checkpoint
        net = evaluator.load(checkpoint)
        report = evaluator.evaluate(net)
        write_report(dict(report, params=checkpoint), os.path.join(folder, 'eval.json'))
        entry = _round_entry(index, checkpoint, report, mined, sum(
            _count_lines(path) for path in mined_lists), time.time() - tic, retrain)
        entry['train_argv'] = argv
        history['rounds'].append(entry)
        entry['stop_check'] = stop_reason(history['rounds'], config.map_tolerance,
                                          config.min_fp_decrease)
        _say(config, 'round {}: VOC07 mAP {}, false detections per negative image {:.3f} '
                     '({} on {} images at score >= {})'.format(
                         index, _fmt(entry['voc07_map']), entry['neg_false_per_image'],
                         entry['neg_false_detections'], entry['neg_images'],
                         entry['neg_score_threshold']))
        history['recommended_round'] = recommended_round(history['rounds'],
                                                         config.map_tolerance)
        _write_history(config, history)
        previous = dict(checkpoint=checkpoint, net=net)
        if entry['stop_check'] and config.early_stop:
            history['stop_reason'] = entry['stop_check']
            break
    if history['stop_reason'] is None:
        history['stop_reason'] = 'rounds_done'
    _write_history(config, history)
    return history


def _count_lines(path):
    with open(path, encoding='utf-8') as f:
        return sum(1 for line in f if line.strip())


def _fmt(value):
    return 'n/a' if value is None else '{:.4f}'.format(value)
