"""Opening the data sets named by a caller: errors name the parameter that is wrong."""

import pytest
from fixtures import small_voc, write_image, write_text

from gluoncv_hard.data.classes import read_class_names
from gluoncv_hard.data.datasets import open_dataset, open_negatives
from gluoncv_hard.errors import InputError, InputNotFoundError


def test_voc_and_lst_open_with_their_classes(tmp_path):
    root = small_voc(tmp_path / 'VOC')
    dataset, classes = open_dataset('voc', 'train,val', root)
    assert len(dataset) == 3 and classes == ['cat', 'dog']
    write_image(str(tmp_path / 'img' / 'a.jpg'), 20, 10)
    lst = write_text(tmp_path / 'x.lst', '0\t4\t6\t20\t10\t0\t0.1\t0.1\t0.5\t0.5\t0\ta.jpg\n')
    write_text(tmp_path / 'x.classes.txt', 'face\n')
    dataset, classes = open_dataset('lst', lst, str(tmp_path / 'img'))
    assert len(dataset) == 1 and classes == ['face'] and dataset[0][0].shape == (10, 20, 3)


def test_missing_inputs_name_the_parameter(tmp_path):
    with pytest.raises(InputNotFoundError, match='VOC folder .*nowhere.* does not exist') as error:
        open_dataset('voc', 'train', str(tmp_path / 'nowhere'))
    assert error.value.param == 'data_root' and isinstance(error.value, FileNotFoundError)
    with pytest.raises(InputNotFoundError, match='lst file .*gone.lst does not exist') as error:
        open_dataset('lst', str(tmp_path / 'gone.lst'))
    assert error.value.param is None  # training or validation data: only the caller knows
    lst = write_text(tmp_path / 'x.lst', '0\t4\t6\t20\t10\ta.jpg\n')
    with pytest.raises(InputNotFoundError, match='no class list for .*x.lst') as error:
        open_dataset('lst', lst)
    assert error.value.param == 'classes'
    with pytest.raises(InputError, match="unknown dataset kind 'csv'") as error:
        open_dataset('csv', lst)
    assert error.value.param == 'kind'


def test_negatives_must_have_no_boxes(tmp_path):
    write_image(str(tmp_path / 'a.jpg'), 20, 10)
    empty = write_text(tmp_path / 'neg.lst', '0\t4\t6\t20\t10\ta.jpg\n')
    assert len(open_negatives(empty)) == 1
    boxes = write_text(tmp_path / 'pos.lst', '0\t4\t6\t20\t10\t0\t0.1\t0.1\t0.5\t0.5\t0\ta.jpg\n')
    with pytest.raises(InputError, match=r'pos.lst: record 0 \(a.jpg\) has boxes'):
        open_negatives(boxes)
    with pytest.raises(InputNotFoundError, match='expected a folder of images or a .lst file'):
        open_negatives(str(tmp_path / 'gone'))


def test_a_class_listed_twice_is_an_input_error(tmp_path):
    path = write_text(tmp_path / 'c.txt', 'cat\n\ndog\ncat\n')
    with pytest.raises(InputError, match="c.txt: class 'cat' is listed twice"):
        read_class_names(path)
    assert read_class_names(write_text(tmp_path / 'd.txt', 'cat\n\ndog\n')) == ['cat', 'dog']
