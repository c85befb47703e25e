import errno
import os
import signal
import stat
import subprocess
import sys

import pytest
from fixtures import file_size_limit

from gluoncv_hard.utils.atomic import (
    append_whole,
    atomic_outputs,
    naming_errors,
    parse_temp_name,
    remove_stale_temps,
    temp_prefix,
)
from gluoncv_hard.utils.signals import Interrupted, stop_on_signals


def test_outputs_appear_together_with_normal_permissions(tmp_path):
    paths = [str(tmp_path / 'a.rec'), str(tmp_path / 'a.lst')]
    with atomic_outputs(*paths) as temps:
        for temp in temps:
            assert os.path.dirname(temp) == str(tmp_path)
            with open(temp, 'w') as f:
                f.write('data')
        assert sorted(os.listdir(str(tmp_path))) == sorted(os.path.basename(t) for t in temps)
    assert sorted(os.listdir(str(tmp_path))) == ['a.lst', 'a.rec']
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(os.stat(paths[0]).st_mode) == 0o666 & ~mask


def test_failure_removes_temporaries_and_keeps_old_files(tmp_path):
    old = tmp_path / 'a.lst'
    old.write_text('old')
    with pytest.raises(RuntimeError):
        with atomic_outputs(str(old), str(tmp_path / 'a.idx')) as temps:
            open(temps[0], 'w').write('new')
            raise RuntimeError('boom')
    assert os.listdir(str(tmp_path)) == ['a.lst'] and old.read_text() == 'old'


def test_temporaries_name_their_host_and_process(tmp_path):
    with atomic_outputs(str(tmp_path / 'run_last.params')) as (temp,):
        name = os.path.basename(temp)
        assert name.startswith(temp_prefix('run_last.params')) and name.endswith('.tmp')
        assert parse_temp_name(name) == ('run_last.params', temp_prefix('x').split('.')[2]
                                         .rsplit('-', 1)[0], os.getpid())
    assert parse_temp_name('run_last.params') is None
    assert parse_temp_name('.a.b.c.tmp') is None  # not ours: no HOST-PID part


def _dead_pid():
    child = subprocess.Popen([sys.executable, '-c', 'pass'])
    child.wait()
    return child.pid


def test_stale_temporaries_of_dead_processes_are_removed(tmp_path):
    dead, alive = _dead_pid(), os.getppid()
    host = temp_prefix('x').split('.')[2].rsplit('-', 1)[0]
    stale = tmp_path / '.run_last.params.{}-{}.abc123_x.tmp'.format(host, dead)
    live = tmp_path / '.run_last.states.{}-{}.abc123_x.tmp'.format(host, alive)
    foreign = tmp_path / '.run_last.json.otherhost-{}.abc123_x.tmp'.format(dead)
    mine = tmp_path / '.run_best.json.{}-{}.abc123_x.tmp'.format(host, os.getpid())
    unrelated = tmp_path / '.hidden.tmp'
    for path in (stale, live, foreign, mine, unrelated):
        path.write_text('x')
    assert remove_stale_temps(str(tmp_path), names={'other'}) == []
    assert remove_stale_temps(str(tmp_path)) == [str(stale)]
    assert sorted(os.listdir(str(tmp_path))) == sorted(
        p.name for p in (live, foreign, mine, unrelated))
    assert remove_stale_temps(str(tmp_path / 'missing')) == []


def test_ctrl_c_while_writing_leaves_no_temporary(tmp_path):
    old = tmp_path / 'a.json'
    old.write_text('old')
    with pytest.raises(KeyboardInterrupt):
        with atomic_outputs(str(old), str(tmp_path / 'a.params')) as temps:
            open(temps[0], 'w').write('new')
            raise KeyboardInterrupt
    assert os.listdir(str(tmp_path)) == ['a.json'] and old.read_text() == 'old'


def test_outputs_are_flushed_before_they_are_renamed(tmp_path, monkeypatch):
    # Observing the order of system calls needs a spy on os.fsync/os.replace (not MXNet).
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, 'fsync', lambda fd: calls.append(('fsync', os.readlink(
        '/proc/self/fd/{}'.format(fd)))) or real_fsync(fd))
    monkeypatch.setattr(os, 'replace', lambda a, b: calls.append(('replace', a)) or
                        real_replace(a, b))
    with atomic_outputs(str(tmp_path / 'a.rec'), str(tmp_path / 'a.idx')) as temps:
        for temp in temps:
            open(temp, 'w').write('data')
    assert calls == [('fsync', temps[0]), ('fsync', temps[1]), ('replace', temps[0]),
                     ('replace', temps[1]), ('fsync', str(tmp_path))]


def test_a_signal_during_the_renames_waits_until_the_set_is_complete(tmp_path):
    """SIGTERM (turned into an exception) arriving between two renames is delivered after the
    last one: the set is never left half replaced by it."""
    delivered = []
    real_replace = os.replace

    def replace_then_signal(a, b):
        real_replace(a, b)
        if not delivered:
            delivered.append('sent')
            os.kill(os.getpid(), signal.SIGTERM)

    with stop_on_signals():
        os.replace = replace_then_signal
        try:
            with pytest.raises(Interrupted) as e:
                with atomic_outputs(str(tmp_path / 'a.params'), str(tmp_path / 'a.json')) as t:
                    for temp in t:
                        open(temp, 'w').write('new')
        finally:
            os.replace = real_replace
    assert e.value.signum == signal.SIGTERM
    assert sorted(os.listdir(str(tmp_path))) == ['a.json', 'a.params']


def test_a_failed_write_names_the_output_not_its_temporary(tmp_path):
    out = str(tmp_path / 'a.lst')
    with pytest.raises(OSError) as e, file_size_limit(10):
        with atomic_outputs(out) as (temp,):
            with naming_errors(out), open(temp, 'wb') as f:
                f.write(b'x' * 100)
    assert e.value.errno == errno.EFBIG and e.value.filename == out
    assert os.listdir(str(tmp_path)) == []
    with pytest.raises(PermissionError) as e:  # the type follows the errno
        with naming_errors(out):
            raise OSError(errno.EACCES, 'Permission denied')
    assert e.value.filename == out


def test_an_append_is_whole_or_absent_when_the_disk_cuts_it_short(tmp_path):
    path = str(tmp_path / 'm.jsonl')
    append_whole(path, b'{"epoch": 0}\n')
    # The kernel takes the first 20 bytes of the next line, then refuses the rest (EFBIG).
    with pytest.raises(OSError) as e, file_size_limit(33):
        append_whole(path, b'{"epoch": 1, "more": "x"}\n')
    assert e.value.errno == errno.EFBIG and e.value.filename == path
    assert open(path, 'rb').read() == b'{"epoch": 0}\n'  # cut back: no torn line
    append_whole(path, b'{"epoch": 1}\n')
    assert open(path, 'rb').read() == b'{"epoch": 0}\n{"epoch": 1}\n'
