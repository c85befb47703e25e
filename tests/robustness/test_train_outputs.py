"""Robustness, training side: outputs that cannot be written, and kills inside a save.

A write the kernel refuses (files may not grow past a limit set on the running process with
``prlimit``: EFBIG on a real write, as on a full disk, without root or a mount) and an output
folder under a regular file must end with exit 2 and a message naming the file, why, and the
checkpoint to resume, with no temporary left and the previous checkpoints untouched. A SIGKILL
at a given step of a save (the test hook of :mod:`gluoncv_hard.engine.checkpoint`) must leave a
whole set that ``--resume PREFIX_last.params`` continues, to the same bytes and metrics lines as
an uninterrupted run.
"""
import json
import os
import re
import resource
import shutil
import signal
import time

import pytest
from fixtures import small_demo

from gluoncv_hard.cli import train as train_cli
from gluoncv_hard.engine.checkpoint import KILL_HOOK_ENV, previous_path, resumable_checkpoint

from .training_helpers import start_training, temps_in, train_args

pytestmark = pytest.mark.slow

EPOCHS = 3
TIMINGS = ('train_seconds', 'val_seconds')
CHECKPOINT_FILES = re.compile(r'^run_(last|best)(\.prev)?\.(params|states|json)$')


def _args(demo, prefix, *extra, epochs=EPOCHS):
    # Only _best and _last (the default): the sets that a save replaces.
    return train_args(demo, prefix, '--save-interval', '0', *extra, epochs=epochs)


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    return small_demo(tmp_path_factory)


@pytest.fixture(scope='module')
def reference(demo, tmp_path_factory):
    """An uninterrupted run of EPOCHS epochs: its folder."""
    folder = str(tmp_path_factory.mktemp('reference'))
    assert train_cli.main(_args(demo, os.path.join(folder, 'run'))) == 0
    return folder


@pytest.fixture(scope='module')
def after_epoch_0(demo, tmp_path_factory):
    """A run stopped after epoch 0 (resuming it is bit-identical to not stopping)."""
    folder = str(tmp_path_factory.mktemp('epoch0'))
    assert train_cli.main(_args(demo, os.path.join(folder, 'run'), epochs=1)) == 0
    return folder


def _copy_of(after_epoch_0, tmp_path):
    folder = str(tmp_path / 'run')
    shutil.copytree(after_epoch_0, folder)
    return folder, os.path.join(folder, 'run')


def _lines(folder):
    with open(os.path.join(folder, 'run_metrics.jsonl')) as f:
        return [{k: v for k, v in json.loads(line).items() if k not in TIMINGS} for line in f]


def _read(path):
    with open(path, 'rb') as f:
        return f.read()


def _checkpoints(folder):
    return {name: _read(os.path.join(folder, name)) for name in sorted(os.listdir(folder))
            if CHECKPOINT_FILES.match(name)}


def _assert_ends_as_reference(folder, reference):
    for name in ('run_last.params', 'run_last.states', 'run_last.json', 'run_best.params'):
        assert _read(os.path.join(folder, name)) == _read(os.path.join(reference, name)), name
    assert _lines(folder) == _lines(reference)  # every epoch once, in order, the same numbers
    assert sorted(_checkpoints(folder)) == sorted(_checkpoints(reference))  # no .prev left
    assert temps_in(folder) == []


def _wait_for(paths, process, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline and process.poll() is None:
        if all(os.path.exists(p) for p in paths):
            return True
        time.sleep(0.01)
    return False


def _ignore_sigxfsz():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG)


# --- writes the kernel refuses ------------------------------------------------------------------

def _clear_write_error(err, failing, reason, left, then):
    assert 'Traceback' not in err and err.count('error: ') == 1, err
    assert re.search(r'^error: --save-prefix: cannot write \S+/{} \({}\); {}: {} \(or choose '
                     r'another save_prefix\) and {}$'.format(failing, reason, left, re.escape(
                         'free some space or raise the file size limit, ulimit -f'
                         if reason == 'File too large' else 'free some space'), then),
                     err, re.M), err


def test_a_checkpoint_write_refused_mid_training_is_a_clear_error_and_resume_continues(
        demo, reference, after_epoch_0, tmp_path, capsys):
    folder, prefix = _copy_of(after_epoch_0, tmp_path)
    process = start_training(_args(demo, prefix, '--resume', prefix + '_last.params'),
                             preexec_fn=_ignore_sigxfsz)
    # Epoch 0 is saved; the limit comes while the run trains epoch 1 (seconds).
    log = prefix + '_train.log'
    while process.poll() is None and 'Start training' not in open(log).read():
        time.sleep(0.01)
    before, lines_before = _checkpoints(folder), _lines(folder)
    # Files may not grow past 2.5 MB: the next checkpoint's .params (2.9 MB) fails; the metrics
    # (1 kB), the log (2 kB) and the picture (50 kB) do not (no loader workers here, so no
    # shared-memory batches in /dev/shm).
    resource.prlimit(process.pid, resource.RLIMIT_FSIZE, (2500000, resource.RLIM_INFINITY))
    out, err = process.communicate(timeout=600)
    assert process.returncode == 2, err
    _clear_write_error(err, r'run_(best|last)\.params', 'File too large',
                       r'the last whole checkpoint is {}_last\.params \(epoch 0\)'.format(
                           re.escape(prefix)),
                       r'continue with resume={}_last\.params'.format(re.escape(prefix)))
    assert _checkpoints(folder) == before  # the previous sets untouched, no .prev left
    assert _lines(folder) == lines_before  # no line of an epoch without its checkpoint
    assert temps_in(folder) == []

    capsys.readouterr()
    assert train_cli.main(_args(demo, prefix, '--resume', prefix + '_last.params')) == 0
    _assert_ends_as_reference(folder, reference)


def _small_file_size_limit():
    _ignore_sigxfsz()
    # Below one batch (MXNet's loader workers hand batches over as files in /dev/shm) and above
    # the log and metrics files.
    resource.setrlimit(resource.RLIMIT_FSIZE, (300000, resource.RLIM_INFINITY))


def test_loader_workers_without_shared_memory_are_a_clear_error(demo, tmp_path):
    prefix = str(tmp_path / 'run')
    args = _args(demo, prefix, epochs=1)
    args[args.index('--num-workers') + 1] = '1'
    process = start_training(args, preexec_fn=_small_file_size_limit)
    out, err = process.communicate(timeout=600)
    assert process.returncode == 2, err
    assert 'Traceback' not in err and err.count('error: ') == 1, err
    assert re.search(r"^error: --num-workers: the data loader's worker processes cannot pass "
                     r'batches through shared memory \(/dev/shm\) .*use num_workers=0; no '
                     r'checkpoint was saved yet$', err, re.M), err
    assert temps_in(str(tmp_path)) == []
    assert not os.path.exists(prefix + '_last.params')


@pytest.mark.parametrize('output', ['train.log', 'metrics.jsonl'])
def test_a_log_or_metrics_file_on_a_full_device_is_a_clear_error(demo, after_epoch_0, tmp_path,
                                                                 capsys, output):
    """The file is a link to /dev/full, where every write fails with ENOSPC (a real error of
    the kernel, as on a full disk)."""
    folder, prefix = _copy_of(after_epoch_0, tmp_path)
    os.remove('{}_{}'.format(prefix, output))
    os.symlink('/dev/full', '{}_{}'.format(prefix, output))
    last = {name: data for name, data in _checkpoints(folder).items() if 'last' in name}
    status = train_cli.main(_args(demo, prefix, '--resume', prefix + '_last.params'))
    err = capsys.readouterr().err
    assert status == 2, err
    if output == 'train.log':  # its first line, before training: nothing written
        _clear_write_error(err, r'run_train\.log', 'No space left on device',
                           'nothing was written', 'run again')
    else:  # epoch 1's line, written just before _last would be replaced
        _clear_write_error(err, r'run_metrics\.jsonl', 'No space left on device',
                           r'the last whole checkpoint is {}_last\.params \(epoch 0\)'.format(
                               re.escape(prefix)),
                           r'continue with resume={}_last\.params'.format(re.escape(prefix)))
    assert {name: data for name, data in _checkpoints(folder).items() if 'last' in name} == last
    assert temps_in(folder) == []


def test_an_output_folder_under_a_regular_file_is_refused_before_training(demo, tmp_path,
                                                                          capsys):
    blocker = tmp_path / 'somefile'
    blocker.write_text('not a folder\n')
    for prefix in ('somefile/run', 'somefile/sub/run'):
        status = train_cli.main(_args(demo, str(tmp_path / prefix)))
        err = capsys.readouterr().err
        assert status == 2 and 'Traceback' not in err, err
        assert 'error: --save-prefix: cannot create the output folder of {}: {} is a file, not ' \
               'a folder; choose another save_prefix'.format(tmp_path / prefix, blocker) in err
    assert sorted(os.listdir(str(tmp_path))) == ['somefile']
    assert blocker.read_text() == 'not a folder\n'


# --- a kill at a step of a save -----------------------------------------------------------------

# (the save, its step; see the checkpoint module) -> the set on disk right after the kill:
# the epoch that resume continues from and whether it is the .prev set.
KILLS = {('last', 0): (0, False),  # epoch 1's line written, nothing renamed
         ('last', 2): (0, False),  # the old _last half kept as .prev
         ('last', 4): (0, True),   # the new .params renamed: _last mixed, .prev whole
         ('last', 6): (1, False),  # the new set in place, .prev not yet deleted
         ('last', 8): (1, False),  # .prev half deleted
         ('best', 5): (0, False)}  # _best mixed (resume takes _last; _best is redone)


@pytest.mark.parametrize('tag, step', sorted(KILLS), ids=['{}-step{}'.format(*k)
                                                          for k in sorted(KILLS)])
def test_a_kill_at_any_step_of_a_save_resumes_to_the_uninterrupted_result(
        demo, reference, after_epoch_0, tmp_path, capsys, tag, step):
    folder, prefix = _copy_of(after_epoch_0, tmp_path)
    last = prefix + '_last.params'
    env = dict(os.environ, **{KILL_HOOK_ENV: '{}:1:{}'.format(tag, step)})
    process = start_training(_args(demo, prefix, '--resume', last), env=env)
    out, err = process.communicate(timeout=600)
    assert process.returncode == -signal.SIGKILL, err  # the hook fired: the step exists

    epoch, kept = KILLS[tag, step]
    found, sidecar, note = resumable_checkpoint(last)
    assert sidecar['epoch'] == epoch and (found == previous_path(last)) == kept
    # The metrics line of epoch 1 is in whenever _last's new files were written.
    assert [line['epoch'] for line in _lines(folder)] == [0] + [1] * (tag == 'last')

    capsys.readouterr()
    assert train_cli.main(_args(demo, prefix, '--resume', last)) == 0
    err = capsys.readouterr().err
    assert ('Resume: {}'.format(note) in err) == kept and (note is not None) == kept, err
    if tag == 'last' and epoch == 0:
        assert 'Removed the lines of epoch 1 from {}_metrics.jsonl'.format(prefix) in err
    _assert_ends_as_reference(folder, reference)
