import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gluoncv_hard.core.codes import IGNORE, NEGATIVE, POSITIVE
from gluoncv_hard.core.sampling import as_generator, sample_indices

labels_strategy = st.lists(st.sampled_from([POSITIVE, NEGATIVE, IGNORE]), min_size=0,
                           max_size=400).map(lambda x: np.array(x, dtype=np.int8))


@settings(max_examples=200, deadline=None)
@given(labels=labels_strategy, num_sample=st.integers(1, 300), pos_ratio=st.floats(0, 1),
       seed=st.integers(0, 2 ** 31 - 1))
def test_sample_counts_and_membership(labels, num_sample, pos_ratio, seed):
    max_pos = int(round(num_sample * pos_ratio))
    pos, neg = sample_indices(labels, num_sample, max_pos, np.random.default_rng(seed))
    n_pos, n_neg = (labels == POSITIVE).sum(), (labels == NEGATIVE).sum()
    # GluonCV's rule: positives up to max_pos, negatives fill the rest of num_sample.
    assert len(pos) == min(n_pos, max_pos)
    assert len(neg) == min(n_neg, num_sample - len(pos))
    assert len(pos) + len(neg) <= num_sample
    assert (labels[pos] == POSITIVE).all() and (labels[neg] == NEGATIVE).all()
    assert len(np.unique(pos)) == len(pos) and len(np.unique(neg)) == len(neg)


def test_seeded_runs_repeat_and_differ_across_seeds():
    labels = np.where(np.arange(5000) % 7 == 0, POSITIVE, NEGATIVE).astype(np.int8)
    a = sample_indices(labels, 256, 128, 1)
    b = sample_indices(labels, 256, 128, 1)
    c = sample_indices(labels, 256, 128, 2)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[1], c[1])


def test_global_seed_controls_default_generator():
    labels = np.full(1000, NEGATIVE, np.int8)
    np.random.seed(3)
    a = sample_indices(labels, 10, 5)[1]
    np.random.seed(3)
    b = sample_indices(labels, 10, 5)[1]
    np.testing.assert_array_equal(a, b)
    rs = np.random.RandomState(5)
    assert isinstance(as_generator(rs), np.random.Generator)


def test_selection_is_uniform():
    # Each of 100 negatives is picked with probability 10/100; over 3000 draws about 300 times.
    labels = np.full(100, NEGATIVE, np.int8)
    rng = np.random.default_rng(0)
    counts = np.zeros(100)
    for _ in range(3000):
        counts[sample_indices(labels, 10, 0, rng)[1]] += 1
    assert counts.min() > 220 and counts.max() < 380
