"""Rounds of image-level hard negative mining: train, evaluate, mine, retrain.

Round 0 trains the baseline without mined negatives, or, with ``init``, evaluates a given
checkpoint as the baseline without training it. Round ``k >= 1``:

1. mines ``num`` images from the pool with round ``k-1``'s best checkpoint, excluding every
   image mined in earlier rounds (``round_k/mined.lst``, see :mod:`gluoncv_hard.mining`);
2. trains with all negatives mined so far (``--neg-train round_1/mined.lst ...``), either from
   scratch with the baseline schedule (``retrain='scratch'``) or starting from round ``k-1``'s
   best checkpoint with a shorter schedule (``retrain='finetune'``, ``--init``);
3. evaluates its best checkpoint: mAP on the validation set (hard boxes ignored) and false
   detections on the held-out negatives (``negatives/test``, never mined from).

Stop rule (:func:`stop_reason`), checked after each round ``k >= 1`` is evaluated, first match:

- ``map_drop``: its VOC07 mAP is below the best mAP of the earlier rounds by more than
  ``map_tolerance`` (skipped without a validation set);
- ``false_detections_not_falling``: its false detections per held-out negative image at score
  0.5 are not below the lowest of the earlier rounds by more than ``min_fp_decrease``, i.e.
  ``fp_k >= min(fp_0 .. fp_k-1) - min_fp_decrease``; with the default 0 the run stops as soon
  as a round does not set a new low (also when the low is already 0);
- ``rounds_done``: it was the last round.

Mining can also end the run before training: ``nothing_to_mine`` when no pool image is left that
is not excluded and scores at least ``min_score``. With ``early_stop=False`` every round runs and
each entry still records what the rule said (``stop_check``).

The *recommended* round is the one with the fewest false detections per image among the rounds
whose mAP is within ``map_tolerance`` of the best mAP (ties: the earliest round).

Outputs under ``OUT``: ``round_K/`` (train script outputs with prefix ``round_K/train``,
``eval.json``; for ``K >= 1`` also ``mined.lst/.csv/.png``), ``history.json`` and
``history.png``, both rewritten after every round.
"""
import io
import json
import os
import time

from gluoncv_hard.utils.atomic import write_bytes_atomic, write_text_atomic

__all__ = ['RETRAIN_MODES', 'STOP_REASONS', 'MANAGED_TRAIN_FLAGS', 'RoundsConfig',
           'stop_reason', 'recommended_round', 'check_passthrough', 'train_argv', 'finetune_lr',
           'run_rounds', 'plot_history']

RETRAIN_MODES = ('finetune', 'scratch')
STOP_REASONS = ('map_drop', 'false_detections_not_falling', 'rounds_done', 'nothing_to_mine')
# Train-script flags the rounds loop sets itself; passing them after "--" is an error.
MANAGED_TRAIN_FLAGS = ('--network', '--dataset', '--data-root', '--train', '--val', '--classes',
                       '--neg-train', '--neg-val', '--epochs', '--lr', '--init', '--resume',
                       '--start-epoch', '--save-prefix', '--seed', '--num-workers', '-j',
                       '--gpus')
HISTORY_FILE = 'history.json'
PLOT_FILE = 'history.png'


class RoundsConfig:
    """Settings of a mining-rounds run (the command line's flags, see
    ``gluoncv_hard.cli.mining_rounds``)."""

    def __init__(self, out, dataset, data_root, train, val, neg_test, pool, rounds=2,
                 retrain='finetune', network='tiny', classes='', epochs=5, lr=None,
                 finetune_epochs=2, finetune_lr=None, num=None, fraction=0.15,
                 rank_by='max_score', count_thresh=0.5, min_score=0.05, map_tolerance=0.02,
                 min_fp_decrease=0.0, early_stop=True, seed=233, num_workers=2, gpus='',
                 train_args=(), progress=True, init=None):
        self.out, self.dataset, self.data_root, self.train, self.val = (
            out, dataset, data_root, train, val)
        self.neg_test, self.pool = list(neg_test), list(pool)
        self.rounds, self.retrain, self.network, self.classes = rounds, retrain, network, classes
        self.epochs, self.lr = epochs, lr
        self.finetune_epochs, self.finetune_lr = finetune_epochs, finetune_lr
        self.num, self.fraction = num, fraction
        self.rank_by, self.count_thresh, self.min_score = rank_by, count_thresh, min_score
        self.map_tolerance, self.min_fp_decrease = map_tolerance, min_fp_decrease
        self.early_stop, self.seed, self.num_workers, self.gpus = (
            early_stop, seed, num_workers, gpus)
        self.train_args, self.progress = list(train_args), progress
        self.init = init
        self.check()

    def check(self):
        """Raise ``ValueError`` for settings that cannot work (before anything runs)."""
        if self.retrain not in RETRAIN_MODES:
            raise ValueError('--retrain {!r}: choose one of {}'.format(
                self.retrain, ', '.join(RETRAIN_MODES)))
        if self.rounds < 1:
            raise ValueError('--rounds must be at least 1 (round 0, the baseline, always runs)')
        for name in ('epochs', 'finetune_epochs'):
            if getattr(self, name) < 1:
                raise ValueError('--{} must be at least 1'.format(name.replace('_', '-')))
        if self.num is not None and self.num < 1:
            raise ValueError('--num must be at least 1, got {}'.format(self.num))
        if not self.neg_test:
            raise ValueError('give --neg-test DIR_OR_LST: held-out images without objects on '
                             'which false detections are counted (never mined from)')
        if not self.pool:
            raise ValueError('give --pool DIR_OR_LST: images without objects to mine from')
        if self.map_tolerance < 0:
            raise ValueError('--map-tolerance must be >= 0')
        if self.init and not os.path.isfile(self.init):
            raise FileNotFoundError('--init {} does not exist'.format(self.init))
        check_passthrough(self.train_args)

    def as_dict(self):
        return {k: v for k, v in vars(self).items() if k != 'progress'}


def check_passthrough(train_args):
    """Reject train-script flags after ``--`` that the rounds loop sets itself."""
    from gluoncv_hard.utils.passthrough import check_passthrough as check
    check(train_args, MANAGED_TRAIN_FLAGS, 'the mining rounds')


def stop_reason(rounds, map_tolerance=0.02, min_fp_decrease=0.0):
    """The stop rule of the module docstring for the last of ``rounds`` (None: go on).

    Parameters
    ----------
    rounds : list of dict with ``voc07_map`` (float or None) and ``neg_false_per_image``
    map_tolerance, min_fp_decrease : float

    Returns
    -------
    'map_drop', 'false_detections_not_falling' or None
    """
    if len(rounds) < 2:
        return None
    *earlier, last = rounds
    maps = [r['voc07_map'] for r in earlier if r['voc07_map'] is not None]
    if maps and last['voc07_map'] is not None and \
            last['voc07_map'] < max(maps) - map_tolerance:
        return 'map_drop'
    lowest = min(r['neg_false_per_image'] for r in earlier)
    if last['neg_false_per_image'] >= lowest - min_fp_decrease:
        return 'false_detections_not_falling'
    return None


def recommended_round(rounds, map_tolerance=0.02):
    """Index of the round with the fewest false detections per image among those whose mAP is
    within ``map_tolerance`` of the best (every round when there is no mAP); earliest on ties."""
    maps = [r['voc07_map'] for r in rounds if r['voc07_map'] is not None]
    best = max(maps) if maps else None
    eligible = [i for i, r in enumerate(rounds)
                if best is None or r['voc07_map'] is None or
                r['voc07_map'] >= best - map_tolerance]
    return min(eligible, key=lambda i: (rounds[i]['neg_false_per_image'], i))


def train_argv(config, round_index, mined_lists, init=None):
    """The train-script command line of one round."""
    argv = ['--network', config.network, '--dataset', config.dataset,
            '--data-root', config.data_root, '--train', config.train, '--val', config.val,
            '--seed', str(config.seed), '--num-workers', str(config.num_workers),
            '--gpus', config.gpus, '--save-interval', '0',
            '--save-prefix', os.path.join(config.out, 'round_{}'.format(round_index), 'train')]
    if config.classes:
        argv += ['--classes', config.classes]
    for spec in config.neg_test:
        argv += ['--neg-val', spec]
    for path in mined_lists:
        argv += ['--neg-train', path]
    argv += config.train_args
    if init is None:
        argv += ['--epochs', str(config.epochs)]
        if config.lr is not None:
            argv += ['--lr', str(config.lr)]
    else:
        argv += ['--epochs', str(config.finetune_epochs), '--init', init,
                 '--lr', str(finetune_lr(config))]
    return argv


def finetune_lr(config):
    """``--finetune-lr``; by default a tenth of the baseline's learning rate: ``--lr``, else
    the rate the ``--init`` checkpoint was trained with (its sidecar), else the train script's
    default."""
    if config.finetune_lr is not None:
        return config.finetune_lr
    if config.lr is None and config.init:
        from gluoncv_hard.engine.checkpoint import read_sidecar
        trained_lr = (read_sidecar(config.init) or {}).get('lr')
        if trained_lr:
            return trained_lr / 10
    from gluoncv_hard.cli import train as train_cli
    return train_cli.parse_args(train_argv(config, 0, [])).lr / 10


def _metrics(report):
    from gluoncv_hard.engine.validation import headline_metrics
    return headline_metrics(report)


def _say(config, text):
    if config.progress:
        print(text, flush=True)


class _Evaluator:
    """Loads checkpoints, evaluates them on the fixed validation / held-out negative sets."""

    def __init__(self, config, ctx):
        from gluoncv_hard.data import ConcatDetection
        from gluoncv_hard.data.classes import read_class_names
        from gluoncv_hard.data.datasets import open_dataset, open_negatives
        self.config, self.ctx = config, ctx
        classes = read_class_names(config.classes) if config.classes else None
        train_set, self.classes = open_dataset(config.dataset, config.train, config.data_root,
                                               classes)
        self.train_size = len(train_set)
        self.val_set = open_dataset(config.dataset, config.val, config.data_root,
                                    self.classes)[0] if config.val else None
        self.neg_test = ConcatDetection([open_negatives(spec) for spec in config.neg_test])

    def load(self, params):
        from gluoncv_hard.engine.checkpoint import read_sidecar
        from gluoncv_hard.engine.networks import load_trained_network
        # A bare .params (no sidecar, e.g. --init from elsewhere) is built from the command line.
        bare = not read_sidecar(params)
        net, _ = load_trained_network(params, self.ctx,
                                      network=self.config.network if bare else None,
                                      classes=self.classes if bare else None)
        if list(net.classes) != list(self.classes):
            raise ValueError('{} was trained for classes {} but the data set has {}'.format(
                params, list(net.classes), list(self.classes)))
        net.hybridize(static_alloc=True)
        return net

    def evaluate(self, net):
        from gluoncv_hard.engine.validation import evaluate_network
        return evaluate_network(net, self.ctx, self.classes, self.val_set, self.neg_test,
                                num_workers=self.config.num_workers,
                                progress=self.config.progress)


def _round_entry(index, checkpoint, report, mined, num_negatives, seconds, retrain):
    metrics = _metrics(report)
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
        raise ValueError('--out {} is not empty; the rounds write round_K/ folders and '
                         'history.json there: choose a new folder'.format(out))
    os.makedirs(out, exist_ok=True)


def run_rounds(config):
    """Run round 0 and up to ``config.rounds`` mining rounds; returns the history dict.

    The history (also ``OUT/history.json``) has ``config``, ``rule``, ``rounds`` (one entry
    per trained round: checkpoint, mAPs, false detections on the held-out negatives, images
    mined for it and negatives trained on, ``stop_check``), ``stop_reason``,
    ``recommended_round`` and ``train_size``/``num_per_round``.
    """
    from gluoncv_hard.cli import train as train_cli
    from gluoncv_hard.engine.devices import parse_contexts
    from gluoncv_hard.mining.negatives import mine_hard_negatives
    from gluoncv_hard.mining.pool import open_pool
    from gluoncv_hard.mining.ranking import default_num
    train_cli.parse_args(train_argv(config, 0, []))  # bad pass-through flags fail here
    ctx = parse_contexts(config.gpus)
    evaluator = _Evaluator(config, ctx)
    if config.init:
        evaluator.load(config.init)  # a wrong --init fails before anything runs
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
                min_score=config.min_score, num_workers=config.num_workers,
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
            argv = train_argv(config, index, mined_lists, init)
            _say(config, '\n=== round {}: gluoncv-hard-train {} ==='.format(index,
                                                                        ' '.join(argv)))
            checkpoint = train_cli.run(argv)
        net = evaluator.load(checkpoint)
        report = evaluator.evaluate(net)
        write_text_atomic(os.path.join(folder, 'eval.json'),
                          json.dumps(dict(report, params=checkpoint), indent=1, sort_keys=True))
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
