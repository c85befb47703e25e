"""Rank the scored pool images, hardest first, and select the ones to mine.

Ranking (``rank_by``)
---------------------
- ``max_score``: by the highest detection score, descending.
- ``count``: by the number of detections with ``score >= count_thresh``, descending; ties by the
  highest score.

Remaining ties keep pool order (the order of the pool specs, then file order), so a run is
reproducible. Every pool image gets a rank, including excluded ones (the CSV shows whether
previously mined images still fool the detector). The selection is the first ``num`` images in
rank order that are neither excluded nor *easy*: an image qualifies only if its best detection
scores at least ``min_score``; with fewer qualifying images, fewer are selected.
"""
from typing import NamedTuple

from gluoncv_hard.errors import InputError
from gluoncv_hard.mining.pool import PoolImage, image_key

__all__ = ['RANK_BY', 'DEFAULT_FRACTION', 'DEFAULT_COUNT_THRESH', 'DEFAULT_MIN_SCORE',
           'MinedRow', 'default_num', 'check_num', 'rank_and_select']

RANK_BY = ('max_score', 'count')
# Images mined per round, as a fraction of the labelled training images.
DEFAULT_FRACTION = 0.15
DEFAULT_COUNT_THRESH = 0.5
# The lowest score the evaluation reports false detections at: an image whose best detection
# scores less is an easy negative, not worth an extra training image.
DEFAULT_MIN_SCORE = 0.05


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


def default_num(train_size, fraction=DEFAULT_FRACTION):
    """Images to mine for a training set of ``train_size`` labelled images (at least 1)."""
    if train_size < 1:
        raise InputError('the training set size must be at least 1, got {}'.format(train_size),
                         param='train_size')
    if not 0 < fraction <= 10:
        raise InputError('the mining fraction must be in (0, 10], got {}'.format(fraction),
                         param='fraction')
    return max(1, int(round(train_size * fraction)))


def check_num(num):
    """``num``, the number of images to mine, if it is a positive integer; InputError if not."""
    if int(num) != num or num < 1:
        raise InputError('the number of images to mine must be a positive integer, got {}'
                         .format(num), param='num')
    return num


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
        raise InputError('rank_by={!r}; choose one of: {}'.format(rank_by, ', '.join(RANK_BY)),
                         param='rank_by')
    check_num(num)
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
