"""Horovod on Gloo, two CPU processes: ``horovodrun -np 2 --gloo gluoncv-hard-train --horovod``.

One module-wide set of runs on the small demo data (6 training images, global batch 2, so 3
iterations per epoch):

- ``one``: one process on two CPU contexts (one image per device, as one image per Horovod
  process), epochs 0-2;
- ``hvd``: two Horovod processes, epochs 0-2, a checkpoint after every epoch;
- ``resumed``: two Horovod processes resumed from ``hvd``'s checkpoint of epoch 1, epoch 2.

Tolerance of the loss comparison with ``one``, relative, per epoch (measured differences in
brackets): RPN classification 1e-3 (2e-5), RPN box 2e-2 (4e-3), RCNN classification 5e-2
(2e-2), RCNN box 0.5 (0.3). Not exact, and on purpose: the images, their flips and RPN anchor
samples are the same (seeded per image), but the RCNN sampler draws from one random stream per
process, shared by the two devices of the one-process run (in the order its threads happen to
run) and separate per Horovod rank, so some RoIs differ, and with them the RCNN losses, most of
all the box loss of the few foreground RoIs, and through the shared backbone, slightly, the
rest. Gradients averaged with the wrong scale fail it: with the trainer step taking the global
batch instead of the process's share (which halves every update) the RCNN classification loss
of epoch 0 was 6% off. The resumed run, where no such difference exists, must repeat ``hvd``
exactly.

Horovod is built by ``.ci/run`` (see docs/scaling_out.md); where it is not installed these tests
are skipped, except in CI (``GLUONCV_HARD_REQUIRE``, see tests/optional.py), where they fail.
"""
import hashlib
import json
import os
import shutil
import subprocess
import sys

import mxnet as mx
import numpy as np
import pytest
from fixtures import small_demo
from optional import missing

from gluoncv_hard.engine.distributed import HOROVOD_INSTALL
from gluoncv_hard.modeling.losses import LOSS_NAMES

pytestmark = pytest.mark.slow

BIN = os.path.dirname(sys.executable)
RTOL = {'rpn_cls': 1e-3, 'rpn_box': 2e-2, 'rcnn_cls': 5e-2, 'rcnn_box': 0.5}


def horovod_available():
    try:
        import horovod.mxnet  # noqa: F401 -- only whether it imports
    except ImportError:
        return False
    return shutil.which('horovodrun', path=BIN) is not None


@pytest.fixture(scope='module', autouse=True)
def require_horovod():
    if not horovod_available():
        missing('horovod', 'Horovod with MXNet and horovodrun are not installed here ({})'
                .format(HOROVOD_INSTALL))


def run(command, timeout=600):
    env = dict(os.environ, PATH=BIN + os.pathsep + os.environ.get('PATH', ''))
    done = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout, check=False)
    assert done.returncode == 0, done.stdout[-6000:]
    return done.stdout


def horovodrun(flags, np_=2):
    # horovodrun parses every option of its command line and takes --network as an ambiguous
    # abbreviation of its own --network-interface(s): the command goes through sh -c
    # (docs/scaling_out.md).
    command = 'gluoncv-hard-train --horovod ' + ' '.join(flags)
    return run([os.path.join(BIN, 'horovodrun'), '-np', str(np_), '-H',
                'localhost:{}'.format(np_), '--gloo', 'sh', '-c', command])


def read_lines(prefix):
    with open(prefix + '_metrics.jsonl') as f:
        return [json.loads(line) for line in f]


def file_digest(params_path):
    """SHA-256 over name, dtype, shape and bytes of a .params file, names sorted: written here
    again so that the test does not trust the trainer's own digest function."""
    digest = hashlib.sha256()
    arrays = mx.nd.load(params_path)
    for name in sorted(arrays):
        value = np.ascontiguousarray(arrays[name].asnumpy())
        digest.update('{}|{}|{}|'.format(name, value.dtype.str, value.shape).encode('utf-8'))
        digest.update(value.tobytes())
    return digest.hexdigest()


@pytest.fixture(scope='module')
def runs(tmp_path_factory):
    demo = small_demo(tmp_path_factory)
    root = tmp_path_factory.mktemp('horovod')
    common = ['--network', 'tiny', '--data-root', demo, '--batch-size', '2', '--lr', '0.01',
              '--log-interval', '1', '--num-workers', '0', '--epochs', '3', '--save-interval', '1',
              '--neg-val', os.path.join(demo, 'negatives', 'test')]
    one, hvd, resumed = (str(root / name / 'run') for name in ('one', 'hvd', 'resumed'))
    run([os.path.join(BIN, 'gluoncv-hard-train'), '--cpu-contexts', '2', '--save-prefix', one]
        + common)
    outputs = [horovodrun(common + ['--save-prefix', hvd])]
    outputs.append(horovodrun(common + ['--save-prefix', resumed, '--resume',
                                        hvd + '_0001.params']))
    return dict(one=one, hvd=hvd, resumed=resumed, outputs=outputs)


def test_each_rank_trains_on_its_own_half_of_every_batch(runs):
    for line in read_lines(runs['hvd']):
        assert line['horovod']['ranks'] == 2
        assert line['horovod']['images_per_rank'] == [3, 3]  # 3 iterations of 1 image each
        assert line['horovod']['images_on_several_ranks'] == 0
        assert line['iterations'] == 3


def test_both_ranks_hold_identical_parameters(runs):
    lines = read_lines(runs['hvd'])
    for line in lines:
        first, second = line['horovod']['param_digests']
        assert first == second
    # The digests are those of what rank 0 saved after each epoch; they change every epoch,
    # so they are not vacuous.
    for epoch, line in enumerate(lines):
        saved = file_digest('{}_{:04d}.params'.format(runs['hvd'], epoch))
        assert saved.startswith(line['horovod']['param_digests'][0])
    assert file_digest(runs['hvd'] + '_last.params') == saved
    assert len({line['horovod']['param_digests'][0] for line in lines}) == 3


def test_rank_0_alone_validates_logs_and_writes(runs):
    for output in runs['outputs']:
        rank1 = [line for line in output.splitlines() if line.startswith('[1]')]
        rank0 = [line for line in output.splitlines() if line.startswith('[0]')]
        assert any('Validation' in line for line in rank0)
        assert any('best checkpoint:' in line for line in rank0)
        # Rank 1 prints warnings and errors only: nothing of training, validation or saving.
        assert not [line for line in rank1 if 'Epoch' in line or 'checkpoint' in line
                    or 'Validation' in line], rank1
    lines = read_lines(runs['hvd'])
    assert [line['epoch'] for line in lines] == [0, 1, 2]  # one writer: one line per epoch
    assert all('val' in line for line in lines)
    with open(runs['hvd'] + '_train.log') as f:
        log = f.read()
    assert log.count('Start training from') == 1 and log.count('Training cost') == 3
    tags = ['best', 'last', '0000', '0001', '0002']
    assert sorted(os.listdir(os.path.dirname(runs['hvd']))) == sorted(
        ['run_{}.{}'.format(tag, ext) for tag in tags for ext in ('params', 'states', 'json')]
        + ['run_metrics.jsonl', 'run_metrics.png', 'run_train.log'])


def test_resume_under_horovod_repeats_the_uninterrupted_run(runs):
    assert 'Start training from [Epoch 2]' in runs['outputs'][1]
    (line,) = read_lines(runs['resumed'])
    expected = read_lines(runs['hvd'])[2]
    assert line['epoch'] == 2 and line['lr'] == expected['lr']
    assert line['train_losses'] == expected['train_losses']
    assert line['horovod'] == expected['horovod']  # the same parameters on both ranks
    assert file_digest(runs['resumed'] + '_last.params') == file_digest(
        runs['hvd'] + '_last.params')


def test_loss_curve_agrees_with_one_process_at_the_same_global_batch(runs):
    lines, reference = read_lines(runs['hvd']), read_lines(runs['one'])
    assert [line['epoch'] for line in reference] == [0, 1, 2]
    for line, expected in zip(lines, reference):
        assert line['iterations'] == expected['iterations']
        assert line['lr'] == pytest.approx(expected['lr'])
        for name in LOSS_NAMES:
            value, want = line['train_losses'][name], expected['train_losses'][name]
            assert value == pytest.approx(want, rel=RTOL[name]), (line['epoch'], name, value,
                                                                  want)
    # The losses moved over the three epochs: the agreement is not that of a flat curve.
    assert reference[2]['train_losses']['rcnn_cls'] < 0.8 * reference[0]['train_losses'][
        'rcnn_cls']
