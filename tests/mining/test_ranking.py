"""Ranking and selection of scored pool images (gluoncv_hard.mining.ranking), without a network."""
import os

import numpy as np
import pytest

from gluoncv_hard.errors import InputError
from gluoncv_hard.mining.pool import PoolImage
from gluoncv_hard.mining.ranking import check_num, default_num, rank_and_select


def pool_image(index, path, scores):
    scores = np.asarray(scores, np.float64)
    return PoolImage(index, 'img{}'.format(index), path, np.zeros((len(scores), 4)), scores,
                     np.zeros(len(scores), np.int64))


def test_default_num_is_fifteen_percent_of_the_training_set():
    assert default_num(240) == 36
    assert default_num(3) == 1
    with pytest.raises(InputError, match='at least 1') as error:
        default_num(0)
    assert error.value.param == 'train_size'
    with pytest.raises(InputError) as error:
        default_num(10, fraction=0)
    assert error.value.param == 'fraction'


@pytest.mark.parametrize('num', [0, -1, 1.5])
def test_num_must_be_a_positive_integer(num):
    with pytest.raises(InputError, match='positive integer') as error:
        check_num(num)
    assert error.value.param == 'num'
    with pytest.raises(InputError, match='positive integer'):
        rank_and_select([], num)
    assert check_num(3) == 3


def test_unknown_rank_by_names_the_parameter():
    with pytest.raises(InputError, match="choose one of: max_score, count") as error:
        rank_and_select([], 1, rank_by='score')
    assert error.value.param == 'rank_by'


def test_exclusion_compares_real_paths_and_easy_images_never_qualify(tmp_path):
    real = tmp_path / 'a.png'
    real.write_bytes(b'')
    link = tmp_path / 'link.png'
    os.symlink(str(real), str(link))
    images = [pool_image(0, str(real), [0.9]),
              pool_image(1, str(tmp_path / 'b.png'), [0.04]),     # below min_score: easy
              pool_image(2, str(tmp_path / 'c.png'), []),         # no detection
              pool_image(3, str(tmp_path / 'd.png'), [0.3, 0.2])]
    rows = rank_and_select(images, 3, exclude_paths=[str(link)])
    assert [r.image.index for r in rows] == [0, 3, 1, 2]
    assert [r.rank for r in rows] == [1, 2, 3, 4]
    assert [(r.excluded, r.qualifies, r.selected) for r in rows] == [
        (True, False, False), (False, True, True), (False, False, False),
        (False, False, False)]
    # min_score 0 lets the weak image qualify, but an image without detections never does.
    rows = rank_and_select(images, 3, exclude_paths=[str(link)], min_score=0)
    assert [r.image.index for r in rows if r.selected] == [3, 1]
