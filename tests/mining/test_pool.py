"""Opening pools of negatives and listing images mined before (gluoncv_hard.mining.pool)."""
import os

import pytest
from detector_stub import write_colour_image

from gluoncv_hard.errors import InputError
from gluoncv_hard.mining.pool import image_key, open_pool, read_image_paths


def test_open_pool_errors_name_the_pool_parameter(tmp_path):
    with pytest.raises(InputError, match='no pool of negatives given') as error:
        open_pool([])
    assert error.value.param == 'pool'
    (tmp_path / 'empty.lst').write_text('')
    with pytest.raises(InputError, match='holds no image') as error:
        open_pool([str(tmp_path / 'empty.lst')])
    assert error.value.param == 'pool'


def test_folder_and_lst_give_the_same_images(tmp_path):
    folder = tmp_path / 'pool'
    os.makedirs(str(folder / 'sub'))
    paths = [write_colour_image(str(folder / name), (10, 20, 30))
             for name in ('b.png', 'a.png', 'sub/c.png')]
    (folder / 'notes.txt').write_text('not an image')
    listed = read_image_paths(str(folder))
    assert listed == sorted(paths)
    lst = tmp_path / 'mined.lst'
    lst.write_text(''.join('{}\t4\t6\t40\t30\tpool/{}\n'.format(i, name)
                           for i, name in enumerate(('a.png', 'sub/c.png'))))
    from_lst = read_image_paths(str(lst))
    assert [image_key(p) for p in from_lst] == [image_key(paths[1]), image_key(paths[2])]
    assert len(open_pool([str(folder)])) == 3


def test_missing_exclude_names_the_parameter(tmp_path):
    with pytest.raises(InputError, match='no such .lst file or folder') as error:
        read_image_paths(str(tmp_path / 'nope.lst'))
    assert error.value.param == 'exclude'
