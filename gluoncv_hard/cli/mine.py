"""Command line of ``tools/mine_hard_negatives.py`` (console command ``gluoncv-hard-mine``).

Runs a trained detector over a pool of images without objects and writes the images it fires on
most as zero-box records for the train script's ``--neg-train``. See :mod:`gluoncv_hard.mining`
and ``docs/mining.md``. Exit status 0 on success, 2 for bad arguments or input.
"""
import argparse
import os
import sys

from gluoncv_hard.cli.options import (
    add_data_arguments,
    add_device_arguments,
    add_network_arguments,
)
from gluoncv_hard.cli.status import add_debug_argument, exit_status
from gluoncv_hard.errors import InputError
from gluoncv_hard.mining.outputs import output_paths
from gluoncv_hard.mining.ranking import (
    DEFAULT_COUNT_THRESH,
    DEFAULT_FRACTION,
    DEFAULT_MIN_SCORE,
    RANK_BY,
    default_num,
)
from gluoncv_hard.vis.mining_sheet import DEFAULT_SHEET_SIZE

__all__ = ['build_parser', 'resolve_num', 'run', 'main']

EPILOG = """\
how many images (first that applies):
  --num N                        exactly N
  --train-size N                 round(--fraction x N), at least 1
  --dataset/--data-root/--train  round(--fraction x the number of images of that training set)

examples:
  %(prog)s --params runs/r0_best.params --pool demo_data/negatives/pool \\
      --train-size 240 --out mined/round1.lst
  %(prog)s --params runs/r1_best.params --pool demo_data/negatives/pool --num 36 \\
      --exclude mined/round1.lst --out mined/round2.lst
  gluoncv-hard-train ... --neg-train mined/round1.lst --neg-train mined/round2.lst

outputs: FILE.lst (selected images, zero-box records, paths relative to its folder),
FILE.csv (every pool image: rank, scores, excluded, selected), FILE.png (contact sheet of the
selected images with their false detections). All are written atomically.
"""


def build_parser():
    p = argparse.ArgumentParser(
        description='Image-level hard negative mining: rank images without objects by how '
                    'confidently a trained detector fires on them and write the hardest as '
                    'zero-box records for the train script (--neg-train).',
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group('detector')
    g.add_argument('--params', required=True,
                   help='checkpoint .params; its .json sidecar names the network and classes')
    add_network_arguments(g, default=None, classes=True)
    g = p.add_argument_group('pool and output')
    g.add_argument('--pool', action='append', default=[], metavar='DIR_OR_LST',
                   help='images without objects to mine from: a folder or a .lst of zero-box '
                        'records; repeatable')
    g.add_argument('--out', required=True, metavar='FILE.lst',
                   help='the .lst to write; FILE.csv and FILE.png are written beside it')
    g.add_argument('--exclude', action='append', default=[], metavar='LST_OR_DIR',
                   help='images never to select, e.g. those mined in earlier rounds; repeatable')
    g.add_argument('--append', action='store_true',
                   help='keep the records already in --out, add the new ones after them and '
                        'never select an image already listed there (default: --out is '
                        'replaced and its old content is not excluded)')
    g = p.add_argument_group('how many')
    g.add_argument('--num', type=int, default=None, help='images to select')
    g.add_argument('--fraction', type=float, default=DEFAULT_FRACTION,
                   help='without --num: this fraction of the training set size '
                        '(default %(default)s)')
    g.add_argument('--train-size', type=int, default=None,
                   help='number of labelled training images')
    add_data_arguments(g, val=False, classes=False, helps={
        'dataset': 'with --train: kind of the training set, counted for the default --num',
        'data_root': 'with --train: as for the train script',
        'train': 'training set, as for the train script'})
    g = p.add_argument_group('ranking')
    g.add_argument('--rank-by', choices=RANK_BY, default='max_score',
                   help='max_score: highest detection score first; count: most detections '
                        'with score >= --count-thresh first, ties by highest score '
                        '(default %(default)s)')
    g.add_argument('--count-thresh', type=float, default=DEFAULT_COUNT_THRESH,
                   help='score threshold of the count (default %(default)s)')
    g.add_argument('--min-score', type=float, default=DEFAULT_MIN_SCORE,
                   help='never select an image whose best detection scores below this: it is '
                        'an easy negative (default %(default)s)')
    g = p.add_argument_group('running')
    add_device_arguments(g, num_workers=2)
    g.add_argument('--sheet-size', type=int, default=DEFAULT_SHEET_SIZE,
                   help='images shown in FILE.png (default %(default)s)')
    g.add_argument('--no-progress', action='store_true', help='no progress bar')
    add_debug_argument(p)
    return p


def resolve_num(args, classes):
    """The number of images to mine, following the rule in the ``--help`` epilog."""
    if args.num is not None:
        if args.num < 1:
            raise InputError('--num must be at least 1, got {}'.format(args.num))
        return args.num
    if args.train_size is not None:
        return default_num(args.train_size, args.fraction)
    if args.train:
        from gluoncv_hard.data.datasets import open_dataset
        train_set, _ = open_dataset(args.dataset, args.train, args.data_root, classes)
        return default_num(len(train_set), args.fraction)
    raise InputError('how many images to mine? give --num N, or the training set size with '
                     '--train-size N or --dataset/--data-root/--train (then --fraction x size '
                     'is mined)')


def run(argv=None):
    """Mine; returns the :class:`gluoncv_hard.mining.MiningSummary`. Errors propagate."""
    args = build_parser().parse_args(argv)
    # Cheap checks first: a wrong --out, --num or --pool fails before the network is loaded.
    output_paths(args.out)
    if not os.path.isfile(args.params):
        # load_trained_network would first complain about the missing sidecar.
        raise FileNotFoundError('--params {} does not exist'.format(args.params))
    if args.num is not None and args.num < 1:
        raise InputError('--num must be at least 1, got {}'.format(args.num))
    from gluoncv_hard.data.classes import read_class_names
    from gluoncv_hard.engine.devices import parse_contexts
    from gluoncv_hard.engine.networks import load_trained_network
    from gluoncv_hard.mining.negatives import mine_hard_negatives
    from gluoncv_hard.mining.pool import open_pool
    pool = open_pool(args.pool)
    ctx = parse_contexts(args.gpus)
    net, _ = load_trained_network(args.params, ctx, network=args.network,
                                  classes=read_class_names(args.classes) if args.classes
                                  else None, use_fpn=args.use_fpn or None)
    num = resolve_num(args, list(net.classes))
    net.hybridize(static_alloc=True)
    summary = mine_hard_negatives(net, ctx, args.pool, args.out, num, rank_by=args.rank_by,
                                  count_thresh=args.count_thresh, exclude=args.exclude,
                                  append=args.append, min_score=args.min_score,
                                  num_workers=args.num_workers, progress=not args.no_progress,
                                  sheet_size=args.sheet_size, pool=pool)
    print(summary.text())
    return summary


def main(argv=None):
    return exit_status(run, argv)


if __name__ == '__main__':
    sys.exit(main())
