"""Robustness, training side: a real training process killed at random points, then resumed.

SIGTERM and SIGINT must leave no temporary file and exit 143/130 with a message (no traceback);
SIGKILL may leave temporaries, which the next run in the folder removes. The next run either
resumes (and then ends with exactly the weights and metrics lines of an uninterrupted run) or
refuses with exit 2 and says which whole checkpoint to use instead. Kills land at random times
and, on purpose, while a checkpoint is being written (as soon as a temporary appears).
"""
import json
import os
import random
import re
import shutil
import signal
import socket
import time

import pytest
from fixtures import small_demo

from gluoncv_hard.cli import train as train_cli
from gluoncv_hard.engine.checkpoint import verify_checkpoint

from .training_helpers import start_training, temps_in, train_args

pytestmark = pytest.mark.slow

EPOCHS = 3
TIMINGS = ('train_seconds', 'val_seconds')


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    return small_demo(tmp_path_factory)


def _wait_for_training(process, folder, timeout=300):
    """Until the log says training starts (imports and setup take seconds); the time then."""
    log = os.path.join(folder, 'run_train.log')
    deadline = time.time() + timeout
    while time.time() < deadline and process.poll() is None:
        if os.path.exists(log):
            with open(log) as f:
                if 'Start training' in f.read():
                    break
        time.sleep(0.005)
    return time.time()


@pytest.fixture(scope='module')
def reference(demo, tmp_path_factory):
    """An uninterrupted run as a process: its folder and how long its training took."""
    folder = str(tmp_path_factory.mktemp('reference'))
    process = start_training(train_args(demo, os.path.join(folder, 'run'), epochs=EPOCHS))
    started = _wait_for_training(process, folder)
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    return folder, time.time() - started


def _lines(folder):
    with open(os.path.join(folder, 'run_metrics.jsonl')) as f:
        return [{k: v for k, v in line.items() if k not in TIMINGS} for line in map(json.loads, f)]


def _read(path):
    with open(path, 'rb') as f:
        return f.read()


def _finished(last):
    try:
        return verify_checkpoint(last)['epoch'] == EPOCHS - 1
    except Exception:  # noqa: BLE001 -- missing, mixed or damaged: not finished
        return False


def _kill(process, folder, signum, trigger, rng, duration):
    """Send ``signum`` at a random time, or as soon as a checkpoint temporary exists."""
    if trigger == 'time':
        deadline = _wait_for_training(process, folder) + rng.uniform(0.05, 0.8) * duration
        while time.time() < deadline and process.poll() is None:
            time.sleep(0.01)
    else:
        deadline = time.time() + 3 * duration
        while process.poll() is None and time.time() < deadline and not temps_in(folder):
            time.sleep(0.001)
    if process.poll() is None:
        process.send_signal(signum)
    out, err = process.communicate(timeout=600)
    return process.returncode, err


# (signal, when, data-loader workers): SIGKILL cannot be caught; SIGTERM and SIGINT must clean
# up, also with worker processes running (which must end with the parent).
TRIALS = [(signal.SIGKILL, 'time', 0), (signal.SIGKILL, 'temp', 0), (signal.SIGKILL, 'temp', 0),
          (signal.SIGTERM, 'time', 2), (signal.SIGTERM, 'temp', 0), (signal.SIGINT, 'time', 0)]


@pytest.mark.parametrize('trial', range(len(TRIALS)), ids=[
    '{}-{}-workers{}'.format(signal.Signals(s).name, w, n) for s, w, n in TRIALS])
def test_killed_then_resumed_ends_as_an_uninterrupted_run(demo, reference, tmp_path, capsys,
                                                          trial):
    signum, trigger, workers = TRIALS[trial]
    rng = random.Random(trial)
    ref_folder, duration = reference
    folder = str(tmp_path)
    prefix = os.path.join(folder, 'run')
    # The number of workers changes nothing in the results (items are seeded one by one).
    args = train_args(demo, prefix, '--num-workers', str(workers), epochs=EPOCHS)
    status, err = _kill(start_training(args), folder, signum, trigger, rng, duration)
    if status != 0:  # it may have finished before the signal
        assert status == {signal.SIGKILL: -9, signal.SIGTERM: 143, signal.SIGINT: 130}[signum], err
    if signum != signal.SIGKILL:
        assert temps_in(folder) == [], 'a caught signal left temporaries'
        assert 'Traceback' not in err
        if status:
            assert re.search(r'^interrupted: stopped by {} during (epoch \d|setup); no temporary '
                             r'file is left\.'.format(signal.Signals(signum).name), err, re.M), err

    # The next run: resume when there is a checkpoint, else start again (unless the signal came
    # after the last checkpoint: then there is nothing left to do).
    last = prefix + '_last.params'
    stale = temps_in(folder)
    capsys.readouterr()
    status, err = 0, ''
    if not _finished(last):
        status = train_cli.main(args + (['--resume', last] if os.path.exists(last) else []))
        err = capsys.readouterr().err
    if status == 2:  # a set cut by SIGKILL between two renames: refused, with a way out
        assert signum == signal.SIGKILL and re.search(r'(mixed|incomplete) checkpoint', err), err
        hinted = re.search(r'resume from another whole checkpoint \((\S+\.params)', err)
        status = train_cli.main(args + (['--resume', hinted.group(1)] if hinted else []))
    assert status == 0, err
    assert temps_in(folder) == [], 'the next run left temporaries'
    if stale and os.path.exists(prefix + '_train.log'):
        with open(prefix + '_train.log') as f:
            log = f.read()
        assert all('Removed {}'.format(os.path.join(folder, name)) in log for name in stale)

    # Whatever happened, the result is the uninterrupted run's, to the bit.
    assert verify_checkpoint(last)['epoch'] == EPOCHS - 1
    assert _read(last) == _read(os.path.join(ref_folder, 'run_last.params'))
    assert _read(prefix + '_last.states') == _read(os.path.join(ref_folder, 'run_last.states'))
    # Every epoch's line once and in order, as the uninterrupted run wrote it (a line whose
    # checkpoint a kill prevented is dropped by the next run, which writes it again).
    assert _lines(folder) == _lines(ref_folder)


def test_the_next_run_removes_stale_temporaries_of_killed_runs(demo, tmp_path, capsys):
    child = start_training(['--help'])
    child.communicate()
    dead = child.pid  # a process id that no longer runs
    host = re.sub(r'[^A-Za-z0-9]', '_', socket.gethostname())[:32]
    stale = tmp_path / '.run_last.params.{}-{}.k1ll3d_x.tmp'.format(host, dead)
    elsewhere = tmp_path / '.run_last.params.otherhost-{}.k1ll3d_x.tmp'.format(dead)
    for path in (stale, elsewhere):
        path.write_bytes(b'\0' * 1000)
    assert train_cli.main(train_args(demo, str(tmp_path / 'run'), epochs=1)) == 0
    assert not stale.exists() and elsewhere.exists()  # another host's may still be written
    with open(str(tmp_path / 'run_train.log')) as f:
        assert 'Removed {}, a temporary file of a run that was killed'.format(stale) in f.read()


def test_sigterm_before_the_first_checkpoint_says_nothing_was_saved(demo, tmp_path):
    process = start_training(train_args(demo, str(tmp_path / 'run'), epochs=EPOCHS))
    # Wait for training to start: the log's last setup line.
    log = tmp_path / 'run_train.log'
    deadline = time.time() + 120
    while time.time() < deadline and not (log.exists() and 'Start training' in log.read_text()):
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 143, err
    assert 'interrupted: stopped by SIGTERM during epoch 0; no temporary file is left. No ' \
           'checkpoint was saved yet.' in err and 'Traceback' not in err
    assert sorted(os.listdir(str(tmp_path))) == ['run_train.log']
    shutil.rmtree(str(tmp_path))
