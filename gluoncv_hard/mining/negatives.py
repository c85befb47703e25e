"""Image-level hard negative mining: find the images without objects a detector fires on most.

Every detection on an image without objects is false, so the images of a *pool* of negatives
that collect the most confident detections are the ones the detector has not learned to reject.
They are written as zero-box records to a ``.lst`` that the train script reads with
``--neg-train`` (dlib's and Viola-Jones' bootstrapping, applied to whole images).

:func:`mine_hard_negatives` is the whole job; each step is a function of its own module::

    pool = open_pool(specs)                               # mining.pool
    scored = score_pool(net, pool, ctx)                   # mining.pool: one PoolImage per image
    rows = rank_and_select(scored, num, rank_by=...,      # mining.ranking: ranking, exclusion,
                           exclude_paths=...)             #   selection (rules there)
    write_mining_outputs(out, rows, ...)                  # mining.outputs: FILE.lst, .csv, .png
                                                          #   (the sheet: vis.mining_sheet)

Identity of images: the real path of the image file (``os.path.realpath``), so a pool given as a
folder and a ``.lst`` listing the same files exclude each other.
"""
import os
from typing import NamedTuple

from gluoncv_hard.mining.outputs import output_paths, write_mining_outputs
from gluoncv_hard.mining.pool import open_pool, read_image_paths, score_pool
from gluoncv_hard.mining.ranking import (
    DEFAULT_COUNT_THRESH,
    DEFAULT_MIN_SCORE,
    check_num,
    rank_and_select,
)
from gluoncv_hard.vis.mining_sheet import DEFAULT_SHEET_SIZE

__all__ = ['MiningSummary', 'mine_hard_negatives']


class MiningSummary(NamedTuple):
    """What a mining run did: the ``rows`` (rank order), numbers asked for and found, paths."""
    rows: list
    num_requested: int
    num_selected: int
    num_excluded: int
    num_qualifying: int
    lst_path: str
    csv_path: str
    png_path: str

    @property
    def selected(self):
        return [row for row in self.rows if row.selected]

    def text(self):
        """A few lines for the end of a run."""
        lines = ['mined {} of {} requested hard negatives from {} pool images ({} excluded as '
                 'already mined, {} qualifying)'.format(
                     self.num_selected, self.num_requested, len(self.rows), self.num_excluded,
                     self.num_qualifying)]
        if self.num_selected:
            scores = [row.image.max_score for row in self.selected]
            lines.append('max score of the mined images: {:.3f} .. {:.3f}'.format(
                min(scores), max(scores)))
        if self.num_selected < self.num_requested:
            lines.append('fewer than requested: the pool has only {} images that are not '
                         'excluded and score >= the minimum'.format(self.num_qualifying))
        lines.append('wrote {} (for --neg-train), {}, {}'.format(self.lst_path, self.csv_path,
                                                                 self.png_path))
        return '\n'.join(lines)


def mine_hard_negatives(net, ctx, pool_specs, out, num, rank_by='max_score',
                        count_thresh=DEFAULT_COUNT_THRESH, exclude=(), append=False,
                        min_score=DEFAULT_MIN_SCORE, num_workers=0, progress=False,
                        sheet_size=DEFAULT_SHEET_SIZE, pool=None):
    """Score the pool with ``net``, select the hardest ``num`` images, write the outputs.

    Parameters
    ----------
    net, ctx : the detector and its contexts (see :func:`gluoncv_hard.mining.pool.score_pool`)
    pool_specs : list of str -- folders / zero-box ``.lst`` files (ignored when ``pool`` given)
    out : str -- the ``FILE.lst`` to write; ``FILE.csv`` and ``FILE.png`` go beside it
    num : int -- images to select
    rank_by, count_thresh, min_score : see :func:`gluoncv_hard.mining.ranking.rank_and_select`
    exclude : list of str -- ``.lst`` files or folders whose images are never selected
    append : bool -- keep the records of an existing ``out`` file (and exclude its images)
    sheet_size : int -- images shown on the contact sheet
    pool : data set, optional -- an already opened pool

    Returns
    -------
    MiningSummary

    Raises
    ------
    InputError
        For a bad setting (named by ``param``), before anything is scored or written.
    """
    lst_path, csv_path, png_path = output_paths(out)
    check_num(num)
    exclude_paths = [path for spec in exclude for path in read_image_paths(spec)]
    if append and os.path.isfile(lst_path):
        exclude_paths += read_image_paths(lst_path)
    pool = open_pool(pool_specs) if pool is None else pool
    scored = score_pool(net, pool, ctx, num_workers=num_workers, progress=progress)
    rows = rank_and_select(scored, num, rank_by, count_thresh, exclude_paths, min_score)
    write_mining_outputs(lst_path, rows, count_thresh, append=append, sheet_size=sheet_size,
                         min_score=min_score, rank_by=rank_by)
    return MiningSummary(rows, int(num), sum(row.selected for row in rows),
                         sum(row.excluded for row in rows), sum(row.qualifies for row in rows),
                         lst_path, csv_path, png_path)
