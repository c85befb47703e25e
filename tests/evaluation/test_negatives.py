"""False-detection counts on negative images, on a constructed case."""
import numpy as np
import pytest

from gluoncv_hard.evaluation import negative_image_stats


def test_counts_means_fractions_and_ranking():
    ids = ['a', 'b', 'c']
    scores = [np.array([0.95, 0.4, 0.06]), np.zeros(0), np.array([0.55, 0.5])]
    stats = negative_image_stats(ids, scores, (0.9, 0.05, 0.5))  # unsorted on purpose
    assert stats['num_images'] == 3
    assert stats['score_thresholds'] == [0.05, 0.5, 0.9]
    # >= 0.05: a 3, b 0, c 2 -> 5.  >= 0.5 (inclusive): a 1, c 2 -> 3.  >= 0.9: a 1 -> 1.
    assert [e['total'] for e in stats['by_threshold']] == [5, 3, 1]
    assert [e['mean_per_image'] for e in stats['by_threshold']] == pytest.approx([5 / 3, 1, 1 / 3])
    assert [e['fraction_of_images'] for e in stats['by_threshold']] == pytest.approx(
        [2 / 3, 2 / 3, 1 / 3])
    # Ranked by max score, images without detections last.
    assert [(e['image_id'], e['max_score'], e['num_detections'], e['counts'])
            for e in stats['per_image']] == [('a', 0.95, 3, [3, 1, 1]), ('c', 0.55, 2, [2, 2, 0]),
                                             ('b', None, 0, [0, 0, 0])]


def test_no_negative_images():
    stats = negative_image_stats([], [], (0.5,))
    assert stats['by_threshold'] == [{'threshold': 0.5, 'total': 0, 'mean_per_image': None,
                                      'fraction_of_images': None}]
    assert stats['per_image'] == []


def test_mismatched_lengths_are_rejected():
    with pytest.raises(ValueError, match='2 image ids but 1 score arrays'):
        negative_image_stats(['a', 'b'], [np.zeros(0)])
