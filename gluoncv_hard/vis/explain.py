"""How each hard policy labels a grid of anchors around a normal and a hard box, as text.

Shown by ``gluoncv-hard-explain``.
One character per anchor (centre on a 6 px grid, 36x36 px anchors):
``+`` positive, ``-`` negative, ``.`` ignored. The normal box is on the left, the hard box on the
right, and a second normal box overlaps the hard one, where precedence matters. Labels are
shown before random subsampling.
"""
import numpy as np

from gluoncv_hard import schema
from gluoncv_hard.core.codes import IGNORE, NEGATIVE, POSITIVE
from gluoncv_hard.core.config import HardConfig
from gluoncv_hard.core.matching import assign_boxes

GRID_STEP, ANCHOR_SIZE, COLS, ROWS = 6, 36, 30, 12
# xmin, ymin, xmax, ymax, hard: the layout of the network's gt_box tensor (schema.GT_BOX_HARD)
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
    labels = assign_boxes(anchor_grid(), BOXES[:, schema.BOX],
                          schema.is_hard(BOXES[:, schema.GT_BOX_HARD]), config,
                          pos_thresh=0.7, neg_thresh=0.3).labels.reshape(ROWS, COLS)
    return [''.join(SYMBOLS[int(v)] for v in row) for row in labels]
