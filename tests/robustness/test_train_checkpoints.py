"""Robustness, training side: checkpoint sets handed to --resume, --init and the evaluator.

Every case damages a copy of a real checkpoint folder (trained once per module) the way a kill,
a copy or an attacker would, then runs the real command line. Each must end with exit 2 and a
message saying what is wrong, change no file, leave no temporary and run no code.
"""
import json
import os
import re
import shutil

import mxnet as mx
import numpy as np
import pytest
from fixtures import small_demo

from gluoncv_hard.cli import evaluate as evaluate_cli
from gluoncv_hard.cli import train as train_cli
from gluoncv_hard.engine.checkpoint import file_digest

from .training_helpers import snapshot, temps_in, train_args, write_pickle_payload

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    return small_demo(tmp_path_factory)


@pytest.fixture(scope='module')
def trained(demo, tmp_path_factory):
    """A folder with run_{0000,0001,best,last}.{params,states,json} after 2 epochs."""
    folder = str(tmp_path_factory.mktemp('trained'))
    assert train_cli.main(train_args(demo, os.path.join(folder, 'run'))) == 0
    return folder


def _json(path):
    with open(path) as f:
        return json.load(f)


def _write_json(path, value):
    with open(path, 'w') as f:
        json.dump(value, f)


def _edit_sidecar(folder, edit, rehash=False):
    """Change run_last.json with ``edit(dict)`` (optionally re-hashing the files, as a careful
    forger would)."""
    path = os.path.join(folder, 'run_last.json')
    sidecar = _json(path)
    edit(sidecar)
    if rehash:
        for role, ext in (('params', '.params'), ('states', '.states')):
            sidecar['files'][role].update(file_digest(os.path.join(folder, 'run_last' + ext)))
    _write_json(path, sidecar)


def _truncate(path, size):
    with open(path, 'r+b') as f:
        f.truncate(size)


def _nan_params(folder):
    params = mx.nd.load(os.path.join(folder, 'run_last.params'))
    params['rpn.conv1.0.weight'][:] = np.nan
    mx.nd.save(os.path.join(folder, 'run_last.params'), params)


def _legacy(folder):
    """What gluoncv-hard wrote before: no format or hashes; .states = Trainer.save_states."""
    net = mx.gluon.nn.Dense(2, in_units=3)
    net.initialize()
    trainer = mx.gluon.Trainer(net.collect_params(), 'sgd', {'momentum': 0.9})
    trainer.save_states(os.path.join(folder, 'run_last.states'))  # a real MXNet pickle
    _edit_sidecar(folder, lambda s: [s.pop(k) for k in ('format', 'format_version', 'files',
                                                        'optimizer', 'rng')])


def _copy(folder, src, dst):
    shutil.copy(os.path.join(folder, src), os.path.join(folder, dst))


def _remove(folder, name):
    os.remove(os.path.join(folder, name))


L = 'run_last'
# (case id, damage(folder), resume file, message regex)
RESUME_CASES = [
    ('pickle-states-current-sidecar',
     lambda f: write_pickle_payload(os.path.join(f, L + '.states'), os.path.join(f, 'PWNED')),
     L, r'mixed checkpoint: .*run_last\.states does not belong to this set'),
    ('pickle-states-legacy-sidecar',
     lambda f: (_legacy(f), write_pickle_payload(os.path.join(f, L + '.states'),
                                                 os.path.join(f, 'PWNED'))),
     L, r'run_last\.states is a Python pickle .* not loaded, because unpickling a file runs any '
        r'code'),
    ('pickle-states-no-sidecar',
     lambda f: (write_pickle_payload(os.path.join(f, L + '.states'), os.path.join(f, 'PWNED')),
                _remove(f, L + '.json')),
     L, r'incomplete checkpoint: .*run_last\.params has no sidecar'),
    ('pickle-states-forged-hashes',
     lambda f: (write_pickle_payload(os.path.join(f, L + '.states'), os.path.join(f, 'PWNED')),
                _edit_sidecar(f, lambda s: None, rehash=True)),
     L, r'run_last\.states is a Python pickle'),
    ('pickle-params',
     lambda f: (write_pickle_payload(os.path.join(f, L + '.params'), os.path.join(f, 'PWNED')),
                _edit_sidecar(f, lambda s: None, rehash=True)),
     L, r'run_last\.params is a Python pickle'),
    ('legacy-checkpoint', _legacy, L, r'run_last\.states is a Python pickle'),
    ('states-of-another-epoch', lambda f: _copy(f, 'run_0000.states', L + '.states'),
     L, r'run_last\.states does not belong to this set: it is from epoch 0, its sidecar '
        r'.*run_last\.json from epoch 1'),
    ('params-of-another-epoch', lambda f: _copy(f, 'run_0000.params', L + '.params'),
     L, r'mixed checkpoint: .*run_last\.params does not belong to this set: its SHA-256 differs'
        r'.*resume from another whole checkpoint \(.*run_0001\.params \(epoch 1\)'),
    ('sidecar-of-another-epoch', lambda f: _copy(f, 'run_0000.json', L + '.json'),
     L, r'mixed checkpoint: .*run_last\.params does not belong to this set'),
    ('missing-states', lambda f: _remove(f, L + '.states'),
     L, r'incomplete checkpoint: .*run_last\.states is missing'),
    ('missing-sidecar', lambda f: _remove(f, L + '.json'),
     L, r'incomplete checkpoint: .*run_last\.params has no sidecar .*run_last\.json'),
    ('missing-params', lambda f: _remove(f, L + '.params'),
     L, r'run_last\.params does not exist'),
    ('truncated-states', lambda f: _truncate(os.path.join(f, L + '.states'), 1000),
     L, r'run_last\.states does not belong to this set: it is truncated \(1000 of \d+ bytes\)'),
    ('truncated-params', lambda f: _truncate(os.path.join(f, L + '.params'), 4096),
     L, r'run_last\.params does not belong to this set: it is truncated \(4096 of'),
    ('empty-params', lambda f: _truncate(os.path.join(f, L + '.params'), 0),
     L, r'run_last\.params does not belong to this set: it is truncated \(0 of'),
    ('truncated-sidecar', lambda f: _truncate(os.path.join(f, L + '.json'), 50),
     L, r'run_last\.json: not valid JSON'),
    ('sidecar-epoch-is-a-string', lambda f: _edit_sidecar(f, lambda s: s.update(epoch='1')),
     L, r"field 'epoch' must be an integer, not '1'"),
    ('sidecar-epoch-negative', lambda f: _edit_sidecar(f, lambda s: s.update(epoch=-5)),
     L, r'epoch -5 is negative'),
    ('sidecar-is-a-list', lambda f: _write_json(os.path.join(f, L + '.json'), [1, 2]),
     L, r'a checkpoint sidecar is a JSON object, this is a list'),
    ('sidecar-files-wrong-type', lambda f: _edit_sidecar(f, lambda s: s.update(files='x')),
     L, r"field 'files' must be an object"),
    ('sidecar-hash-wrong-type',
     lambda f: _edit_sidecar(f, lambda s: s['files']['states'].update(sha256=5)),
     L, r'files\.states must be an object with bytes and sha256'),
    ('sidecar-classes-wrong-type', lambda f: _edit_sidecar(f, lambda s: s.update(classes=[1])),
     L, r"field 'classes' must be a non-empty list of names"),
    ('sidecar-rng-wrong-type', lambda f: _edit_sidecar(f, lambda s: s.update(rng='x')),
     L, r"field 'rng' must be a list"),
    ('sidecar-rng-damaged', lambda f: _edit_sidecar(f, lambda s: s.update(rng=[{'a': 1}])),
     L, r'rng_state is not a state of the RCNN sampler'),
    ('sidecar-rng-missing-sampler', lambda f: _edit_sidecar(f, lambda s: s.update(rng=[])),
     L, r'holds 0 random generator states, the network has 1 RCNN samplers'),
    ('sidecar-optimizer-layout', lambda f: _edit_sidecar(
        f, lambda s: s['optimizer'].update(layout={'0': [7, 'x']})),
     L, r'the optimizer state does not fit this training'),
    ('sidecar-optimizer-counts', lambda f: _edit_sidecar(
        f, lambda s: s['optimizer'].update(num_update='many')),
     L, r'num_update must be a non-negative integer'),
    ('sidecar-unknown-format', lambda f: _edit_sidecar(f, lambda s: s.update(format_version=3)),
     L, r"checkpoint format 'gluoncv-hard-checkpoint' version 3"),
    ('sidecar-deeply-nested', lambda f: open(os.path.join(f, L + '.json'), 'w').write(
        '[' * 100000), L, r'run_last\.json: not valid JSON'),
    ('foreign-network', lambda f: _edit_sidecar(f, lambda s: s.update(network='tiny_fpn'),
                                                rehash=False),
     L, r'holds a tiny_fpn network, not tiny'),
    ('non-finite-params-rehashed', lambda f: (_nan_params(f),
                                              _edit_sidecar(f, lambda s: None, rehash=True)),
     L, r'parameter rpn\.conv1\.0\.weight is not finite'),
    ('resume-names-the-states-file', lambda f: None, L + '.states', r'give the \.params file'),
    ('resume-names-the-sidecar', lambda f: None, L + '.json', r'give the \.params file'),
]


def _case_folder(trained, tmp_path):
    folder = str(tmp_path / 'ckpt')
    shutil.copytree(trained, folder, ignore=shutil.ignore_patterns('*_train.log'))
    return folder


@pytest.mark.parametrize('damage, resume, message', [c[1:] for c in RESUME_CASES],
                         ids=[c[0] for c in RESUME_CASES])
def test_resume_refuses_what_is_not_a_whole_checkpoint(demo, trained, tmp_path, capsys, damage,
                                                       resume, message):
    folder = _case_folder(trained, tmp_path)
    damage(folder)
    before = snapshot(folder)
    ext = '' if '.' in resume else '.params'
    status = train_cli.main(train_args(demo, os.path.join(folder, 'run'), epochs=3) +
                            ['--resume', os.path.join(folder, resume + ext)])
    err = capsys.readouterr().err
    assert status == 2, err
    last_line = err.strip().splitlines()[-1]
    assert last_line.startswith('error: --resume: ') and re.search(message, err), err
    assert 'Traceback' not in err
    assert snapshot(folder) == before  # nothing rewritten, nothing added
    assert temps_in(folder) == []
    assert not os.path.exists(os.path.join(folder, 'PWNED'))  # no code ran


def test_the_intact_set_resumes(demo, trained, tmp_path, capsys):
    """The control for every case above: the same command on the undamaged copy trains."""
    folder = _case_folder(trained, tmp_path)
    assert train_cli.main(train_args(demo, os.path.join(folder, 'run'), epochs=3) +
                          ['--resume', os.path.join(folder, 'run_last.params')]) == 0
    assert _json(os.path.join(folder, 'run_last.json'))['epoch'] == 2


def test_init_from_a_pickle_runs_no_code(demo, trained, tmp_path, capsys):
    folder = _case_folder(trained, tmp_path)
    bad = os.path.join(folder, 'model.params')
    write_pickle_payload(bad, os.path.join(folder, 'PWNED'))
    status = train_cli.main(train_args(demo, os.path.join(folder, 'new'), epochs=1) +
                            ['--init', bad])
    err = capsys.readouterr().err
    assert status == 2 and 'error: --init: ' in err and 'is a Python pickle' in err, err
    assert not os.path.exists(os.path.join(folder, 'PWNED'))


EVALUATE_CASES = [
    ('truncated-params', lambda f: _truncate(os.path.join(f, L + '.params'), 4096), [],
     r'error: --params: .*run_last\.params does not belong to this set: it is truncated'),
    ('params-of-another-epoch', lambda f: _copy(f, 'run_0000.params', L + '.params'), [],
     r'error: --params: .*run_last\.params does not belong to this set: its SHA-256 differs'),
    ('sidecar-is-a-list', lambda f: _write_json(os.path.join(f, L + '.json'), []), [],
     r'error: --params: .*is a JSON object, this is a list'),
    ('pickle-params-no-sidecar',
     lambda f: (write_pickle_payload(os.path.join(f, L + '.params'), os.path.join(f, 'PWNED')),
                _remove(f, L + '.json')), ['--network', 'tiny'],
     r'error: --params: .*run_last\.params is a Python pickle'),
    ('non-finite-params-no-sidecar', lambda f: (_nan_params(f), _remove(f, L + '.json')),
     ['--network', 'tiny'], r'parameter rpn\.conv1\.0\.weight is not finite'),
]


@pytest.mark.parametrize('damage, extra, message', [c[1:] for c in EVALUATE_CASES],
                         ids=[c[0] for c in EVALUATE_CASES])
def test_the_evaluator_refuses_a_sidecar_that_disagrees(demo, trained, tmp_path, capsys, damage,
                                                        extra, message):
    folder = _case_folder(trained, tmp_path)
    damage(folder)
    classes = os.path.join(folder, 'classes.txt')
    with open(classes, 'w') as f:
        f.write('face\n')
    status = evaluate_cli.main(['--params', os.path.join(folder, 'run_last.params'),
                                '--data-root', demo, '--val', 'val', '--num-workers', '0',
                                '--classes', classes] + extra)
    err = capsys.readouterr().err
    assert status == 2 and re.search(message, err) and 'Traceback' not in err, err
    assert not os.path.exists(os.path.join(folder, 'PWNED'))


def test_the_evaluator_still_reads_a_bare_params_file(demo, trained, tmp_path, capsys):
    """Documented: stock GluonCV files have no sidecar; with network and classes they load."""
    folder = _case_folder(trained, tmp_path)
    _remove(folder, L + '.json')
    classes = os.path.join(folder, 'classes.txt')
    with open(classes, 'w') as f:
        f.write('face\n')
    assert evaluate_cli.main(['--params', os.path.join(folder, 'run_last.params'),
                              '--network', 'tiny', '--classes', classes, '--data-root', demo,
                              '--val', 'val', '--num-workers', '0']) == 0
