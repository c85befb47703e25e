"""bench/accuracy.py in a smoke configuration, as a command: two seeds of two configurations and
one mining round on a handful of scenes. What this proves: the bench runs end to end (data,
spawned training workers, predictions saved as plain arrays, paired intervals, the mining
scenario on held-out backgrounds with its control and plot), and a second run reuses every
finished run, and refuses to report a finished run under other settings. It does not measure
anything: one epoch on eight scenes finds no face."""
import os
import re
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BENCH = os.path.join(ROOT, 'bench', 'accuracy.py')
INTERVAL = r'-?\d+\.\d{3} \[-?\d+\.\d{3}, -?\d+\.\d{3}\]'


def run_bench(work, out, *extra):
    return subprocess.run(
        [sys.executable, BENCH, '--work', work, '--out', out, '--epochs', '1', '--n-train', '8',
         '--n-val', '6', '--n-negatives', '4', '--n-pool', '6', '--seeds', '0,1',
         '--configs', 'drop', '--mining-rounds', '1', '--jobs', '2', *extra],
        check=False, capture_output=True, text=True, timeout=1500,
        cwd=str(os.path.dirname(work)))


def rows(text, heading):
    """``{first cell: [other cells]}`` of the first markdown table after ``heading``."""
    lines = text.split(heading, 1)[1].splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith('|'))
    table = []
    for line in lines[start:]:
        if not line.startswith('|'):
            break
        table.append([cell.strip() for cell in line.strip('|').split('|')])
    return {cells[0]: cells[1:] for cells in table[2:]}


@pytest.mark.slow
def test_smoke_run_writes_paired_intervals_and_the_mining_scenario(tmp_path):
    work, out = str(tmp_path / 'work'), str(tmp_path / 'ACCURACY.md')
    done = run_bench(work, out)
    assert done.returncode == 0, done.stderr[-3000:]
    with open(out) as f:
        text = f.read()
    means = rows(text, 'Mean ± standard deviation over seeds')
    assert sorted(means) == ['drop', 'positive (stock)']
    assert all(re.fullmatch(r'\d+\.\d{3} ± \d+\.\d{3}', cell) for cell in means['drop'])
    paired = rows(text, 'Mean paired difference against')
    assert list(paired) == ['drop']
    # VOC07, COCO AP, false detections: an interval each (the hard-face rate may be undefined).
    assert all(re.fullmatch(INTERVAL, cell) for cell in paired['drop'][:3]), paired
    mining = rows(text, '## Hard negative mining where it should matter')
    assert sorted(mining) == ['0', '1']
    assert mining['0'][0] == '0' and int(mining['1'][0]) > 0  # negatives mined for round 1
    assert os.path.getsize(os.path.splitext(out)[0] + '_mining.png') > 1000
    for seed in (0, 1):
        assert os.path.isfile(os.path.join(work, 'drop', 'seed{}'.format(seed),
                                           'predictions.npz'))

    # Everything finished is reused: the second run trains nothing and writes the same tables.
    os.makedirs(str(tmp_path / 'again'))
    again = run_bench(work, str(tmp_path / 'again' / 'ACCURACY.md'))
    assert again.returncode == 0, again.stderr[-3000:]
    assert re.findall(r'done \((\d+) s\)', again.stdout) == ['0'] * 4, again.stdout
    with open(tmp_path / 'again' / 'ACCURACY.md') as f:
        second = f.read()
    strip = re.compile(r'^(Command|Total time).*$', re.M)
    assert strip.sub('', second) == strip.sub('', text)

    # A finished run is never reported under other settings: the bench stops before training.
    other = run_bench(work, str(tmp_path / 'again' / 'OTHER.md'), '--lr', '0.5')
    assert other.returncode != 0
    assert 'was trained with other settings' in other.stderr and '--lr 0.5' in other.stderr
    assert 'give another --work' in other.stderr
    assert not os.path.exists(tmp_path / 'again' / 'OTHER.md')
    assert re.findall(r'done \(', other.stdout) == []


def _descendants(pid):
    """Pids of every live process under ``pid`` (from /proc)."""
    children = {}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open('/proc/{}/stat'.format(entry)) as f:
                    fields = f.read().rsplit(')', 1)[1].split()
            except OSError:
                continue
            if fields[0] != 'Z':
                children.setdefault(int(fields[1]), []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _alive(pid):
    try:
        with open('/proc/{}/stat'.format(pid)) as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not os.path.isdir('/proc'), reason='reads /proc')
def test_a_killed_bench_leaves_no_training_running(tmp_path):
    work = tmp_path / 'work'
    bench = subprocess.Popen(
        [sys.executable, BENCH, '--work', str(work), '--out', str(tmp_path / 'A.md'),
         '--parts', 'policies', '--epochs', '3', '--n-train', '40', '--n-val', '4',
         '--n-negatives', '2', '--seeds', '0', '--configs', 'drop', '--jobs', '1'],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=str(tmp_path))
    log = work / 'positive__stock' / 'seed0' / 'run_train.log'
    try:
        deadline = time.time() + 600
        while not (log.is_file() and 'Start training' in log.read_text()):
            assert bench.poll() is None and time.time() < deadline, 'the bench never trained'
            time.sleep(0.5)
        workers = _descendants(bench.pid)
        assert workers
        bench.kill()  # SIGKILL: the bench gets no chance to clean up
        bench.wait(timeout=60)
        deadline = time.time() + 60
        while any(_alive(pid) for pid in workers) and time.time() < deadline:
            time.sleep(0.5)
        assert not [pid for pid in workers if _alive(pid)]
        assert 'Epoch 2' not in log.read_text()  # stopped mid-run, not finished
        assert not os.path.exists(work / 'positive__stock' / 'seed0' / 'predictions.npz')
    finally:
        if bench.poll() is None:
            bench.kill()
