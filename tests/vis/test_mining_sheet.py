"""The contact sheet of a mining run (gluoncv_hard.vis.mining_sheet)."""
import numpy as np
from detector_stub import write_colour_image

from gluoncv_hard.mining.pool import PoolImage
from gluoncv_hard.mining.ranking import MinedRow
from gluoncv_hard.vis import draw as visualize
from gluoncv_hard.vis import mining_sheet as ms


def row(tmp_path, rank, scores, selected=True, size=(40, 30)):
    path = write_colour_image(str(tmp_path / 'img{}.png'.format(rank)), (90, 90, 90), size)
    scores = np.asarray(scores, np.float64)
    boxes = np.tile([[2.0, 2.0, 30.0, 20.0]], (len(scores), 1))
    image = PoolImage(rank - 1, 'img{}'.format(rank), path, boxes, scores,
                      np.zeros(len(scores), np.int64))
    return MinedRow(rank, image, len(scores), False, selected, selected)


def test_cells_have_one_size_whatever_the_image(tmp_path):
    wide = ms.sheet_cell(row(tmp_path, 1, [0.9], size=(400, 30)), 0.5)
    tall = ms.sheet_cell(row(tmp_path, 2, [0.9], size=(20, 300)), 0.5)
    assert wide.shape == tall.shape
    assert wide.shape[1] == ms.SHEET_THUMB[0] and wide.shape[0] > ms.SHEET_THUMB[1]


def test_cell_draws_at_most_the_boxes_above_the_minimum(tmp_path):
    weak = ms.sheet_cell(row(tmp_path, 1, [0.04]), 0.5)
    strong = ms.sheet_cell(row(tmp_path, 2, [0.9]), 0.5)
    assert not (weak == visualize.FALSE_ALARM).all(axis=2).any()
    assert (strong == visualize.FALSE_ALARM).all(axis=2).sum() > 50


def test_sheet_shows_the_selected_rows_up_to_the_limit(tmp_path):
    rows = [row(tmp_path, rank, [0.9 - 0.1 * rank], selected=rank != 2) for rank in range(1, 8)]
    cell = ms.sheet_cell(rows[0], 0.5)
    width = ms.SHEET_COLUMNS * (ms.SHEET_THUMB[0] + 4)
    six = ms.mining_sheet(rows, 0.5)          # 6 selected: two rows of cells
    four = ms.mining_sheet(rows, 0.5, max_images=4)  # one row
    assert six.shape[1] == four.shape[1] == width
    assert six.shape[0] - four.shape[0] == cell.shape[0] + 4


def test_sheet_without_selection_says_why(tmp_path):
    rows = [row(tmp_path, 1, [0.9], selected=False)]
    sheet = ms.mining_sheet(rows, 0.5, min_score=0.3)
    assert sheet.shape[1] == ms.SHEET_COLUMNS * (ms.SHEET_THUMB[0] + 4)
    assert sheet.shape[0] < ms.SHEET_THUMB[1]
