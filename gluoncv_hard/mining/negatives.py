"""Image-level hard negative mining: find the images without objects a detector fires on most.

Every detection on an image without objects is false, so the images of a *pool* of negatives
that collect the most confident detections are the ones the detector has not learned to reject.
They are written as zero-box records to a ``.lst`` that the train script reads with
``--neg-train`` (dlib's and Viola-Jones' bootstrapping, applied to whole images).

Steps, each a function (``mine_hard_negatives`` runs them all)::

    scored = score_pool(net, pool, ctx)                   # inference, one PoolImage per image
    rows = rank_and_select(scored, num, rank_by=...,      # ranking, exclusion, selection
                           exclude_paths=...)
    write_mining_outputs(out_lst, rows, ...)              # FILE.lst, FILE.csv, FILE.png

Ranking (``rank_by``)
---------------------
- ``max_score``: by the highest detection score, descending.
- ``count``: by the number of detections with ``score >= count_thresh``, descending; ties by the
  highest score.

Remaining ties keep pool order (the order of ``--pool`` arguments, then file order), so a run
is reproducible. Every pool image gets a rank, including excluded ones (the CSV shows whether
previously mined images still fool the detector). The selection is the first ``num`` images in
rank order that are neither excluded nor *easy*: an image qualifies only if its best detection
scores at least ``min_score``; with fewer qualifying images, fewer are selected.

Identity of images: the real path of the image file (``os.path.realpath``), so a pool given as a
folder and a ``.lst`` listing the same files exclude each other.
"""
import csv
import io
import os
from typing import NamedTuple

import cv2
import numpy as np
from tqdm import tqdm

from gluoncv_hard import schema
from gluoncv_hard.data.imagesize import read_image_size
from gluoncv_hard.data.records import format_lst_line, read_lst, record_fields
from gluoncv_hard.utils.atomic import atomic_outputs
from gluoncv_hard.vis import draw as visualize

__all__ = ['RANK_BY', 'DEFAULT_FRACTION', 'DEFAULT_COUNT_THRESH', 'DEFAULT_MIN_SCORE',
           'DEFAULT_SHEET_SIZE', 'PoolImage', 'MinedRow', 'MiningSummary', 'default_num',
           'open_pool', 'image_key', 'read_image_paths', 'score_pool', 'rank_and_select',
           'mined_lst_lines', 'count_column', 'mining_csv_text', 'sheet_cell', 'mining_sheet',
           'output_paths', 'write_mining_outputs', 'mine_hard_negatives']

RANK_BY = ('max_score', 'count')
# Images mined per round, as a fraction of the labelled training images.
DEFAULT_FRACTION = 0.15
DEFAULT_COUNT_THRESH = 0.5
# The lowest score the evaluation reports false detections at: an image whose best detection
# scores less is an easy negative, not worth an extra training image.
DEFAULT_MIN_SCORE = 0.05
DEFAULT_SHEET_SIZE = 24
SHEET_COLUMNS = 4
# Every sheet cell shows its image scaled to fit this box (width, height), so the sheet's size
# depends only on the number of images shown.
SHEET_THUMB = (240, 180)
# Detections drawn per sheet image (the most confident ones).
SHEET_MAX_BOXES = 5


class PoolImage(NamedTuple):
    """A pool image and the detector's output on it.

    Attributes
    ----------
    index : int -- position in the pool
    image_id : str
    path : str -- image file
    boxes : (K, 4) float64 -- detections, ``xmin, ymin, xmax, ymax`` in image pixels
    scores : (K,) float64
    labels : (K,) int64 -- class ids
    """
    index: int
    image_id: str
    path: str
    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray

    @property
    def max_score(self):
        """Highest detection score, 0.0 without detections."""
        return float(self.scores.max()) if len(self.scores) else 0.0

    def count_at(self, thresh):
        """Number of detections with ``score >= thresh``."""
        return int((self.scores >= thresh).sum())


class MinedRow(NamedTuple):
    """One pool image after ranking: ``rank`` (1 = hardest), the image, its ``count`` of
    detections at the count threshold, whether it was ``excluded`` (mined before), whether it
    ``qualifies`` (not excluded, best score >= the minimum) and whether it was ``selected``."""
    rank: int
    image: PoolImage
    count: int
    excluded: bool
    qualifies: bool
    selected: bool


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


def default_num(train_size, fraction=DEFAULT_FRACTION):
    """Images to mine for a training set of ``train_size`` labelled images (at least 1)."""
    if train_size < 1:
        raise ValueError('the training set size must be at least 1, got {}'.format(train_size))
    if not 0 < fraction <= 10:
        raise ValueError('the mining fraction must be in (0, 10], got {}'.format(fraction))
    return max(1, int(round(train_size * fraction)))


def open_pool(specs):
    """The pool of negatives from folders and/or zero-box ``.lst`` files (``--pool``).

    Raises
    ------
    ValueError
        If no pool is given or the pool holds no image.
    """
    from gluoncv_hard.data import ConcatDetection
    from gluoncv_hard.data.datasets import open_negatives
    if not specs:
        raise ValueError('no pool of negatives: give --pool DIR_OR_LST (images without objects)')
    pool = ConcatDetection([open_negatives(spec) for spec in specs])
    if len(pool) == 0:
        raise ValueError('the pool ({}) holds no image; point --pool at a folder of images '
                         'without objects or a .lst of zero-box records'.format(', '.join(specs)))
    return pool


def image_key(path):
    """What identifies an image file across folders and ``.lst`` files: its real path."""
    return os.path.realpath(path)


def read_image_paths(spec):
    """Image files of a ``.lst`` (any records; paths relative to its folder) or a folder.

    Used for ``--exclude``: images mined in earlier rounds.
    """
    if os.path.isdir(spec):
        from gluoncv_hard.data.negatives import is_image_file
        paths = []
        for directory, _, files in os.walk(spec):
            paths += [os.path.join(directory, name) for name in files if is_image_file(name)]
        return sorted(paths)
    if not os.path.isfile(spec):
        raise FileNotFoundError('--exclude {}: no such .lst file or folder'.format(spec))
    root = os.path.dirname(spec)
    return [os.path.join(root, line.path) for _, line in read_lst(spec)]


def score_pool(net, pool, ctx, num_workers=0, progress=False):
    """Run ``net`` over every pool image; returns one :class:`PoolImage` per image, pool order.

    Parameters
    ----------
    net : Faster R-CNN (or any block with ``short``, ``max_size`` and ``net(x) -> (ids,
        scores, boxes)`` like GluonCV's), parameters on ``ctx``
    pool : data set with ``image_id(i)`` and ``image_path(i)`` (:func:`open_pool`)
    ctx : list of mx.Context
    num_workers : int, data-loader workers (image decoding)
    progress : bool, show a progress bar
    """
    from gluoncv_hard.engine.predict import predict_dataset
    predictions = predict_dataset(net, pool, ctx, num_workers=num_workers)
    if progress:
        predictions = tqdm(predictions, total=len(pool), desc='scoring pool', unit='img')
    return [PoolImage(p.index, str(pool.image_id(p.index)), pool.image_path(p.index),
                      p.boxes, p.scores, p.labels) for p in predictions]


def rank_and_select(images, num, rank_by='max_score', count_thresh=DEFAULT_COUNT_THRESH,
                    exclude_paths=(), min_score=DEFAULT_MIN_SCORE):
    """Rank pool images, hardest first, and select the top ``num`` that qualify.

    Parameters
    ----------
    images : sequence of PoolImage
    num : int >= 1
    rank_by : {'max_score', 'count'}
    count_thresh : float -- score threshold of ``count`` (reported whatever ``rank_by``)
    exclude_paths : iterable of str -- image files never to select (compared by real path)
    min_score : float -- an image qualifies only if its best detection scores at least this
        (and it has a detection)

    Returns
    -------
    list of MinedRow, in rank order (see the module docstring for the rule)
    """
    if rank_by not in RANK_BY:
        raise ValueError('rank_by={!r}; choose one of: {}'.format(rank_by, ', '.join(RANK_BY)))
    if int(num) != num or num < 1:
        raise ValueError('--num must be a positive integer, got {}'.format(num))
    excluded = {image_key(p) for p in exclude_paths}
    counts = [image.count_at(count_thresh) for image in images]
    if rank_by == 'max_score':
        keys = [(-image.max_score,) for image in images]
    else:
        keys = [(-count, -image.max_score) for image, count in zip(images, counts)]
    # sorted() is stable: ties keep pool order.
    order = sorted(range(len(images)), key=lambda i: keys[i])
    rows, taken = [], 0
    for rank, i in enumerate(order, 1):
        image = images[i]
        is_excluded = image_key(image.path) in excluded
        qualifies = (not is_excluded and len(image.scores) > 0 and image.max_score >= min_score)
        selected = qualifies and taken < num
        taken += selected
        rows.append(MinedRow(rank, image, counts[i], is_excluded, qualifies, selected))
    return rows


def mined_lst_lines(rows, lst_dir, start_index=0):
    """``.lst`` lines (zero-box records) for the selected rows, paths relative to ``lst_dir``.

    The image size is read from each file's header (the reader checks it on decoding).
    """
    lines = []
    for row in rows:
        if not row.selected:
            continue
        width, height = read_image_size(row.image.path)
        try:
            relative = os.path.relpath(os.path.abspath(row.image.path), os.path.abspath(lst_dir))
        except ValueError:  # another drive (Windows): keep the absolute path
            relative = os.path.abspath(row.image.path)
        fields = record_fields(width, height, schema.empty_label())
        lines.append(format_lst_line(start_index + len(lines), relative.replace(os.sep, '/'),
                                     fields))
    return lines


def count_column(count_thresh):
    """CSV column name of the count: ``count_ge_0.5``."""
    return 'count_ge_{:g}'.format(count_thresh)


def mining_csv_text(rows, count_thresh):
    """CSV with one line per pool image, rank order: ``rank, image, path, max_score,
    count_ge_T, num_detections, excluded, selected`` (booleans as 0/1)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator='\n')
    writer.writerow(['rank', 'image', 'path', 'max_score', count_column(count_thresh),
                     'num_detections', 'excluded', 'selected'])
    for row in rows:
        writer.writerow([row.rank, row.image.image_id, row.image.path,
                         '{:.4f}'.format(row.image.max_score), row.count, len(row.image.scores),
                         int(row.excluded), int(row.selected)])
    return buffer.getvalue()


def _fit(image, box_size):
    """``image`` scaled to fit ``box_size`` (w, h), and the scale factor."""
    height, width = image.shape[:2]
    scale = min(box_size[0] / width, box_size[1] / height)
    size = (max(1, int(round(width * scale))), max(1, int(round(height * scale))))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), scale


def sheet_cell(row, count_thresh, min_score=DEFAULT_MIN_SCORE):
    """One sheet cell: caption, then the image scaled into ``SHEET_THUMB`` with its most
    confident detections (``score >= min_score``, at most ``SHEET_MAX_BOXES``) drawn as false
    alarms with their scores."""
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

    Returns an RGB ``uint8`` image: a title strip, then ``SHEET_COLUMNS`` cells of
    ``SHEET_THUMB`` plus a caption per row.
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


def output_paths(out_lst):
    """``(FILE.lst, FILE.csv, FILE.png)`` for ``--out FILE.lst``."""
    if not out_lst.endswith('.lst'):
        raise ValueError('--out {}: the output must be a .lst file (the train script reads '
                         '--neg-train FILE.lst)'.format(out_lst))
    base = out_lst[:-len('.lst')]
    return out_lst, base + '.csv', base + '.png'


def _existing_lines(path):
    """Lines of an existing ``.lst`` (checked: zero-box records) and the next free index."""
    lines, next_index = [], 0
    for line_number, parsed in read_lst(path):
        if len(parsed.record.label):
            raise ValueError('{}:{}: record has boxes; --append adds to a .lst of negatives '
                             'only'.format(path, line_number))
        next_index = max(next_index, parsed.index + 1)
    with open(path, encoding='utf-8') as f:
        lines = [line if line.endswith('\n') else line + '\n' for line in f if line.strip()]
    return lines, next_index


def write_mining_outputs(out_lst, rows, count_thresh, append=False,
                         sheet_size=DEFAULT_SHEET_SIZE, min_score=DEFAULT_MIN_SCORE,
                         rank_by='max_score'):
    """Write ``FILE.lst`` (selected images as zero-box records), ``FILE.csv`` (every pool
    image) and ``FILE.png`` (contact sheet), all or none (the ``.lst`` is replaced last).

    With ``append`` the records already in ``FILE.lst`` are kept and the new ones follow.
    Returns ``(lst, csv, png)`` paths.
    """
    lst_path, csv_path, png_path = output_paths(out_lst)
    directory = os.path.dirname(os.path.abspath(lst_path))
    os.makedirs(directory, exist_ok=True)
    existing, start = ([], 0)
    if append and os.path.isfile(lst_path):
        existing, start = _existing_lines(lst_path)
    lines = existing + mined_lst_lines(rows, directory, start)
    sheet = mining_sheet(rows, count_thresh, sheet_size, min_score, rank_by)
    ok, png = cv2.imencode('.png', cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_PNG_COMPRESSION, visualize.PNG_COMPRESSION])
    if not ok:
        raise ValueError('OpenCV could not encode the contact sheet as PNG')
    with atomic_outputs(csv_path, png_path, lst_path) as (csv_tmp, png_tmp, lst_tmp):
        with open(csv_tmp, 'w', encoding='utf-8', newline='') as f:
            f.write(mining_csv_text(rows, count_thresh))
        with open(png_tmp, 'wb') as f:
            f.write(png.tobytes())
        with open(lst_tmp, 'w', encoding='utf-8') as f:
            f.writelines(lines)
    return lst_path, csv_path, png_path


def mine_hard_negatives(net, ctx, pool_specs, out_lst, num, rank_by='max_score',
                        count_thresh=DEFAULT_COUNT_THRESH, exclude=(), append=False,
                        min_score=DEFAULT_MIN_SCORE, num_workers=0, progress=False,
                        sheet_size=DEFAULT_SHEET_SIZE, pool=None):
    """Score the pool with ``net``, select the hardest ``num`` images, write the outputs.

    Parameters
    ----------
    net, ctx : the detector and its contexts (see :func:`score_pool`)
    pool_specs : list of str -- folders / zero-box ``.lst`` files (ignored when ``pool`` given)
    out_lst : str -- ``FILE.lst``; ``FILE.csv`` and ``FILE.png`` are written beside it
    num : int -- images to select
    rank_by, count_thresh, min_score : see :func:`rank_and_select`
    exclude : list of str -- ``.lst`` files or folders whose images are never selected
    append : bool -- keep the records of an existing ``out_lst`` (and exclude its images)
    pool : data set, optional -- an already opened pool

    Returns
    -------
    MiningSummary
    """
    lst_path, csv_path, png_path = output_paths(out_lst)
    if int(num) != num or num < 1:
        raise ValueError('--num must be a positive integer, got {}'.format(num))
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
