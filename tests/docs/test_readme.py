"""The README's Python blocks run as printed (the training one on a small demo data set)."""
import os
import pathlib
import re

import pytest

from gluoncv_hard.core.codes import (
    IGNORE,
    NEGATIVE,
    POSITIVE,
    RPN_TARGET_IGNORE,
    RPN_TARGET_NEGATIVE,
    RPN_TARGET_POSITIVE,
)
from gluoncv_hard.demo.generate import generate_demo_dataset

README = pathlib.Path(__file__).resolve().parents[2] / 'README.md'


def python_blocks(text):
    """The ```python blocks of a Markdown text, in order."""
    return re.findall(r'```python\n(.*?)```', text, re.S)


def _block_with(marker):
    (block,) = [b for b in python_blocks(README.read_text(encoding='utf-8')) if marker in b]
    return block


def _run(block):
    namespace = {}
    exec(compile(block, 'README.md', 'exec'), namespace)  # noqa: S102 -- our own README
    return namespace


def test_python_blocks_are_found():
    assert python_blocks('a\n```python\nx = 1\n```\nb\n```bash\nls\n```\n') == ['x = 1\n']


def test_api_snippet_runs():
    ns = _run(_block_with('RPNTargetSampler('))
    # The anchor on the hard box (second) is ignored, the one on the normal box positive, the
    # far one negative; the generator agrees, and the network ran its training forward.
    assert ns['samples'].tolist() == [POSITIVE, IGNORE, NEGATIVE]
    assert ns['cls_target'].tolist() == [
        RPN_TARGET_POSITIVE, RPN_TARGET_IGNORE, RPN_TARGET_NEGATIVE]
    assert len(ns['outputs']) >= 11


@pytest.mark.slow
def test_training_snippet_runs(tmp_path, monkeypatch):
    generate_demo_dataset(str(tmp_path / 'demo_data'), seed=1, n_train=4, n_val=2,
                          n_negatives_pool=1, n_negatives_test=2, progress=False)
    monkeypatch.chdir(tmp_path)
    ns = _run(_block_with('TrainConfig.create'))
    result, finetune = ns['result'], ns['finetune']
    assert len(result.metrics) == 2 and 'val' in result.metrics[-1]
    assert os.path.isfile(result.checkpoint) and os.path.isfile(finetune.checkpoint)
    assert finetune.checkpoint.startswith(os.path.join('runs', 'lib_ft'))
