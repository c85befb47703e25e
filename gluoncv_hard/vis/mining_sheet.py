"""The contact sheet of a mining run: the selected hard negatives with their false detections.

``FILE.png`` beside a mined ``FILE.lst`` (see :mod:`gluoncv_hard.mining.negatives`): a title
strip, then ``SHEET_COLUMNS`` cells per row, hardest image first. Each cell is a caption over
the image scaled to fit ``SHEET_THUMB``, so the sheet's size depends only on the number of
images shown.
"""
import cv2
import numpy as np

from gluoncv_hard.mining.ranking import DEFAULT_MIN_SCORE
from gluoncv_hard.vis import draw as visualize

__all__ = ['DEFAULT_SHEET_SIZE', 'SHEET_COLUMNS', 'SHEET_THUMB', 'SHEET_MAX_BOXES', 'sheet_cell',
           'mining_sheet']

DEFAULT_SHEET_SIZE = 24
SHEET_COLUMNS = 4
# Every sheet cell shows its image scaled to fit this box (width, height), so the sheet's size
# depends only on the number of images shown.
SHEET_THUMB = (240, 180)
# Detections drawn per sheet image (the most confident ones).
SHEET_MAX_BOXES = 5


def _fit(image, box_size):
    """``image`` scaled to fit ``box_size`` (w, h), and the scale factor."""
    height, width = image.shape[:2]
    scale = min(box_size[0] / width, box_size[1] / height)
    size = (max(1, int(round(width * scale))), max(1, int(round(height * scale))))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale


def sheet_cell(row, count_thresh, min_score=DEFAULT_MIN_SCORE):
    """One sheet cell for a :class:`gluoncv_hard.mining.ranking.MinedRow`: caption, then the
    image scaled into ``SHEET_THUMB`` with its most confident detections (``score >=
    min_score``, at most ``SHEET_MAX_BOXES``) drawn as false alarms with their scores.

    Returns an RGB ``uint8`` array ``(caption height + SHEET_THUMB[1], SHEET_THUMB[0], 3)``.
    """
    image = row.image
    thumb, scale = _fit(visualize.read_rgb(image.path), SHEET_THUMB)
    order = np.argsort(-image.scores, kind='mergesort')[:SHEET_MAX_BOXES]
    order = order[image.scores[order] >= min_score]
    captions = [visualize.box_caption(None, s) for s in image.scores[order]]
    thumb = visualize.draw_boxes(thumb, image.boxes[order] * scale, visualize.FALSE_ALARM,
                                 thickness=2, texts=captions)
    canvas = np.full((SHEET_THUMB[1], SHEET_THUMB[0], 3), visualize.BACKGROUND, np.uint8)
    canvas[:thumb.shape[0], :thumb.shape[1]] = thumb
    caption = visualize.text_panel([
        '#{} {}'.format(row.rank, image.image_id),
        'max {:.2f}, {} >= {:g}'.format(image.max_score, row.count, count_thresh)],
        SHEET_THUMB[0])
    return visualize.stack_vertical([caption, canvas])


def mining_sheet(rows, count_thresh, max_images=DEFAULT_SHEET_SIZE, min_score=DEFAULT_MIN_SCORE,
                 rank_by='max_score'):
    """A contact sheet of the selected images, hardest first (at most ``max_images``).

    Parameters
    ----------
    rows : list of MinedRow, rank order (:func:`gluoncv_hard.mining.ranking.rank_and_select`)
    count_thresh, min_score, rank_by : the settings of the ranking (for captions and title)
    max_images : int

    Returns
    -------
    RGB ``uint8`` image: a title strip, then ``SHEET_COLUMNS`` cells of ``SHEET_THUMB`` plus a
    caption per row, ``SHEET_COLUMNS * (SHEET_THUMB[0] + 4)`` pixels wide.
    """
    shown = [row for row in rows if row.selected][:max_images]
    width = SHEET_COLUMNS * (SHEET_THUMB[0] + 4)
    ranking = ('highest detection score' if rank_by == 'max_score' else
               'most detections >= {:g}'.format(count_thresh))
    title = visualize.legend_panel([
        ('Hard negatives: {} of the {} selected images, hardest first ({}). These images hold '
         'no object: every box is a false detection.'.format(
             len(shown), sum(r.selected for r in rows), ranking), None, False),
        ('false detection (score)', visualize.FALSE_ALARM, False)], width)
    if not shown:
        note = visualize.text_panel(['No image was selected: every pool image is excluded or '
                                     'scores below {:g}.'.format(min_score)], width)
        return visualize.stack_vertical([title, note])
    cells = [sheet_cell(row, count_thresh, min_score) for row in shown]
    return visualize.stack_vertical([title, visualize.contact_sheet(cells, SHEET_COLUMNS)], pad=4)
