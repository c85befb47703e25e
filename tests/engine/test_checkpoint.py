"""Checkpoints and trained networks: the errors a caller can cause name the parameter at fault."""
import mxnet as mx
import pytest

import gluoncv_hard
from gluoncv_hard.engine.checkpoint import (
    check_params_file,
    load_matching_params,
    read_sidecar,
    save_checkpoint,
)
from gluoncv_hard.engine.networks import load_trained_network
from gluoncv_hard.errors import InputError, InputNotFoundError


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """``PREFIX_last.params`` (+ sidecar) of a one-class tiny network."""
    net = gluoncv_hard.get_model('tiny', classes=['face'])
    net.initialize()
    net(mx.nd.zeros((1, 3, 64, 64)))  # parameter shapes are known after one forward pass
    prefix = str(tmp_path_factory.mktemp('checkpoint') / 'run')
    return save_checkpoint(prefix, 'last', net, None, {'network': 'tiny', 'classes': ['face']})


def test_a_checkpoint_for_other_classes_names_the_parameter(checkpoint):
    assert 'class_predictor.weight' in check_params_file(checkpoint, 1)
    with pytest.raises(InputError, match='was trained for 1 classes but the data set has 2') as e:
        check_params_file(checkpoint, 2)
    assert e.value.param == 'resume' and str(e.value).startswith(checkpoint)
    with pytest.raises(InputError) as e:
        check_params_file(checkpoint, 3, param='init')
    assert e.value.param == 'init'


def test_missing_or_foreign_params_files(checkpoint, tmp_path):
    with pytest.raises(InputNotFoundError, match='gone.params does not exist') as e:
        check_params_file(str(tmp_path / 'gone.params'), 1)
    assert e.value.param == 'resume' and isinstance(e.value, FileNotFoundError)
    other = mx.gluon.nn.Dense(2, in_units=3)
    other.initialize()
    junk = tmp_path / 'junk.params'
    junk.write_bytes(b'not parameters')
    with pytest.raises(InputError, match='junk.params is not an MXNet parameter file') as e:
        load_matching_params(other, str(junk))
    assert e.value.param == 'init'
    with pytest.raises(InputError, match='no parameter matches this network') as e:
        load_matching_params(other, checkpoint, param='init')
    assert e.value.param == 'init'


def test_a_broken_sidecar_is_an_input_error(tmp_path):
    params = str(tmp_path / 'x.params')
    assert read_sidecar(params) is None
    (tmp_path / 'x.json').write_text('{"epoch": ')
    with pytest.raises(InputError, match=r'x\.json: not valid JSON'):
        read_sidecar(params)


def test_load_trained_network_errors(checkpoint, tmp_path):
    net, sidecar = load_trained_network(checkpoint, [mx.cpu()])
    assert list(net.classes) == ['face'] and sidecar['network'] == 'tiny'
    with pytest.raises(InputNotFoundError, match='gone.params does not exist') as e:
        load_trained_network(str(tmp_path / 'gone.params'), [mx.cpu()])
    assert e.value.param == 'params_path'
    with pytest.raises(InputError, match='trained for 1 classes but the data set has 2') as e:
        load_trained_network(checkpoint, [mx.cpu()], classes=['face', 'hand'])
    assert e.value.param == 'params_path'
    bare = str(tmp_path / 'bare.params')
    with open(checkpoint, 'rb') as src, open(bare, 'wb') as dst:
        dst.write(src.read())
    with pytest.raises(InputError, match='has no JSON sidecar naming its network') as e:
        load_trained_network(bare, [mx.cpu()])
    assert e.value.param == 'network'
    net, sidecar = load_trained_network(bare, [mx.cpu()], network='tiny', classes=['face'])
    assert sidecar is None and list(net.classes) == ['face']


def test_init_loads_by_name_and_shape_and_says_what_it_skipped(checkpoint):
    """A checkpoint for one class into a network for two, whose shapes are still deferred."""
    from gluoncv_hard.modeling.zoo import infer_parameter_shapes
    net = gluoncv_hard.get_model('tiny', classes=['face', 'hand'])
    net.initialize()
    infer_parameter_shapes(net)
    skipped = load_matching_params(net, checkpoint, with_reasons=True)
    assert skipped == [
        ('class_predictor.weight', 'shape (2, 128) in the file, (3, 128) here'),
        ('class_predictor.bias', 'shape (2,) in the file, (3,) here'),
        ('box_predictor.weight', 'shape (4, 128) in the file, (8, 128) here'),
        ('box_predictor.bias', 'shape (4,) in the file, (8,) here')]
    net(mx.nd.zeros((1, 3, 64, 64)))  # deferred parameters take the loaded values now
    saved = mx.nd.load(checkpoint)
    own = net._collect_params_with_prefix()
    for name in ('features.0.0.weight', 'rpn.conv1.0.weight', 'top_features.0.1.gamma'):
        assert (own[name].data() == saved[name]).asnumpy().all()
    assert load_matching_params(net, checkpoint)[0] == 'class_predictor.weight'
