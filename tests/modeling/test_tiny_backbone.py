"""The tiny backbone file: written with its sidecar, verified, and loaded into the detector's
``features`` only (``pretrained_base=True``), before the rest is initialized as usual."""
import json
import os

import mxnet as mx
import numpy as np
import pytest

import gluoncv_hard
from gluoncv_hard.engine.networks import initialize_missing
from gluoncv_hard.errors import InputError, InputNotFoundError
from gluoncv_hard.modeling import tiny_backbone, zoo


def _classifier_arrays(seed=0):
    """``features.*`` of a randomly initialized patch classifier, BatchNorm statistics too
    (random, so that no default initialization could equal them)."""
    mx.random.seed(seed)
    net = tiny_backbone.TinyPatchClassifier(3)
    net.initialize(mx.init.Xavier())
    net(mx.nd.zeros((1, 3, 64, 64)))
    rng = np.random.default_rng(seed)
    for name, param in net._collect_params_with_prefix().items():
        if name.endswith(('running_mean', 'running_var', 'gamma', 'beta')):
            param.set_data(mx.nd.array(rng.uniform(0.5, 1.5, param.shape)))
    return tiny_backbone.features_arrays(net)


@pytest.fixture(scope='module')
def backbone_file(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('backbone') / 'tiny_face_backbone.params')
    arrays = _classifier_arrays()
    sidecar = tiny_backbone.save_backbone(path, arrays, {'iterations': 0, 'seed': 0})
    return path, {k: v.asnumpy() for k, v in arrays.items()}, sidecar


@pytest.fixture
def backbone_env(backbone_file, monkeypatch):
    monkeypatch.setenv(tiny_backbone.BACKBONE_ENV, backbone_file[0])
    return backbone_file


def _features(net):
    return {name: p.data().asnumpy() for name, p in net._collect_params_with_prefix().items()
            if name.startswith('features.')}


def test_the_classifier_has_the_detectors_feature_parameters():
    detector = zoo.build_network('tiny', ['face'])
    detector.initialize()
    zoo.infer_parameter_shapes(detector)
    expected = {name: p.shape for name, p in detector._collect_params_with_prefix().items()
                if name.startswith('features.')}
    saved = {name: value.shape for name, value in _classifier_arrays().items()}
    assert saved == expected and 'features.0.0.weight' in saved
    assert any(name.endswith('running_var') for name in saved)


def test_the_sidecar_describes_the_file(backbone_file):
    path, arrays, sidecar = backbone_file
    with open(tiny_backbone.backbone_sidecar_path(path)) as f:
        assert json.load(f) == sidecar
    assert tiny_backbone.backbone_sidecar_path(path).endswith('tiny_face_backbone.json')
    assert sidecar['params']['bytes'] == os.path.getsize(path)
    assert len(sidecar['params']['sha256']) == 64
    assert sidecar['parameters'] == {k: list(v.shape) for k, v in arrays.items()}
    assert (sidecar['format'], sidecar['network'], sidecar['iterations']) == (
        tiny_backbone.FORMAT, 'tiny', 0)
    assert not [n for n in os.listdir(os.path.dirname(path)) if n.endswith('.tmp')]


def test_pretrained_base_fills_features_and_leaves_the_rest_to_initialize(backbone_env):
    path, arrays, _ = backbone_env
    net = zoo.build_network('tiny', ['face'], pretrained_base=True)
    loaded = _features(net)
    assert loaded.keys() == arrays.keys()
    for name, value in arrays.items():
        np.testing.assert_array_equal(loaded[name], value, err_msg=name)
    others = [p for name, p in net._collect_params_with_prefix().items()
              if not name.startswith('features.')]
    assert others and all(p._data is None for p in others)

    # The trainer's order (engine/trainer.py): build, initialize what is missing, move; the
    # first forward pass finishes the deferred initialization of the rest.
    initialize_missing(net, [mx.cpu()])
    net.collect_params().reset_ctx([mx.cpu()])
    ids, scores, boxes = net(mx.nd.zeros((1, 3, 320, 320)))
    assert np.isfinite(scores.asnumpy()).all()
    for name, value in _features(net).items():
        np.testing.assert_array_equal(value, arrays[name], err_msg=name)
    weights = {name: p.data().asnumpy() for name, p in net._collect_params_with_prefix().items()
               if not name.startswith('features.') and name.endswith('weight')}
    assert len(weights) >= 4 and all(np.abs(w).sum() > 0 for w in weights.values())


def test_get_model_loads_it_too(backbone_env):
    net = gluoncv_hard.get_model('tiny', classes=['face'], pretrained_base=True)
    for name, value in backbone_env[1].items():
        np.testing.assert_array_equal(_features(net)[name], value)


def test_without_pretrained_base_nothing_is_loaded(backbone_env):
    net = zoo.build_network('tiny', ['face'])
    assert all(p._data is None for p in net.collect_params().values())


def _copy(backbone_file, tmp_path):
    path = str(tmp_path / 'copy.params')
    with open(backbone_file[0], 'rb') as f:
        data = f.read()
    with open(path, 'wb') as f:
        f.write(data)
    with open(tiny_backbone.backbone_sidecar_path(backbone_file[0])) as f:
        sidecar = f.read()
    with open(tiny_backbone.backbone_sidecar_path(path), 'w') as f:
        f.write(sidecar)
    return path


def test_a_tampered_file_is_refused(backbone_file, tmp_path, monkeypatch):
    path = _copy(backbone_file, tmp_path)
    with open(path, 'r+b') as f:
        f.seek(os.path.getsize(path) // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 1]))
    monkeypatch.setenv(tiny_backbone.BACKBONE_ENV, path)
    with pytest.raises(InputError, match='is not the file its sidecar') as info:
        zoo.build_network('tiny', ['face'], pretrained_base=True)
    assert info.value.param == 'pretrained_base'
    assert 'gluoncv-hard-pretrain-tiny' in str(info.value)


def test_a_sidecar_for_another_file_is_refused(backbone_file, tmp_path):
    path = _copy(backbone_file, tmp_path)
    sidecar_path = tiny_backbone.backbone_sidecar_path(path)
    with open(sidecar_path) as f:
        sidecar = json.load(f)
    sidecar['params']['sha256'] = '0' * 64
    with open(sidecar_path, 'w') as f:
        json.dump(sidecar, f)
    with pytest.raises(InputError, match='SHA-256'):
        tiny_backbone.read_backbone(path)
    os.remove(sidecar_path)
    with pytest.raises(InputNotFoundError, match='sidecar .* is missing'):
        tiny_backbone.read_backbone(path)


def test_an_absent_file_names_the_command_that_builds_it(tmp_path, monkeypatch):
    missing = str(tmp_path / 'none.params')
    monkeypatch.setenv(tiny_backbone.BACKBONE_ENV, missing)
    with pytest.raises(InputNotFoundError) as info:
        zoo.build_network('tiny', ['face'], pretrained_base=True)
    message = str(info.value)
    assert info.value.param == 'pretrained_base'
    assert missing in message and tiny_backbone.BACKBONE_ENV in message
    assert tiny_backbone.BUILD_COMMAND in message


def test_the_shipped_file_is_the_default(monkeypatch):
    monkeypatch.delenv(tiny_backbone.BACKBONE_ENV, raising=False)
    assert tiny_backbone.backbone_path() == tiny_backbone.SHIPPED_BACKBONE
    assert tiny_backbone.SHIPPED_BACKBONE.endswith(os.path.join(
        'gluoncv_hard', 'modeling', 'weights', 'tiny_face_backbone.params'))
    if os.path.isfile(tiny_backbone.SHIPPED_BACKBONE):
        tiny_backbone.read_backbone()  # a shipped file must match its sidecar
    else:
        with pytest.raises(InputNotFoundError, match='this installation has no pretrained'):
            zoo.check_pretrained_base('tiny')


def test_a_file_of_another_network_is_refused(tmp_path):
    path = str(tmp_path / 'other.params')
    arrays = _classifier_arrays()
    arrays['features.9.0.weight'] = arrays.pop('features.4.0.weight')
    tiny_backbone.save_backbone(path, arrays, {})
    net = zoo.build_network('tiny', ['face'])
    with pytest.raises(InputError, match='does not fit this network: missing features.4.0.weight'
                                         '; unexpected features.9.0.weight'):
        tiny_backbone.load_backbone(net, path)
    arrays = _classifier_arrays()
    arrays['features.4.0.weight'] = mx.nd.zeros((64, 128, 3, 3))
    tiny_backbone.save_backbone(path, arrays, {})
    with pytest.raises(InputError, match=r'features.4.0.weight has shape \(64, 128, 3, 3\)'):
        tiny_backbone.load_backbone(net, path)


@pytest.mark.parametrize('network, use_fpn', [('tiny_fpn', False), ('tiny', True)])
def test_tiny_fpn_has_no_pretrained_backbone(backbone_env, network, use_fpn):
    with pytest.raises(InputError, match='the tiny_fpn network has no pretrained backbone') as e:
        zoo.build_network(network, ['face'], use_fpn=use_fpn, pretrained_base=True)
    assert e.value.param == 'pretrained_base'


def test_a_backbone_file_must_be_named_params(tmp_path):
    with pytest.raises(InputError, match='NAME.params') as info:
        tiny_backbone.save_backbone(str(tmp_path / 'backbone.bin'), _classifier_arrays(), {})
    assert info.value.param == 'out'
