"""Inputs of the sampling views: boxes as text, VOC / .lst / image items, classes, the network."""
import numpy as np
import pytest
from sampling_data import LABEL, sample_image, save_tiny_params, write_inputs

from gluoncv_hard.errors import InputError
from gluoncv_hard.vis import sampling_inputs as si


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    return write_inputs(tmp_path_factory.mktemp('inputs'), sample_image())


def test_parse_boxes():
    label = si.parse_boxes(' 1,2,30,40,3 ; 5,6,20,29,0,1;')
    np.testing.assert_array_equal(label, [[1, 2, 30, 40, 3, 0], [5, 6, 20, 29, 0, 1]])
    assert si.parse_boxes('').shape == (0, 6)
    for spec, message in [('1,2,3', 'box 1 (\'1,2,3\', characters 1-5) has 3 fields'),
                          ('1,2,30,40,0;;1,2,3,4,0', 'box 2 (\'\', characters 13-12) is empty'),
                          ('1,2,30,40,0.5', 'cls 0.5 must be a class id'),
                          ('1,2,30,40,0,2', 'hard 2 must be 0 or 1'),
                          ('30,2,1,40,0', 'box 1 (\'30,2,1,40,0\', characters 1-11) is empty or '
                                          'inverted'),
                          ('1,2,30,nan,0', "field 'ymax' is nan")]:
        with pytest.raises(InputError) as error:
            si.parse_boxes(spec)
        assert message in str(error.value) and error.value.param == 'boxes'
    with pytest.raises(InputError, match='extends past the 20x20 image'):
        si.parse_boxes('1,2,30,19,0', image_size=(20, 20))


def test_parse_classes(tmp_path):
    assert si.parse_classes(None) is None
    assert si.parse_classes(' face, cat ,') == ['face', 'cat']
    names = tmp_path / 'names.txt'
    names.write_text('dog\nbird\n')
    assert si.parse_classes(str(names)) == ['dog', 'bird']
    with pytest.raises(InputError, match='neither a file nor') as error:
        si.parse_classes(' , ')
    assert error.value.param == 'classes'


def test_every_kind_of_input_gives_the_same_label(files):
    voc = si.load_voc_item(files['root'], 'img1')
    lst = si.load_lst_item(files['lst'], 0, files['root'])
    image = si.load_image_item(files['jpeg'], '20,30,100,110,0,0;180,60,260,150,0,1')
    for item in (voc, lst, image):
        np.testing.assert_allclose(item.label[:, :6], LABEL, atol=1e-3)  # .lst: normalized
    assert voc.class_names == ['face'] and voc.description.endswith('image img1 (set val)')
    assert lst.class_names is None and si.network_classes(lst) == ['class0']
    assert si.network_classes(voc) == ['face']
    assert len(si.load_lst_item(files['lst'], 1, files['root']).label) == 0


@pytest.mark.parametrize('load, param, message', [
    (lambda f: si.load_voc_item(f['root'], 'nope'), 'image_id', "image id 'nope' is not listed"),
    (lambda f: si.load_voc_item(f['jpeg'] + '.d', 'img1'), 'voc_root', 'no image sets'),
    (lambda f: si.load_lst_item(f['lst'], 2, f['root']), 'index',
     'index 2 is out of range: {lst} has 2 images (0-1)'),
    (lambda f: si.load_image_item(f['root'] + '/missing.jpg', ''), 'image_path', 'cannot read it'),
    (lambda f: si.load_image_item(f['jpeg'], '1,2,400,40,0'), 'boxes', 'extends past the 320x240'),
])
def test_bad_input_names_the_parameter(files, load, param, message):
    with pytest.raises(InputError) as error:
        load(files)
    assert error.value.param == param and message.format(**files) in str(error.value)


def test_load_network(tmp_path):
    net = si.load_network('tiny', ['face'])
    assert list(net.classes) == ['face']
    params = save_tiny_params(tmp_path / 'tiny.params')
    assert list(si.load_network('tiny', ['face'], params).classes) == ['face']
    with pytest.raises(InputError, match='class list') as error:
        si.load_network('tiny', ['face', 'cat'], params)
    assert error.value.param == 'params'
