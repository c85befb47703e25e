"""Print how each hard policy labels a grid of anchors around a normal and a hard box.

    gluoncv-hard-explain [--overlap iof] [--thresh 0.5] [--precedence normal_wins]

One character per anchor (centre on a 6 px grid, 36x36 px anchors):
``+`` positive, ``-`` negative, ``.`` ignored. The normal box is on the left, the hard box on the
right, and a second normal box overlaps the hard one, where precedence matters. Labels are
shown before random subsampling.
"""
import argparse

import numpy as np

from .matching import (HARD_OVERLAPS, HARD_PRECEDENCES, IGNORE, NEGATIVE, POSITIVE, HardConfig,
                       assign_boxes)

GRID_STEP, ANCHOR_SIZE, COLS, ROWS = 6, 36, 30, 12
# xmin, ymin, xmax, ymax, hard
BOXES = np.array([[12, 12, 52, 52, 0],
                  [100, 14, 144, 58, 1],
                  [124, 22, 160, 58, 0]], np.float32)
SYMBOLS = {POSITIVE: '+', NEGATIVE: '-', IGNORE: '.'}


def anchor_grid():
    """``(ROWS * COLS, 4)`` square anchors, row-major."""
    cy, cx = np.meshgrid(np.arange(ROWS) * GRID_STEP + GRID_STEP,
                         np.arange(COLS) * GRID_STEP + GRID_STEP, indexing='ij')
    half = ANCHOR_SIZE / 2
    return np.stack([cx - half, cy - half, cx + half, cy + half], -1).reshape(-1, 4).astype(
        np.float32)


def render(policy, overlap='iof', thresh=0.5, precedence='normal_wins'):
    """The label map of one policy as text lines."""
    config = HardConfig(policy=policy, overlap=overlap, thresh=thresh, precedence=precedence)
    labels = assign_boxes(anchor_grid(), BOXES[:, :4], BOXES[:, 4] > 0, config,
                          pos_thresh=0.7, neg_thresh=0.3).labels.reshape(ROWS, COLS)
    return [''.join(SYMBOLS[int(v)] for v in row) for row in labels]


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
          'normal {4}.'.format(ANCHOR_SIZE, GRID_STEP, BOXES[0, :4].astype(int).tolist(),
                               BOXES[1, :4].astype(int).tolist(),
                               BOXES[2, :4].astype(int).tolist()))
    print('+ positive   - negative   . ignored (before subsampling)\n')
    for policy in ('positive', 'drop', 'ignore'):
        title = policy if policy != 'ignore' else 'ignore ({}, > {}, {})'.format(
            args.overlap, args.thresh, args.precedence)
        print('hard_policy = ' + title)
        print('\n'.join('  ' + line for line in render(policy, args.overlap, args.thresh,
                                                         args.precedence)))
        print()


if __name__ == '__main__':
    main()
