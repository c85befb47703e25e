"""``gluoncv-hard-explain``: print how each hard policy labels anchors around a hard box.

    gluoncv-hard-explain [--overlap iof] [--thresh 0.5] [--precedence normal_wins]
"""
import argparse
import sys

from gluoncv_hard.core.matching import HARD_OVERLAPS, HARD_PRECEDENCES
from gluoncv_hard.vis import explain

__all__ = ['main']


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Show how hard policies label anchors around a hard box.')
    parser.add_argument('--overlap', choices=HARD_OVERLAPS, default='iof',
                        help='overlap measure with the hard box (default: iof)')
    parser.add_argument('--thresh', type=float, default=0.5,
                        help='a candidate is near the hard box above this overlap (default: 0.5)')
    parser.add_argument('--precedence', choices=HARD_PRECEDENCES, default='normal_wins',
                        help='who wins for anchors positive for a normal box and near a hard '
                             'one (default: normal_wins)')
    args = parser.parse_args(argv)
    print('Anchors {0}x{0} px every {1} px. Boxes (x1, y1, x2, y2): normal {2}, hard {3}, '
          'normal {4}.'.format(explain.ANCHOR_SIZE, explain.GRID_STEP, explain.BOXES[0, :4].astype(int).tolist(),
                               explain.BOXES[1, :4].astype(int).tolist(),
                               explain.BOXES[2, :4].astype(int).tolist()))
    print('+ positive   - negative   . ignored (before subsampling)\n')
    for policy in ('positive', 'drop', 'ignore'):
        title = policy if policy != 'ignore' else 'ignore ({}, > {}, {})'.format(
            args.overlap, args.thresh, args.precedence)
        print('hard_policy = ' + title)
        print('\n'.join('  ' + line for line in explain.render(policy, args.overlap, args.thresh,
                                                         args.precedence)))
        print()



if __name__ == '__main__':
    sys.exit(main())
