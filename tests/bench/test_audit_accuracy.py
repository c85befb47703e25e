"""bench/audit_accuracy.py in a smoke configuration: 12 images, 2 folds, 1 epoch. What this
proves: the bench runs end to end (data, planting, the audit with real fold models, scoring),
its page has every row with numbers in [0, 1], and a second run reuses the fold models. It
does not measure the audit: one epoch on six images gives a detector that finds nothing."""
import importlib.util
import json
import os
import re

import pytest

from gluoncv_hard.audit.scoring import FINDING_KINDS, kind_rows

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))), 'bench', 'audit_accuracy.py')


def load_bench():
    spec = importlib.util.spec_from_file_location('audit_accuracy_bench', BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def table(text, heading):
    """``{first cell: [other cells]}`` of the markdown table after ``heading``."""
    lines = text.split(heading, 1)[1].splitlines()
    start = next(n for n, line in enumerate(lines) if line.startswith('|'))
    rows = []
    for line in lines[start:]:
        if not line.startswith('|'):
            break
        rows.append(line)
    return {cells[0]: cells[1:] for cells in
            ([c.strip() for c in row.strip('|').split('|')] for row in rows[2:])}


@pytest.mark.slow
def test_smoke_run_writes_the_tables_and_reuses_the_fold_models(tmp_path):
    bench = load_bench()
    work, out = str(tmp_path / 'work'), str(tmp_path / 'result.md')
    argv = ['--work', work, '--out', out, '--n-train', '12', '--folds', '2', '--epochs', '1',
            '--deleted', '1', '--shifted', '1', '--spurious', '2', '--hard-flag', '0.1',
            '--num-workers', '0']
    text, score = bench.main(argv)
    with open(out, encoding='utf-8') as f:
        assert f.read() == text
    assert 'Command: `python bench/audit_accuracy.py --work' in text and 'Time: ' in text

    recall = table(text, '## Recall per planted error kind')
    assert list(recall) == [bench.ROW_TITLES[name] for name in kind_rows()]
    planted = 1 + 1 + 2 + score.kinds['hard_flag'].planted
    assert score.kinds['hard_flag'].planted >= 1
    assert recall['all'][0] == str(planted)
    for title, (n, flagged, value) in recall.items():
        assert 0 <= int(flagged) <= int(n), title
        assert value == '-' if n == '0' else 0.0 <= float(value) <= 1.0, title
    precision = table(text, '## Precision per finding kind')
    assert list(precision) == [bench.FINDING_TITLES[name] for name in FINDING_KINDS + ('all',)]
    assert len(precision) == 5
    for title, (n, correct, value) in precision.items():
        assert 0 <= int(correct) <= int(n), title
        assert value == '-' if n == '0' else 0.0 <= float(value) <= 1.0, title
    assert re.search(r'\*\*(met|not met)\*\*', text)

    with open(os.path.join(work, 'outcomes.json')) as f:
        outcomes = json.load(f)
    assert len(outcomes) == planted and all(isinstance(o['flagged'], bool) for o in outcomes)
    assert os.path.isfile(os.path.join(work, 'audit', 'index.html'))

    models = [os.path.join(work, 'audit', 'folds', 'fold_{}'.format(k), 'model_last.params')
              for k in (0, 1)]
    stamps = [os.stat(m).st_mtime_ns for m in models]
    again, _ = bench.main(argv)
    assert '2 of 2 fold models reused' in again
    assert [os.stat(m).st_mtime_ns for m in models] == stamps
    assert table(again, '## Recall per planted error kind') == recall
    # Other training settings: the fold models are trained again.
    third, _ = bench.main(argv + ['--lr', '0.01'])
    assert 'reused' not in third
    assert all(os.stat(m).st_mtime_ns != s for m, s in zip(models, stamps))
