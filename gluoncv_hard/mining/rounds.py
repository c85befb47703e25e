"""Rounds of image-level hard negative mining: their settings, each round's training, the stop
rule. The loop itself is :func:`gluoncv_hard.mining.loop.run_rounds`, its plot
:func:`gluoncv_hard.mining.plot.plot_history`.

Round 0 trains the baseline without mined negatives, or, with ``init``, evaluates a given
checkpoint as the baseline without training it. Round ``k >= 1``:

1. mines ``num`` images from the pool with round ``k-1``'s best checkpoint, excluding every
   image mined in earlier rounds (``round_k/mined.lst``, see :mod:`gluoncv_hard.mining`);
2. trains with all negatives mined so far (``neg_train = (round_1/mined.lst, ...)``), either
   from scratch with the baseline schedule (``retrain='scratch'``) or starting from round
   ``k-1``'s best checkpoint with a shorter schedule (``retrain='finetune'``, ``init``); see
   :func:`round_train_config`;
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

Outputs under ``OUT``: ``round_K/`` (training outputs with prefix ``round_K/train``,
``eval.json``; for ``K >= 1`` also ``mined.lst/.csv/.png``), ``history.json`` and
``history.png``, both rewritten after every round.
"""
import os
from dataclasses import dataclass

from gluoncv_hard.engine.config import TrainConfig
from gluoncv_hard.errors import InputError

__all__ = ['RETRAIN_MODES', 'STOP_REASONS', 'ROUND_TRAIN_SETTINGS', 'HISTORY_FILE', 'PLOT_FILE',
           'RoundsConfig', 'round_train_config', 'finetune_lr', 'stop_reason',
           'recommended_round']

RETRAIN_MODES = ('finetune', 'scratch')
STOP_REASONS = ('map_drop', 'false_detections_not_falling', 'rounds_done', 'nothing_to_mine')
# The TrainConfig settings each round sets itself (round_train_config); a command line that
# passes train flags through refuses theirs.
ROUND_TRAIN_SETTINGS = ('neg_train', 'neg_val', 'init', 'resume', 'start_epoch', 'save_prefix',
                        'epochs', 'lr')
HISTORY_FILE = 'history.json'
PLOT_FILE = 'history.png'


@dataclass(frozen=True)
class RoundsConfig:
    """Settings of a mining-rounds run.

    Parameters
    ----------
    out : str
        New (or empty) output folder.
    base : TrainConfig
        Round 0's training (data, network, schedule, seed, devices); every round derives its
        own from it (:func:`round_train_config`), so its ``ROUND_TRAIN_SETTINGS`` other than
        ``epochs`` and ``lr`` are not used.
    neg_test : tuple of str
        Held-out images without objects (folders or ``.lst``): false detections are counted
        there; never mined from.
    pool : tuple of str
        Images without objects to mine from.
    rounds : int
        Mining rounds after round 0.
    retrain : {'finetune', 'scratch'}
    finetune_epochs : int
    finetune_lr : float, optional -- see :func:`finetune_lr`
    num : int, optional
        Images mined per round (default: ``fraction`` x the training set size).
    fraction, rank_by, count_thresh, min_score
        As for :func:`gluoncv_hard.mining.negatives.mine_hard_negatives`.
    map_tolerance, min_fp_decrease, early_stop
        The stop rule (module docstring).
    init : str, optional
        An already trained checkpoint to use as round 0 (evaluated, not trained).
    progress : bool
        Progress bars and round lines on stdout.

    Raises
    ------
    InputError
        For settings that cannot work (before anything runs); ``param`` names the setting.
    """
    out: str
    base: TrainConfig
    neg_test: tuple
    pool: tuple
    rounds: int = 2
    retrain: str = 'finetune'
    finetune_epochs: int = 2
    finetune_lr: float | None = None
    num: int | None = None
    fraction: float = 0.15
    rank_by: str = 'max_score'
    count_thresh: float = 0.5
    min_score: float = 0.05
    map_tolerance: float = 0.02
    min_fp_decrease: float = 0.0
    early_stop: bool = True
    init: str | None = None
    progress: bool = True

    def __post_init__(self):
        for name in ('neg_test', 'pool'):
            value = getattr(self, name)
            object.__setattr__(self, name, (value,) if isinstance(value, str) else tuple(value))
        if not isinstance(self.base, TrainConfig):
            raise TypeError('RoundsConfig.base must be a TrainConfig, not {!r}'.format(self.base))
        if self.retrain not in RETRAIN_MODES:
            raise InputError('{!r}: choose one of {}'.format(
                self.retrain, ', '.join(RETRAIN_MODES)), param='retrain')
        if self.rounds < 1:
            raise InputError('must be at least 1 (round 0, the baseline, always runs)',
                             param='rounds')
        if self.finetune_epochs < 1:
            raise InputError('must be at least 1', param='finetune_epochs')
        if self.num is not None and self.num < 1:
            raise InputError('must be at least 1, got {}'.format(self.num), param='num')
        if not self.neg_test:
            raise InputError('give held-out images without objects (a folder or .lst) on which '
                             'false detections are counted (never mined from)', param='neg_test')
        if not self.pool:
            raise InputError('give images without objects (a folder or .lst) to mine from',
                             param='pool')
        if self.map_tolerance < 0:
            raise InputError('must be >= 0', param='map_tolerance')
        if self.init and not os.path.isfile(self.init):
            raise InputError('{} does not exist'.format(self.init), param='init')

    def as_dict(self):
        """The settings as ``history.json`` records them (``config``); ``train_args`` are the
        base training's flags beyond the ones listed here."""
        base, listed = self.base, ('network', 'dataset', 'data_root', 'train', 'val', 'classes',
                                   'seed', 'num_workers', 'gpus')
        return dict(
            out=self.out, dataset=base.data.dataset, data_root=base.data.data_root,
            train=base.data.train, val=base.data.val, neg_test=list(self.neg_test),
            pool=list(self.pool), rounds=self.rounds, retrain=self.retrain,
            network=base.model.network, classes=base.data.classes, epochs=base.schedule.epochs,
            lr=base.schedule.lr, finetune_epochs=self.finetune_epochs,
            finetune_lr=self.finetune_lr, num=self.num, fraction=self.fraction,
            rank_by=self.rank_by, count_thresh=self.count_thresh, min_score=self.min_score,
            map_tolerance=self.map_tolerance, min_fp_decrease=self.min_fp_decrease,
            early_stop=self.early_stop, seed=base.schedule.seed,
            num_workers=base.data.num_workers, gpus=base.devices.gpus,
            train_args=base.to_flags(skip=listed + ROUND_TRAIN_SETTINGS), init=self.init)


def finetune_lr(config):
    """The learning rate of a finetune round: ``config.finetune_lr``; by default a tenth of the
    baseline's rate, i.e. of the rate the ``init`` checkpoint was trained with (its sidecar)
    when round 0 is given, else of ``config.base``'s."""
    if config.finetune_lr is not None:
        return config.finetune_lr
    if config.init:
        from gluoncv_hard.engine.checkpoint import read_sidecar
        trained_lr = (read_sidecar(config.init) or {}).get('lr')
        if trained_lr:
            return trained_lr / 10
    return config.base.schedule.lr / 10


def round_train_config(config, index, mined_lists, init=None):
    """The :class:`TrainConfig` of round ``index``: ``config.base`` trained on the negatives
    mined so far (``mined_lists``), validated on ``neg_test``, written to
    ``OUT/round_INDEX/train_*``; from scratch with the base schedule, or with ``init`` (the
    previous round's checkpoint) for ``finetune_epochs`` at :func:`finetune_lr`. Sets exactly
    :data:`ROUND_TRAIN_SETTINGS`."""
    base = config.base
    if init is None:
        epochs, lr = base.schedule.epochs, base.schedule.lr
    else:
        epochs, lr = config.finetune_epochs, finetune_lr(config)
    return base.replace(
        neg_train=tuple(mined_lists), neg_val=config.neg_test, init=init or '', resume='',
        start_epoch=0, epochs=epochs, lr=lr,
        save_prefix=os.path.join(config.out, 'round_{}'.format(index), 'train'))


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
