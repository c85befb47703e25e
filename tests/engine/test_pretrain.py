"""Pretraining the tiny backbone on the patch task: a few iterations write a file the detector
loads, the same for any number of workers; bad settings fail before any work."""
import json
import os

import mxnet as mx
import numpy as np
import pytest
from fixtures import small_demo

from gluoncv_hard.demo import sources
from gluoncv_hard.engine import pretrain
from gluoncv_hard.engine.config import TrainConfig
from gluoncv_hard.engine.trainer import train
from gluoncv_hard.errors import InputError, TrainingDiverged
from gluoncv_hard.modeling import tiny_backbone, zoo
from gluoncv_hard.utils.digest import file_digest

SHORT = dict(iterations=5, batch_size=8, heldout_windows=24, log_interval=2)


@pytest.fixture(scope='module')
def pretrained(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('pretrain') / 'backbone.params')
    lines = []
    sidecar = pretrain.pretrain_tiny_backbone(path, seed=1, num_workers=0,
                                              progress=lines.append, **SHORT)
    return path, sidecar, lines


def test_the_sidecar_records_the_run_and_the_file(pretrained):
    path, sidecar, _ = pretrained
    with open(tiny_backbone.backbone_sidecar_path(path)) as f:
        assert json.load(f) == sidecar
    assert sidecar['params'] == file_digest(path)
    assert (sidecar['iterations'], sidecar['batch_size'], sidecar['seed']) == (5, 8, 1)
    assert sidecar['heldout_backgrounds'] == sorted(sources.MINING_HELDOUT_BACKGROUNDS)
    assert not set(sidecar['task']['backgrounds']) & set(sidecar['heldout_backgrounds'])
    assert sidecar['task']['faces'] == list(sources.PATCH_POOLS['train'].faces)
    assert sidecar['task']['nonfaces'] == list(sources.PATCH_POOLS['train'].nonfaces)
    assert 0.0 <= sidecar['heldout_accuracy'] <= 1.0
    confusion = np.array(sidecar['heldout']['confusion'])
    assert confusion.shape == (3, 3) and confusion.sum() == SHORT['heldout_windows']
    assert sidecar['heldout_accuracy'] == round(np.trace(confusion) / confusion.sum(), 4)
    assert sidecar['heldout']['seed'] == pretrain.HELDOUT_SEED


def test_progress_is_reported_at_the_interval_and_at_the_end(pretrained):
    lines = pretrained[2]
    steps = [line.split(']')[0] for line in lines if line.startswith('[')]
    assert steps == ['[2/5', '[4/5', '[5/5']
    assert all(' loss ' in line and ' accuracy ' in line for line in lines if line[0] == '[')
    assert any(line.startswith('Held-out accuracy') for line in lines)


def test_only_the_detectors_features_are_saved_and_they_load(pretrained, monkeypatch):
    path = pretrained[0]
    saved = mx.nd.load(path)
    monkeypatch.setenv(tiny_backbone.BACKBONE_ENV, path)
    net = zoo.build_network('tiny', ['face'], pretrained_base=True)
    features = {name: p for name, p in net._collect_params_with_prefix().items()
                if name.startswith('features.')}
    assert set(saved) == set(features)
    for name, value in saved.items():
        np.testing.assert_array_equal(features[name].data().asnumpy(), value.asnumpy())


def test_workers_render_the_same_windows(pretrained, tmp_path):
    """What this proves: the windows of an iteration depend on the seed and the iteration
    only, so the rendering processes change nothing in the result."""
    path = str(tmp_path / 'workers.params')
    sidecar = pretrain.pretrain_tiny_backbone(path, seed=1, num_workers=2, **SHORT)
    assert sidecar['params'] == pretrained[1]['params']
    assert sidecar['heldout'] == pretrained[1]['heldout']


def test_the_schedule_warms_up_then_decays_to_zero():
    lrs = [pretrain.pretrain_lr(i, 100, 0.2, 10) for i in range(100)]
    assert lrs[0] == pytest.approx(0.2 * pretrain.WARMUP_FACTOR)
    assert all(a < b for a, b in zip(lrs[:10], lrs[1:11]))
    assert lrs[10] == pytest.approx(0.2)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:]))
    assert lrs[-1] < 0.001
    assert pretrain.default_warmup(5) == 1 and pretrain.default_warmup(10 ** 6) == 200


def test_windows_are_normalized_as_the_detectors_images():
    image = np.zeros((4, 4, 3), np.uint8)
    image[..., 0] = 255
    x = pretrain.normalize_window(image)
    assert x.shape == (3, 4, 4) and x.dtype == np.float32
    np.testing.assert_allclose(x[:, 0, 0], [(1 - 0.485) / 0.229, -0.456 / 0.224, -0.406 / 0.225],
                               rtol=1e-6)


def test_a_diverging_run_writes_nothing(tmp_path):
    path = str(tmp_path / 'diverged.params')
    with pytest.raises(TrainingDiverged, match='lower lr'):
        pretrain.pretrain_tiny_backbone(path, num_workers=0, lr=1e30, **SHORT)
    assert os.listdir(str(tmp_path)) == []


@pytest.mark.parametrize('change, param', [
    ({'iterations': 0}, 'iterations'), ({'batch_size': 1}, 'batch_size'),
    ({'seed': pretrain.HELDOUT_SEED}, 'seed'), ({'seed': -1}, 'seed'), ({'lr': 0.0}, 'lr'),
    ({'momentum': 1.0}, 'momentum'), ({'wd': -1.0}, 'wd'), ({'num_workers': -1}, 'num_workers'),
    ({'heldout_windows': 0}, 'heldout_windows'), ({'warmup': -1}, 'warmup'),
    ({'out': 'backbone.bin'}, 'out'), ({'heldout_backgrounds': ['lena']}, 'heldout_backgrounds'),
])
def test_bad_settings_fail_first(tmp_path, change, param):
    settings = dict(SHORT, out=str(tmp_path / 'b.params'), num_workers=0)
    settings.update(change)
    with pytest.raises(InputError) as info:
        pretrain.pretrain_tiny_backbone(**settings)
    assert info.value.param == param
    assert os.listdir(str(tmp_path)) == []


@pytest.mark.slow
def test_training_with_pretrained_base_starts_from_the_file(pretrained, tmp_path_factory,
                                                            monkeypatch):
    """What this proves: the trainer's own initialization (initialize_missing, --init, the
    moves between devices) keeps the loaded backbone: with a learning rate too small to move
    them, the trained detector's convolutions are still the file's."""
    demo = small_demo(tmp_path_factory)
    monkeypatch.setenv(tiny_backbone.BACKBONE_ENV, pretrained[0])
    prefix = str(tmp_path_factory.mktemp('run') / 'run')
    result = train(TrainConfig.create(network='tiny', pretrained_base=True, data_root=demo,
                                      val='', epochs=1, lr=1e-12, log_interval=0,
                                      num_workers=0, save_prefix=prefix))
    trained = mx.nd.load(result.last)
    saved = mx.nd.load(pretrained[0])
    convolutions = [name for name in saved if name.endswith('.0.weight')]
    assert len(convolutions) == 5
    for name in convolutions:
        np.testing.assert_allclose(trained[name].asnumpy(), saved[name].asnumpy(), atol=1e-6,
                                   err_msg=name)
    # Not a trivial match: a detector built without the file starts elsewhere.
    fresh = zoo.build_network('tiny', ['face'])
    fresh.initialize(mx.init.Xavier())
    zoo.infer_parameter_shapes(fresh)
    fresh(mx.nd.zeros((1, 3, 320, 320)))
    first = fresh._collect_params_with_prefix()['features.0.0.weight'].data().asnumpy()
    assert np.abs(first - saved['features.0.0.weight'].asnumpy()).max() > 0.01
