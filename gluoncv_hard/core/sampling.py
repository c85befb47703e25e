"""Random subsampling of labelled candidates, shared by the RPN and RCNN stages."""
import numpy as np

from gluoncv_hard.core.codes import NEGATIVE, POSITIVE

__all__ = ['as_generator', 'sample_indices', 'choose']


def as_generator(rng=None):
    """Return a ``numpy.random.Generator`` for ``rng``.

    ``None`` draws a seed from NumPy's global RandomState, so ``np.random.seed`` (what GluonCV
    scripts call for ``--seed``) still makes runs repeatable; an int seeds a new generator; a
    Generator or RandomState is used (or wrapped) as is.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng(np.random.randint(0, 2 ** 31 - 1))
    if isinstance(rng, np.random.RandomState):
        return np.random.default_rng(rng.randint(0, 2 ** 31 - 1))
    return np.random.default_rng(rng)


def choose(indices, size, rng):
    """``size`` distinct elements of the 1-D array ``indices`` (all of them if fewer)."""
    if len(indices) <= size:
        return indices
    # Generator.choice without replacement avoids permuting the whole population, which matters
    # for the ~10^5 negative anchors of an image.
    return rng.choice(indices, size=size, replace=False, shuffle=False)


def sample_indices(labels, num_sample, max_pos, rng=None):
    """Pick at most ``max_pos`` positives, then fill up to ``num_sample`` with negatives.

    Parameters
    ----------
    labels : (N,) int array of POSITIVE / NEGATIVE / IGNORE
    num_sample : int
        Total number of samples wanted.
    max_pos : int
        Upper bound on positives; negatives fill the remainder (GluonCV's rule).
    rng : see :func:`as_generator`

    Returns
    -------
    (pos_idx, neg_idx) : int64 arrays, at most ``max_pos`` and ``num_sample - len(pos_idx)`` long,
    drawn uniformly without replacement; IGNORE candidates are never returned.
    """
    rng = as_generator(rng)
    labels = np.asarray(labels)
    pos = choose(np.flatnonzero(labels == POSITIVE), max_pos, rng)
    neg = choose(np.flatnonzero(labels == NEGATIVE), num_sample - len(pos), rng)
    return pos.astype(np.int64), neg.astype(np.int64)
