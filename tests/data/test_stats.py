import numpy as np
from fixtures import write_text

from gluoncv_hard import schema
from gluoncv_hard.data.stats import compute_stats, format_stats, stats_of_file


def test_counts_per_class_and_size_bins():
    labels = [
        (np.array([[0, 0, 10, 10, 0, 1], [0, 0, 20, 20, 1, 0], [0, 0, 600, 600, 1, 1]],
                  np.float32), True),
        (schema.empty_label(), True),
        (np.array([[0, 0, .5, .5, 1, 0]], np.float32), False),
    ]
    stats = compute_stats(labels, ['cat', 'dog', 'bird'])
    assert (stats['images'], stats['negatives'], stats['boxes'], stats['hard_boxes']) == \
        (3, 1, 4, 2)
    assert stats['classes'] == [
        {'id': 0, 'name': 'cat', 'images': 1, 'boxes': 1, 'hard_boxes': 1, 'hard_fraction': 1.0},
        {'id': 1, 'name': 'dog', 'images': 2, 'boxes': 3, 'hard_boxes': 1,
         'hard_fraction': 1 / 3},
        {'id': 2, 'name': 'bird', 'images': 0, 'boxes': 0, 'hard_boxes': 0, 'hard_fraction': 0.0},
    ]
    bins = {b['size']: (b['boxes'], b['hard_boxes']) for b in stats['box_sizes']['bins']}
    assert bins['0-16'] == (1, 1) and bins['16-32'] == (1, 0) and bins['>= 512'] == (1, 1)
    assert sum(b[0] for b in bins.values()) == 3 and stats['box_sizes']['unknown'] == 1
    text = format_stats(stats)
    assert 'hard boxes: 2 (50.0%)' in text and '33.3%' in text and 'unknown' in text


def test_unnamed_class_ids():
    stats = compute_stats([(np.array([[0, 0, 1, 1, 4, 0]], np.float32), True)])
    assert stats['classes'][0]['name'] == 'class 4'


def test_stats_of_lst_scales_by_header_size(tmp_path):
    lst = write_text(tmp_path / 'x.lst', '0\t4\t6\t100\t200\t0\t0\t0\t0.2\t0.1\t1\ta.jpg\n'
                                         '1\t4\t5\t100\t200\t0\t0\t0\t0.5\t0.5\tb.jpg\n'
                                         '2\t4\t6\t10\t10\tc.jpg\n')
    stats = stats_of_file(lst)
    assert (stats['images'], stats['negatives'], stats['boxes'], stats['hard_boxes']) == \
        (3, 1, 2, 1)
    bins = {b['size']: b['boxes'] for b in stats['box_sizes']['bins']}
    assert bins['16-32'] == 1 and bins['64-128'] == 1  # 20x20 and 50x100
