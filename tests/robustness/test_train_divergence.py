"""Robustness, training side: divergence always stops with exit 3 before anything is saved.

Huge learning rates on the tiny network diverge in every way there is: infinite losses, NaN
gradients, NaN weights hidden behind finite losses (ReLU maps NaN to 0), infinite BatchNorm
running variances, detections that overflow. Each run must end with exit 3, a message that
names the last good checkpoint, and no NaN or infinity in any file it wrote.
"""
import json
import os
import re

import pytest
from fixtures import small_demo

from gluoncv_hard.cli import train as train_cli

from .training_helpers import non_finite_values, temps_in, train_args

pytestmark = pytest.mark.slow

MESSAGE = re.compile(r'^error: (.+); stopped without saving\. The last good checkpoint is (.+)\. '
                     r'Lower the learning rate \(lr, now [0-9.e+]+\) or add a warm-up '
                     r'\(lr_warmup\)\.$', re.M)
PROBLEM = re.compile(r'(is|are) not finite at epoch \d+ iteration \d+|'
                     r'^validation after epoch \d+: the network output non-finite detection|'
                     r'not saved: .* not finite$')


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    return small_demo(tmp_path_factory)


def _last_good(err):
    match = MESSAGE.search(err)
    assert match and PROBLEM.search(match.group(1)), err
    return match.group(2)


@pytest.mark.parametrize('seed, lr', [(1, 100), (2, 100), (3, 30), (4, 300), (5, 1000)])
def test_huge_learning_rates_exit_3_and_write_nothing_non_finite(demo, tmp_path, capsys, seed,
                                                                 lr):
    prefix = str(tmp_path / 'run')
    status = train_cli.main(train_args(demo, prefix, epochs=3, lr=lr, seed=seed))
    err = capsys.readouterr().err
    assert status == 3, err
    last_good = _last_good(err)
    if last_good.startswith('none'):
        assert not os.path.exists(prefix + '_last.params')
    else:
        assert last_good == prefix + '_last.params'
    assert non_finite_values(str(tmp_path)) == {}
    assert temps_in(str(tmp_path)) == []
    assert 'Traceback' not in err


def test_after_resume_the_last_good_checkpoint_is_the_resumed_one(demo, tmp_path, capsys):
    prefix = str(tmp_path / 'run')
    assert train_cli.main(train_args(demo, prefix, epochs=1)) == 0
    with open(prefix + '_last.json') as f:
        saved = f.read()
    capsys.readouterr()
    status = train_cli.main(train_args(demo, prefix, epochs=4, lr=1000) +
                            ['--resume', prefix + '_last.params'])
    err = capsys.readouterr().err
    assert status == 3, err
    assert _last_good(err) == prefix + '_last.params'
    with open(prefix + '_last.json') as f:
        assert f.read() == saved  # untouched: epoch 0 stays the resumable one
    assert non_finite_values(str(tmp_path)) == {}
    metrics = [json.loads(line) for line in open(prefix + '_metrics.jsonl')]
    assert [line['epoch'] for line in metrics] == [0]
