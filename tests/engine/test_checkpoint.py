"""Checkpoints and trained networks: the errors a caller can cause name the parameter at fault;
a checkpoint is valid only as a whole set, and its optimizer state is never a pickle."""
import errno
import json
import os
import shutil
import signal

import mxnet as mx
import numpy as np
import pytest
from fixtures import file_size_limit

import gluoncv_hard
from gluoncv_hard.engine.checkpoint import (
    KILL_HOOK_ENV,
    check_params_file,
    file_digest,
    load_matching_params,
    load_trainer_states,
    previous_path,
    read_sidecar,
    resumable_checkpoint,
    save_checkpoint,
    save_ndarrays,
    sidecar_path,
    states_path,
    verify_checkpoint,
)
from gluoncv_hard.engine.networks import load_trained_network
from gluoncv_hard.errors import InputError, InputNotFoundError, TrainingDiverged
from gluoncv_hard.utils.atomic import remove_stale_temps


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


# --- whole sets, optimizer state without pickle ------------------------------------------------

def _small_net():
    """A real gluon network with a BatchNorm (auxiliary states) and known shapes."""
    net = mx.gluon.nn.HybridSequential()
    net.add(mx.gluon.nn.Dense(4, in_units=3), mx.gluon.nn.BatchNorm(in_channels=4),
            mx.gluon.nn.Dense(2, in_units=4))
    net.initialize(mx.init.Xavier())
    return net


def _trainer(net, momentum=0.9):
    return mx.gluon.Trainer(net.collect_params(), 'sgd',
                            {'learning_rate': 0.1, 'momentum': momentum, 'wd': 1e-4})


def _step(net, trainer, seed):
    x = mx.nd.array(np.random.default_rng(seed).normal(size=(5, 3)))
    with mx.autograd.record():
        loss = (net(x) ** 2).sum()
    loss.backward()
    trainer.step(5)


def _weights(net):
    return {k: v.data().asnumpy() for k, v in net._collect_params_with_prefix().items()}


@pytest.fixture
def trained_set(tmp_path):
    """``PREFIX_last.*`` of a small net after two SGD-with-momentum steps, and the net."""
    net = _small_net()
    trainer = _trainer(net)
    for seed in (0, 1):
        _step(net, trainer, seed)
    state = {'epoch': 1, 'network': 'small', 'classes': ['a'], 'best_map': 0.5}
    path = save_checkpoint(str(tmp_path / 'run'), 'last', net, trainer, state)
    return path, net, trainer


def test_optimizer_state_round_trips_without_pickle(trained_set, monkeypatch):
    """What this proves: a resumed trainer continues exactly as the original (momentum,
    counters), and nothing on the way unpickles."""
    path, net, trainer = trained_set
    import pickle
    monkeypatch.setattr(pickle, 'loads', None)  # any unpickling would now fail loudly
    monkeypatch.setattr(pickle, 'load', None)
    sidecar = verify_checkpoint(path)
    assert sidecar['epoch'] == 1 and sidecar['optimizer']['num_update'] == 2
    assert sidecar['files']['params']['sha256'] == file_digest(path)['sha256']
    with open(states_path(path), 'rb') as f:
        assert f.read(8) == b'\x12\x01\x00\x00\x00\x00\x00\x00'  # MXNet's NDArray format

    resumed = _small_net()
    resumed.load_parameters(path)
    resumed_trainer = _trainer(resumed)
    load_trainer_states(resumed_trainer, path, sidecar)
    assert resumed_trainer._optimizer.num_update == 2
    _step(net, trainer, 2)
    _step(resumed, resumed_trainer, 2)
    for name, value in _weights(net).items():
        np.testing.assert_array_equal(value, _weights(resumed)[name], err_msg=name)

    # Without the momentum the next step differs: the state did matter.
    fresh = _small_net()
    fresh.load_parameters(path)
    _step(fresh, _trainer(fresh), 2)
    assert any(not np.array_equal(v, _weights(fresh)[k]) for k, v in _weights(net).items())


def test_states_that_do_not_fit_the_trainer_are_refused(trained_set):
    path, _, _ = trained_set
    sidecar = verify_checkpoint(path)
    other = mx.gluon.nn.Dense(2, in_units=3)
    other.initialize()
    with pytest.raises(InputError, match='state of 8 trainable parameters, this network has 2'):
        load_trainer_states(_trainer(other), path, sidecar)
    with pytest.raises(InputError, match="optimizer 'sgd', not 'adam'"):
        net = _small_net()
        load_trainer_states(mx.gluon.Trainer(net.collect_params(), 'adam'), path, sidecar)
    broken = dict(sidecar, optimizer=dict(sidecar['optimizer'], layout={'0': 99}))
    with pytest.raises(InputError, match='neither null, an array index'):
        load_trainer_states(_trainer(_small_net()), path, broken)


class _Payload:
    """Unpickling this creates ``marker``: the proof that a pickle ran code."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def _write_pickle(path, marker):
    import pickle
    with open(path, 'wb') as f:
        pickle.dump(_Payload(str(marker)), f, protocol=2)


@pytest.mark.parametrize('sidecar_kind', ['current', 'legacy', 'none'])
def test_a_crafted_pickle_states_file_never_runs(trained_set, tmp_path, sidecar_kind):
    path, net, _ = trained_set
    marker = tmp_path / 'pwned'
    _write_pickle(states_path(path), marker)
    if sidecar_kind == 'legacy':  # what older versions wrote: no format, no hashes
        with open(sidecar_path(path), 'w') as f:
            json.dump({'epoch': 1, 'network': 'small', 'classes': ['a']}, f)
    elif sidecar_kind == 'none':
        os.remove(sidecar_path(path))
    with pytest.raises(InputError) as e:
        verify_checkpoint(path)
    assert e.value.param == 'resume'
    expected = {'current': 'mixed checkpoint', 'legacy': 'is a Python pickle',
                'none': 'has no sidecar'}[sidecar_kind]
    assert expected in str(e.value)
    # Even handed straight to the loader, the pickle is refused, not unpickled.
    with pytest.raises(InputError, match='unpickling a file runs any code'):
        load_trainer_states(_trainer(_small_net()), path, {'optimizer': {}})
    assert not marker.exists()


def _set_files(tmp_path, path):
    return sorted(os.listdir(os.path.dirname(path)))


def test_mixed_incomplete_and_damaged_sets_say_why(trained_set, tmp_path):
    path, net, trainer = trained_set
    base = os.path.splitext(path)[0]
    # Epoch 2 of the same run: every file differs from epoch 1's.
    _step(net, trainer, 5)
    other = save_checkpoint(str(tmp_path / 'run'), '0002', net, trainer,
                            {'epoch': 2, 'network': 'small', 'classes': ['a']})
    good = {ext: open(base + ext, 'rb').read() for ext in ('.params', '.states', '.json')}

    def restore():
        for ext, data in good.items():
            with open(base + ext, 'wb') as f:
                f.write(data)

    def refused(match):
        with pytest.raises(InputError, match=match) as e:
            verify_checkpoint(path)
        assert e.value.param == 'resume'
        restore()
        return str(e.value)

    shutil.copy(states_path(other), base + '.states')
    message = refused(r'mixed checkpoint: .*run_last\.states does not belong to this set: it is '
                      r'from epoch 2, its sidecar .*run_last\.json from epoch 1')
    assert 'run_0002.params (epoch 2)' in message  # the whole set to use instead
    shutil.copy(other, path)  # a kill between the renames of .params and .json
    refused(r'mixed checkpoint: .*run_last\.params does not belong to this set: its SHA-256')
    os.remove(base + '.states')
    refused(r'incomplete checkpoint: .*run_last\.states is missing')
    with open(base + '.states', 'r+b') as f:
        f.truncate(100)
    refused(r'run_last\.states does not belong to this set: it is truncated \(100 of \d+ bytes\)')
    shutil.copy(sidecar_path(other), base + '.json')  # another checkpoint's sidecar
    refused(r'mixed checkpoint: .*run_last\.params')
    for text, match in [('[1, 2]', 'is a JSON object, this is a list'),
                        ('{"epoch": "1"}', "field 'epoch' must be an integer, not '1'"),
                        ('{"epoch": 1, "format": "gluoncv-hard-checkpoint", "format_version": 2,'
                         ' "files": [], "network": "x", "classes": ["a"]}',
                         "field 'files' must be an object"),
                        ('{"epoch": true}', "field 'epoch' must be an integer"),
                        ('{"epoch": 1, "format": "other", "format_version": 9}',
                         "checkpoint format 'other' version 9"),
                        ('{"epoch": ', 'not valid JSON'),
                        ('[' * 100000, 'not valid JSON'),
                        ('\xff', 'not valid JSON')]:
        with open(base + '.json', 'w', encoding='latin-1') as f:
            f.write(text)
        refused(match)
    assert verify_checkpoint(path)['epoch'] == 1  # restored: whole again


def test_a_checkpoint_without_states_cannot_be_resumed(tmp_path):
    path = save_checkpoint(str(tmp_path / 'run'), 'last', _small_net(), None,
                           {'epoch': 0, 'network': 'small', 'classes': ['a']})
    assert not os.path.exists(states_path(path))
    with pytest.raises(InputError, match='saved without optimizer state'):
        verify_checkpoint(path)


def test_nothing_non_finite_is_written(tmp_path):
    net = _small_net()
    trainer = _trainer(net)
    _step(net, trainer, 0)
    net[1].running_var.set_data(mx.nd.array([1, np.nan, 1, 1]))
    with pytest.raises(TrainingDiverged, match=r'1\.running_var is not finite'):
        save_checkpoint(str(tmp_path / 'run'), 'last', net, trainer, {'epoch': 0})
    assert os.listdir(str(tmp_path)) == []  # no file, no temporary


def test_non_finite_params_files_are_refused(checkpoint, tmp_path):
    params = mx.nd.load(checkpoint)
    params['rpn.conv1.0.weight'][:] = np.inf
    bad = str(tmp_path / 'bad.params')
    mx.nd.save(bad, params)
    with pytest.raises(InputError, match=r'parameter rpn\.conv1\.0\.weight is not finite'):
        check_params_file(bad, 1)


def test_load_trained_network_refuses_a_sidecar_that_disagrees(checkpoint, tmp_path):
    copy = str(tmp_path / 'copy.params')
    shutil.copy(checkpoint, copy)
    shutil.copy(sidecar_path(checkpoint), sidecar_path(copy))
    net, sidecar = load_trained_network(copy, [mx.cpu()])  # renamed as a set: fine
    assert sidecar['network'] == 'tiny'
    with open(copy, 'r+b') as f:
        f.truncate(1000)
    with pytest.raises(InputError, match=r'copy\.params does not belong to this set: it is '
                                         r'truncated') as e:
        load_trained_network(copy, [mx.cpu()])
    assert e.value.param == 'params_path'
    # An older sidecar (no hashes) is still read, but must name its .params.
    with open(sidecar_path(copy), 'w') as f:
        json.dump({'network': 'tiny', 'classes': ['face'], 'params': 'other.params'}, f)
    shutil.copy(checkpoint, copy)
    with pytest.raises(InputError, match=r'describes other\.params, not copy\.params'):
        load_trained_network(copy, [mx.cpu()])


class _Half(mx.gluon.Block):
    """Two float16 parameters (float16 layers other than element-wise ones need a GPU)."""

    def __init__(self):
        super().__init__()
        with self.name_scope():
            self.w = self.params.get('w', shape=(2, 3), dtype='float16')
            self.b = self.params.get('b', shape=(2,), dtype='float16')

    def forward(self, x):
        return (self.w.data() * x).sum() + self.b.data().sum()


def test_multi_precision_state_round_trips(tmp_path):
    """Under AMP each state is (float32 master weight, momentum): a nested layout."""
    def build():
        net = _Half()
        net.initialize(mx.init.Uniform())
        return net, mx.gluon.Trainer(net.collect_params(), 'sgd', {
            'learning_rate': 0.1, 'momentum': 0.9, 'multi_precision': True})

    def step(net, trainer, seed):
        x = mx.nd.array(np.random.default_rng(seed).normal(size=(2, 3)), dtype='float16')
        with mx.autograd.record():
            loss = net(x)
        loss.backward()
        trainer.step(1)

    net, trainer = build()
    step(net, trainer, 0)
    path = save_checkpoint(str(tmp_path / 'mp'), 'last', net, trainer,
                           {'epoch': 0, 'network': 'x', 'classes': ['a']})
    sidecar = verify_checkpoint(path)
    assert sorted(sidecar['optimizer']['layout'].values()) == [[0, 1], [2, 3]]
    resumed, resumed_trainer = build()
    resumed.load_parameters(path)
    load_trainer_states(resumed_trainer, path, sidecar)
    master = resumed_trainer._updaters[0].states[0][0]
    assert master.dtype == np.float32
    step(net, trainer, 1)
    step(resumed, resumed_trainer, 1)
    for name, value in _weights(net).items():
        np.testing.assert_array_equal(value, _weights(resumed)[name], err_msg=name)


# --- writing: Python's I/O, two-phase commit ---------------------------------------------------

def test_save_ndarrays_writes_the_bytes_of_mx_nd_save(tmp_path):
    arrays = {'f32': mx.nd.array(np.arange(12).reshape(3, 4), dtype='float32'),
              'f16': mx.nd.array([1.5, -2], dtype='float16'),
              'i64': mx.nd.array([[7]], dtype='int64'), 'u8': mx.nd.array([255], dtype='uint8'),
              'ünï': mx.nd.ones((2, 1, 3))}
    ours, theirs = str(tmp_path / 'ours'), str(tmp_path / 'theirs')
    save_ndarrays(ours, arrays)
    mx.nd.save(theirs, arrays)
    assert open(ours, 'rb').read() == open(theirs, 'rb').read()
    net = _small_net()
    save_checkpoint(str(tmp_path / 'run'), 'last', net, None, {'epoch': 0})
    net.save_parameters(str(tmp_path / 'stock.params'))
    assert open(str(tmp_path / 'run_last.params'), 'rb').read() == \
        open(str(tmp_path / 'stock.params'), 'rb').read()


def test_a_write_cut_at_its_last_bytes_fails_and_keeps_the_old_set(trained_set, tmp_path):
    """``mx.nd.save`` ignores the error of its final flush: with the limit just below the file's
    size it leaves a short file and raises nothing, which the sidecar would then certify."""
    path, net, trainer = trained_set
    before = {name: open(str(tmp_path / name), 'rb').read() for name in os.listdir(tmp_path)}
    _step(net, trainer, 7)
    with pytest.raises(OSError) as e, file_size_limit(os.path.getsize(path) - 50):
        save_checkpoint(str(tmp_path / 'run'), 'last', net, trainer,
                        {'epoch': 2, 'network': 'small', 'classes': ['a']})
    assert e.value.errno == errno.EFBIG and e.value.filename == path  # the output, not a temp
    after = {name: open(str(tmp_path / name), 'rb').read() for name in os.listdir(tmp_path)}
    assert after == before  # no temporary, no .prev, the old set untouched
    assert verify_checkpoint(path)['epoch'] == 1


def _kill_save_at(step, prefix, net, trainer, epoch, tag='last'):
    """Save in a forked child that SIGKILLs itself at ``step`` (the test hook)."""
    pid = os.fork()
    if pid == 0:  # the child: never returns to pytest
        try:
            os.environ[KILL_HOOK_ENV] = '{}:{}:{}'.format(tag, epoch, step)
            save_checkpoint(prefix, tag, net, trainer,
                            {'epoch': epoch, 'network': 'small', 'classes': ['a']})
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    return os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


# step -> the set that resume takes after a kill there: (epoch, from .prev)
KILL_OUTCOMES = {0: (1, False), 1: (1, False), 2: (1, False), 3: (1, False), 4: (1, True),
                 5: (1, True), 6: (2, False), 7: (2, False), 8: (2, False), 9: (2, False)}


@pytest.mark.parametrize('step', sorted(KILL_OUTCOMES))
def test_a_save_killed_at_any_step_leaves_a_whole_set_that_resume_finds(trained_set, tmp_path,
                                                                         step):
    path, net, trainer = trained_set
    prefix = str(tmp_path / 'run')
    saved = {1: _weights(net)}
    _step(net, trainer, 3)
    saved[2] = _weights(net)
    assert _kill_save_at(step, prefix, net, trainer, 2), 'the hook did not fire at this step'
    remove_stale_temps(str(tmp_path))  # the killed child's temporaries (the next run does it)
    epoch, kept = KILL_OUTCOMES[step]
    found, sidecar, note = resumable_checkpoint(path)
    assert sidecar['epoch'] == epoch and found == (previous_path(path) if kept else path)
    assert (note is not None) == kept
    if kept:
        assert 'is not a whole set' in note and 'resuming from {} (epoch 1)'.format(found) in note
        with pytest.raises(InputError, match='mixed checkpoint'):
            verify_checkpoint(path)  # what resume refused before
    resumed = _small_net()
    resumed.load_parameters(found)
    for name, value in saved[epoch].items():
        np.testing.assert_array_equal(_weights(resumed)[name], value, err_msg=name)

    # The next save (a resumed run's) completes the protocol: one whole set, nothing else left.
    _step(net, trainer, 4)
    save_checkpoint(prefix, 'last', net, trainer, {'epoch': 3, 'network': 'small',
                                                   'classes': ['a']})
    assert sorted(os.listdir(tmp_path)) == ['run_last.json', 'run_last.params', 'run_last.states']
    assert resumable_checkpoint(path)[1]['epoch'] == 3


def test_two_cut_saves_in_a_row_keep_the_last_whole_set(trained_set, tmp_path):
    path, net, trainer = trained_set
    prefix = str(tmp_path / 'run')
    for epoch in (2, 3):  # the second save is a resumed run's, cut at the same rename
        _step(net, trainer, epoch)
        assert _kill_save_at(5, prefix, net, trainer, epoch)
        found, sidecar, note = resumable_checkpoint(path)
        assert found == previous_path(path) and sidecar['epoch'] == 1 and note
    # A cut after the new set is in place (before .prev is deleted): the new set is taken, and
    # the next save keeps it (not the older .prev) while it replaces it.
    _step(net, trainer, 4)
    assert _kill_save_at(7, prefix, net, trainer, 4)
    assert resumable_checkpoint(path)[1]['epoch'] == 4
    _step(net, trainer, 5)
    assert _kill_save_at(4, prefix, net, trainer, 5)
    found, sidecar, _ = resumable_checkpoint(path)
    assert found == previous_path(path) and sidecar['epoch'] == 4


def test_resume_never_takes_a_mixed_set(trained_set, tmp_path):
    path, net, trainer = trained_set
    _step(net, trainer, 5)
    other = save_checkpoint(str(tmp_path / 'run'), '0002', net, trainer,
                            {'epoch': 2, 'network': 'small', 'classes': ['a']})
    shutil.copy(other, path)  # mixed, and no .prev: the error about the set itself
    with pytest.raises(InputError, match=r'mixed checkpoint: .*run_last\.params'):
        resumable_checkpoint(path)
    # A .prev that is not whole either (a copied-over .params) is not taken.
    for ext in ('.params', '.states', '.json'):
        shutil.copy(os.path.splitext(other)[0] + ext, os.path.splitext(previous_path(path))[0] +
                    ext)
    shutil.copy(path.replace('_last', '_0002'), previous_path(path))
    with open(previous_path(path), 'ab') as f:
        f.write(b'x')
    with pytest.raises(InputError, match=r'mixed checkpoint: .*run_last\.params does not'):
        resumable_checkpoint(path)


def test_the_metrics_hook_runs_before_anything_is_renamed(trained_set, tmp_path):
    path, net, trainer = trained_set
    before = open(path, 'rb').read()
    seen = []

    def hook():
        seen.append(sorted(n for n in os.listdir(tmp_path) if not n.startswith('.')))
        raise OSError(errno.ENOSPC, 'No space left on device', str(tmp_path / 'm.jsonl'))

    with pytest.raises(OSError, match='No space left'):
        save_checkpoint(str(tmp_path / 'run'), 'last', net, trainer, {'epoch': 2}, hook)
    assert seen == [['run_last.json', 'run_last.params', 'run_last.states']]
    assert open(path, 'rb').read() == before and sorted(os.listdir(tmp_path)) == seen[0]
