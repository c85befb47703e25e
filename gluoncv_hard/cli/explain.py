"""``gluoncv-hard-explain``: print how each hard policy labels anchors around a hard box.

    gluoncv-hard-explain [--overlap iof] [--thresh 0.5] [--precedence normal_wins]
"""
import argparse
import sys

from gluoncv_hard import schema
from gluoncv_hard.cli.status import add_debug_argument, exit_status
from gluoncv_hard.core.config import HARD_OVERLAPS, HARD_PRECEDENCES
from gluoncv_hard.vis import explain

__all__ = ['build_parser', 'run', 'main']


def build_parser():
    parser = argparse.ArgumentParser(
        prog='gluoncv-hard-explain',
        description='Show how hard policies label anchors around a hard box.')
    parser.add_argument('--overlap', choices=HARD_OVERLAPS, default='iof',
                        help='overlap measure with the hard box (default: iof)')
    parser.add_argument('--thresh', type=float, default=0.5,
                        help='a candidate is near the hard box above this overlap (default: 0.5)')
    parser.add_argument('--precedence', choices=HARD_PRECEDENCES, default='normal_wins',
                        help='who wins for anchors positive for a normal box and near a hard '
                             'one (default: normal_wins)')
    add_debug_argument(parser)
    return parser


def run(argv=None):
    """Print the anchor labels of every policy for the command line's settings."""
    args = build_parser().parse_args(argv)
    boxes = [explain.BOXES[i, schema.BOX].astype(int).tolist() for i in range(3)]
    print('Anchors {0}x{0} px every {1} px. Boxes (x1, y1, x2, y2): normal {2}, hard {3}, '
          'normal {4}.'.format(explain.ANCHOR_SIZE, explain.GRID_STEP, *boxes))
    print('+ positive   - negative   . ignored (before subsampling)\n')
    for policy in ('positive', 'drop', 'ignore'):
        title = policy if policy != 'ignore' else 'ignore ({}, > {}, {})'.format(
            args.overlap, args.thresh, args.precedence)
        print('hard_policy = ' + title)
        lines = explain.render(policy, args.overlap, args.thresh, args.precedence)
        print('\n'.join('  ' + line for line in lines))
        print()


def main(argv=None):
    """Entry point of ``gluoncv-hard-explain``; returns the exit status."""
    return exit_status(run, argv)


if __name__ == '__main__':
    sys.exit(main())
