"""The README's library-training snippet runs as printed (on a small demo data set)."""
import os
import pathlib
import re

import pytest

from gluoncv_hard.demo.generate import generate_demo_dataset

README = pathlib.Path(__file__).resolve().parents[2] / 'README.md'


def python_blocks(text):
    """The ```python blocks of a Markdown text, in order."""
    return re.findall(r'```python\n(.*?)```', text, re.S)


def test_python_blocks_are_found():
    assert python_blocks('a\n```python\nx = 1\n```\nb\n```bash\nls\n```\n') == ['x = 1\n']


@pytest.mark.slow
def test_training_snippet_runs(tmp_path, monkeypatch):
    (snippet,) = [b for b in python_blocks(README.read_text(encoding='utf-8'))
                  if 'TrainConfig.create' in b]
    generate_demo_dataset(str(tmp_path / 'demo_data'), seed=1, n_train=4, n_val=2,
                          n_negatives_pool=1, n_negatives_test=2, progress=False)
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(snippet, 'README.md', 'exec'), namespace)  # noqa: S102 -- our own README
    result, finetune = namespace['result'], namespace['finetune']
    assert len(result.metrics) == 2 and 'val' in result.metrics[-1]
    assert os.path.isfile(result.checkpoint) and os.path.isfile(finetune.checkpoint)
    assert finetune.checkpoint.startswith(os.path.join('runs', 'lib_ft'))
