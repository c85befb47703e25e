"""``gluoncv-hard-make-demo``: build the offline demo face-detection data set."""
import argparse
import sys

from gluoncv_hard.cli.status import add_debug_argument, exit_status
from gluoncv_hard.demo import generate

__all__ = ['build_parser', 'run', 'main']

# generate_demo_dataset's parameters whose flag is not ``--`` + their name.
FLAGS = {'out_dir': '--out'}


def build_parser():
    parser = argparse.ArgumentParser(
        prog='gluoncv-hard-make-demo',
        description='Build the offline demo face-detection data set (Pascal VOC layout) from '
                    'image content bundled with scikit-image. Same seed -> identical files.')
    parser.add_argument('--out', default='demo_data',
                        help='output directory (default: %(default)s). Must be absent, empty or '
                             'a previous demo data set, unless --force')
    parser.add_argument('--seed', type=int, default=0, help='random seed (default: %(default)s)')
    parser.add_argument('--n-train', type=int, default=generate.DEFAULT_COUNTS['train'],
                        help='train scenes with faces (default: %(default)s)')
    parser.add_argument('--n-val', type=int, default=generate.DEFAULT_COUNTS['val'],
                        help='val scenes with unseen faces (default: %(default)s)')
    parser.add_argument('--n-negatives-pool', type=int,
                        default=generate.DEFAULT_COUNTS['negatives_pool'],
                        help='face-free scenes for hard negative mining (default: %(default)s)')
    parser.add_argument('--n-negatives-test', type=int,
                        default=generate.DEFAULT_COUNTS['negatives_test'],
                        help='held-out face-free scenes for the false-positive metric '
                             '(default: %(default)s)')
    parser.add_argument('--max-faces', type=int, default=generate.DEFAULT_MAX_FACES,
                        help='faces per positive scene: 1..N (default: %(default)s)')
    parser.add_argument('--hard-fraction', type=float, default=generate.DEFAULT_HARD_FRACTION,
                        help='probability that a pasted patch is hard (default: %(default)s)')
    parser.add_argument('--heldout-backgrounds', nargs='+', default=[], metavar='NAME',
                        help='backgrounds kept out of the train/val scenes; the negative scenes '
                             '(pool and test) use only these (the mining scenario)')
    parser.add_argument('--force', action='store_true',
                        help='replace OUT even if it is a non-empty directory not made by this '
                             'generator')
    parser.add_argument('--quiet', action='store_true', help='no progress bar')
    add_debug_argument(parser)
    return parser


def run(argv=None):
    """Build the data set the command line describes; returns the generator's summary."""
    args = build_parser().parse_args(argv)
    return generate.generate_demo_dataset(
        args.out, seed=args.seed, n_train=args.n_train, n_val=args.n_val,
        n_negatives_pool=args.n_negatives_pool, n_negatives_test=args.n_negatives_test,
        max_faces=args.max_faces, hard_fraction=args.hard_fraction,
        heldout_backgrounds=args.heldout_backgrounds, force=args.force,
        progress=not args.quiet)


def _print_summary(summary):
    images = summary['images']
    print('Wrote {} in {:.1f} s: {} train + {} val scenes, {} + {} negative scenes; '
          '{} faces ({} hard: {}), {} unlabelled non-faces'.format(
              summary['out_dir'], summary['seconds'], images['train'], images['val'],
              images['negatives_pool'], images['negatives_test'], summary['faces'],
              summary['hard_faces'],
              ', '.join('{} {}'.format(k, v) for k, v in summary['hard_by_reason'].items()),
              summary['distractors']))


def main(argv=None):
    """Console entry point ``gluoncv-hard-make-demo``. Returns the exit status."""
    return exit_status(run, argv, _print_summary, FLAGS)


if __name__ == '__main__':
    sys.exit(main())
