"""The pool of negatives: open it, list images mined before, and score it with a detector.

A *pool* is a set of folders of images and/or ``.lst`` files of zero-box records: images without
any object, so that every detection on them is false. Images are identified by the real path
of their file (:func:`image_key`), so a pool given as a folder and a ``.lst`` listing the same
files name the same images.
"""
import os
from typing import NamedTuple

import numpy as np

from gluoncv_hard.data.records import read_lst
from gluoncv_hard.errors import InputError
from gluoncv_hard.utils.progress import progress_bar

__all__ = ['PoolImage', 'open_pool', 'image_key', 'read_image_paths', 'score_pool']


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


def open_pool(specs):
    """The pool of negatives from folders and/or zero-box ``.lst`` files.

    Parameters
    ----------
    specs : list of str -- the ``pool`` setting of the mining tools

    Raises
    ------
    InputError (param ``pool``)
        If no pool is given or the pool holds no image.
    """
    from gluoncv_hard.data import ConcatDetection
    from gluoncv_hard.data.datasets import open_negatives
    if not specs:
        raise InputError('no pool of negatives given: name folders of images without objects '
                         'or .lst files of zero-box records', param='pool')
    pool = ConcatDetection([open_negatives(spec) for spec in specs])
    if len(pool) == 0:
        raise InputError('the pool ({}) holds no image; give a folder of images without '
                         'objects or a .lst of zero-box records'.format(', '.join(specs)),
                         param='pool')
    return pool


def image_key(path):
    """What identifies an image file across folders and ``.lst`` files: its real path."""
    return os.path.realpath(path)


def read_image_paths(spec):
    """Image files of a ``.lst`` (any records; paths relative to its folder) or a folder.

    Used for ``exclude``: images mined in earlier rounds.

    Raises
    ------
    InputError (param ``exclude``)
        If ``spec`` is neither a file nor a folder.
    """
    if os.path.isdir(spec):
        from gluoncv_hard.data.negatives import is_image_file
        paths = []
        for directory, _, files in os.walk(spec):
            paths += [os.path.join(directory, name) for name in files if is_image_file(name)]
        return sorted(paths)
    if not os.path.isfile(spec):
        raise InputError('{}: no such .lst file or folder'.format(spec), param='exclude')
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
        predictions = progress_bar(predictions, total=len(pool), desc='scoring pool',
                                   unit='img')
    return [PoolImage(p.index, str(pool.image_id(p.index)), pool.image_path(p.index),
                      p.boxes, p.scores, p.labels) for p in predictions]
