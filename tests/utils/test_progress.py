"""utils.progress: a redrawn bar on a terminal, plain lines in a log file, nothing when off."""
import io
import subprocess
import sys

import pytest

from gluoncv_hard.utils import progress
from gluoncv_hard.utils.progress import progress_bar


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_log_file_gets_whole_lines_and_a_last_one(monkeypatch):
    monkeypatch.setattr(progress, 'LOG_INTERVAL', 0.0)
    log = io.StringIO()
    assert list(progress_bar(range(5), stream=log, desc='scenes', unit='img',
                             leave=False)) == list(range(5))
    text = log.getvalue()
    assert '\r' not in text and text.endswith('\n')
    lines = text.splitlines()
    assert all(line.startswith('scenes:') for line in lines)
    assert '5/5' in lines[-1] and '0/5' in lines[0]  # leave=False still leaves the last line


def test_log_file_lines_are_rate_limited():
    log = io.StringIO()
    bar = progress_bar(total=1000, stream=log, desc='scenes')
    for _ in range(1000):
        bar.update(1)
    bar.close()
    lines = log.getvalue().splitlines()
    # The first line, then none for LOG_INTERVAL seconds, then the last: not a line per item.
    assert len(lines) == 2 and '0/1000' in lines[0] and '1000/1000' in lines[-1]


def test_terminal_gets_a_redrawn_bar():
    screen = Terminal()
    list(progress_bar(range(3), stream=screen, desc='scenes', mininterval=0))
    assert '\r' in screen.getvalue() and '3/3' in screen.getvalue()


@pytest.mark.parametrize('enabled,stream', [(False, Terminal), (False, io.StringIO),
                                            (None, io.StringIO)])
def test_off_writes_nothing(enabled, stream):
    out = stream()
    assert list(progress_bar(range(3), enabled=enabled, stream=out)) == [0, 1, 2]
    assert out.getvalue() == ''


def test_on_a_terminal_only_shows_on_a_terminal():
    screen = Terminal()
    list(progress_bar(range(2), enabled=None, stream=screen, mininterval=0))
    assert '2/2' in screen.getvalue()


def test_demo_generation_into_a_pipe_writes_lines_not_carriage_returns(tmp_path):
    done = subprocess.run(
        [sys.executable, '-c',
         'from gluoncv_hard.demo import generate_demo_dataset as g; '
         'g({!r}, n_train=3, n_val=1, n_negatives_pool=0, n_negatives_test=1)'.format(
             str(tmp_path / 'demo'))],
        capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    bar_lines = [line for line in done.stderr.splitlines() if line.startswith('demo scenes')]
    assert '\r' not in done.stderr
    assert bar_lines and '5/5' in bar_lines[-1], done.stderr[-2000:]
