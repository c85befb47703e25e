"""Command line of ``tools/mining_rounds.py`` (console command ``gluoncv-hard-mining-rounds``).

Train a baseline, then alternate hard negative mining and retraining; see
:mod:`gluoncv_hard.mining.rounds` for the rounds and the stop rule, ``docs/mining.md`` for a
guide. Exit status 0 on success, 2 for bad arguments or input, 3 when training diverged.
"""
import argparse
import sys

from gluoncv_hard.cli.options import (
    add_data_arguments,
    add_device_arguments,
    add_network_arguments,
)
from gluoncv_hard.cli.passthrough import passthrough_config
from gluoncv_hard.cli.status import add_debug_argument, exit_status
from gluoncv_hard.mining.ranking import (
    DEFAULT_COUNT_THRESH,
    DEFAULT_FRACTION,
    DEFAULT_MIN_SCORE,
    RANK_BY,
)
from gluoncv_hard.mining.rounds import RETRAIN_MODES, ROUND_TRAIN_SETTINGS, RoundsConfig

__all__ = ['build_parser', 'config_from_args', 'run', 'main']

EPILOG = """\
stop rule (after each round k >= 1; first match; --no-early-stop only records it):
  map_drop                       mAP_k < max(mAP_0..k-1) - --map-tolerance
  false_detections_not_falling   FP_k >= min(FP_0..k-1) - --min-fp-decrease
                                 (FP = false detections per held-out negative image, score>=0.5)
  nothing_to_mine                no pool image left that is not mined yet and scores >= --min-score
  rounds_done                    --rounds mining rounds ran

example (demo data; 25 minutes on 2 CPU cores, see docs/mining.md for its results):
  %(prog)s --data-root demo_data --pool demo_data/negatives/pool \\
      --neg-test demo_data/negatives/test --out runs/mining --rounds 2 --retrain scratch \\
      --epochs 5 --lr 0.02 -- --lr-warmup 100 --lr-decay-epoch 4

outputs in --out: round_K/ (train_* checkpoints and logs, eval.json, and for K >= 1 the mined
negatives mined.lst/.csv/.png), history.json, history.png.
"""


def build_parser():
    p = argparse.ArgumentParser(
        description='Rounds of image-level hard negative mining: train a baseline (round 0), '
                    'then repeatedly mine the pool images the last model fires on and retrain '
                    'with them; evaluates mAP and false detections on held-out negatives '
                    'after every round.',
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group('data (as for the train script)')
    add_data_arguments(g, helps={
        'val': "validation set for mAP and checkpoint selection (voc default 'val'; '' for "
               "none: then only false detections decide)"})
    g.add_argument('--pool', action='append', default=[], metavar='DIR_OR_LST', required=True,
                   help='images without objects to mine from; repeatable')
    g.add_argument('--neg-test', '--neg-val', dest='neg_test', action='append', default=[],
                   metavar='DIR_OR_LST', required=True,
                   help='held-out images without objects: false detections are counted here '
                        '(never mined from); repeatable. --neg-val is the same flag, named as '
                        'in the train script')
    g = p.add_argument_group('rounds')
    g.add_argument('--out', required=True, help='new (or empty) output folder')
    g.add_argument('--rounds', type=int, default=2,
                   help='mining rounds after the baseline round 0 (default %(default)s)')
    g.add_argument('--retrain', choices=RETRAIN_MODES, default='finetune',
                   help='finetune: start each round from the previous best checkpoint (--init) '
                        'for --finetune-epochs; scratch: train from scratch with the baseline '
                        'schedule (slower, but rounds compare like for like) '
                        '(default %(default)s)')
    add_network_arguments(g, default='tiny', use_fpn=False,
                          network_help='network of every round (tiny: CPU-sized)')
    g.add_argument('--init', default=None, metavar='PARAMS',
                   help='an already trained checkpoint to use as round 0: it is evaluated, not '
                        'trained, and the first finetune round starts from it (a .params '
                        'without sidecar is built from --network and the data set\'s classes)')
    g.add_argument('--epochs', type=int, default=5,
                   help='epochs of round 0 and of scratch rounds (default %(default)s)')
    g.add_argument('--lr', type=float, default=None,
                   help="learning rate of round 0 and scratch rounds (default: the train "
                        "script's)")
    g.add_argument('--finetune-epochs', type=int, default=2,
                   help='epochs of a finetune round (default %(default)s)')
    g.add_argument('--finetune-lr', type=float, default=None,
                   help='learning rate of a finetune round (default: a tenth of --lr, or of '
                        'the rate the --init checkpoint was trained with)')
    g.add_argument('--map-tolerance', type=float, default=0.02,
                   help='stop when mAP falls more than this below the best so far '
                        '(default %(default)s)')
    g.add_argument('--min-fp-decrease', type=float, default=0.0,
                   help='stop unless false detections per image fall by more than this below '
                        'the lowest so far (default %(default)s)')
    g.add_argument('--no-early-stop', action='store_true',
                   help='run every round; history.json still records what the rule said')
    g = p.add_argument_group('mining (see gluoncv-hard-mine --help)')
    g.add_argument('--num', type=int, default=None,
                   help='images mined per round (default: --fraction x training images)')
    g.add_argument('--fraction', type=float, default=DEFAULT_FRACTION,
                   help='default %(default)s')
    g.add_argument('--rank-by', choices=RANK_BY, default='max_score')
    g.add_argument('--count-thresh', type=float, default=DEFAULT_COUNT_THRESH)
    g.add_argument('--min-score', type=float, default=DEFAULT_MIN_SCORE)
    g = p.add_argument_group('running')
    g.add_argument('--seed', type=int, default=233, help='seed of every training run')
    add_device_arguments(g, num_workers=2)
    g.add_argument('--no-progress', action='store_true', help='no progress bars or round lines')
    add_debug_argument(p)
    p.add_argument('train_args', nargs=argparse.REMAINDER,
                   help='after "--": more train-script flags for every round, e.g. '
                        '-- --lr-warmup 100 --hard-policy ignore')
    return p


def config_from_args(args):
    """A :class:`gluoncv_hard.mining.rounds.RoundsConfig` from parsed arguments: the train
    flags after ``--`` (refusing those the rounds set) and this tool's own make its base
    training."""
    settings = dict(network=args.network, dataset=args.dataset, data_root=args.data_root,
                    train=args.train, val=args.val, classes=args.classes, seed=args.seed,
                    num_workers=args.num_workers, gpus=args.gpus, epochs=args.epochs,
                    lr=args.lr)
    base = passthrough_config(args.train_args, 'the mining rounds', settings,
                              managed=ROUND_TRAIN_SETTINGS, defaults=dict(save_interval=0))
    finetune_lr = args.finetune_lr
    if finetune_lr is None and args.init and args.lr is not None:
        finetune_lr = args.lr / 10  # an explicit --lr wins over the --init checkpoint's rate
    return RoundsConfig(
        out=args.out, base=base, neg_test=args.neg_test, pool=args.pool, rounds=args.rounds,
        retrain=args.retrain, finetune_epochs=args.finetune_epochs, finetune_lr=finetune_lr,
        num=args.num, fraction=args.fraction, rank_by=args.rank_by,
        count_thresh=args.count_thresh, min_score=args.min_score,
        map_tolerance=args.map_tolerance, min_fp_decrease=args.min_fp_decrease,
        early_stop=not args.no_early_stop, init=args.init, progress=not args.no_progress)


def _summary_table(history):
    lines = ['round  retrain   mined  negatives  VOC07 mAP  COCO AP  FP/img@0.5  FP total',
             '-----  --------  -----  ---------  ---------  -------  ----------  --------']
    for r in history['rounds']:
        lines.append('{:>5}  {:<8}  {:>5}  {:>9}  {:>9}  {:>7}  {:>10.3f}  {:>8}'.format(
            r['round'], r['retrain'], r['num_mined'], r['num_negatives_trained'],
            _fmt(r['voc07_map']), _fmt(r['coco_ap']), r['neg_false_per_image'],
            r['neg_false_detections']))
    lines.append('stop: {}; recommended round: {} ({})'.format(
        history['stop_reason'], history['recommended_round'],
        history['rounds'][history['recommended_round']]['checkpoint']
        if history['rounds'] else 'none'))
    return '\n'.join(lines)


def _fmt(value):
    return '-' if value is None else '{:.4f}'.format(value)


def run(argv=None):
    """Run the rounds; returns the history dict. Errors propagate."""
    from gluoncv_hard.mining.loop import run_rounds
    args = build_parser().parse_args(argv)
    history = run_rounds(config_from_args(args))
    print('\n' + _summary_table(history))
    print('history: {0}/history.json, plot: {0}/history.png'.format(args.out))
    return history


def main(argv=None):
    return exit_status(run, argv)


if __name__ == '__main__':
    sys.exit(main())
