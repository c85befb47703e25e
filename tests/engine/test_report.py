"""engine.report.evaluate_checkpoint on .lst data: class ids are read with the checkpoint's
class list only when the data was converted with that same list."""
import os

import mxnet as mx
import pytest

import gluoncv_hard
from gluoncv_hard.data.convert import convert_to_lst
from gluoncv_hard.data.problems import ProblemLog
from gluoncv_hard.data.voc import voc_source
from gluoncv_hard.engine.report import evaluate_checkpoint
from gluoncv_hard.errors import InputError
from tests.fixtures import small_voc

CLASSES = ['cat', 'dog']


@pytest.fixture(scope='module')
def bare_params(tmp_path_factory):
    """A tiny network for CLASSES saved as a bare .params (no sidecar)."""
    net = gluoncv_hard.get_model('tiny', classes=CLASSES)
    net.initialize()
    net(mx.nd.zeros((1, 3, 64, 64)))
    path = str(tmp_path_factory.mktemp('report') / 'net.params')
    net.save_parameters(path)
    return path


def converted(tmp_path, class_names):
    root = small_voc(tmp_path / 'voc')
    log = ProblemLog()
    out = str(tmp_path / 'lst' / 'val.lst')
    result = convert_to_lst([voc_source(root, ['train', 'val'], log)], out,
                            class_names=class_names, log=log, progress=False)
    return out, result.image_root


def evaluate(params, lst, root):
    return evaluate_checkpoint(params, [mx.cpu()], dataset='lst', val=lst, data_root=root,
                               network='tiny', classes=CLASSES, num_workers=0)


def test_a_lst_converted_with_the_checkpoints_classes_is_evaluated(bare_params, tmp_path):
    lst, root = converted(tmp_path, CLASSES)
    report = evaluate(bare_params, lst, root)
    assert report['params'] == bare_params
    assert report['num_images']['positive'] == 3 and report['class_names'] == CLASSES


def test_a_lst_converted_with_another_class_order_is_refused(bare_params, tmp_path):
    lst, root = converted(tmp_path, ['dog', 'cat'])
    with pytest.raises(InputError) as error:
        evaluate(bare_params, lst, root)
    message = str(error.value)
    assert error.value.param == 'val'
    assert "['dog', 'cat']" in message and "['cat', 'dog']" in message
    assert os.path.splitext(lst)[0] + '.classes.txt' in message
    assert 'gluoncv-hard-convert --classes' in message and 'cat, dog' in message
