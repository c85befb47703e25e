"""Robustness, training side: --resume is bit-identical to an uninterrupted run.

Train 2 epochs, or 1 and then resume 1: the same metrics lines to the last digit, the same
parameter, optimizer-state and sidecar bytes. This needs the optimizer state (momentum) and the
RCNN samplers' random generators restored, not restarted from the seed.
"""
import json
import os

import pytest
from fixtures import small_demo

from gluoncv_hard.cli import train as train_cli

from .training_helpers import train_args

pytestmark = pytest.mark.slow

TIMINGS = ('train_seconds', 'val_seconds')


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    return small_demo(tmp_path_factory)


def _lines(prefix):
    with open(prefix + '_metrics.jsonl') as f:
        return [{k: v for k, v in json.loads(line).items() if k not in TIMINGS} for line in f]


def _bytes(path):
    with open(path, 'rb') as f:
        return f.read()


@pytest.mark.parametrize('extra', [['--lr-warmup', '3'],
                                   ['--rcnn-sampler', 'ohem', '--rpn-neg-mining', 'ohem']],
                         ids=['default', 'ohem'])
def test_resume_is_bit_identical_to_an_uninterrupted_run(demo, tmp_path, extra):
    whole, split = str(tmp_path / 'whole' / 'run'), str(tmp_path / 'split' / 'run')
    assert train_cli.main(train_args(demo, whole, *extra, epochs=2)) == 0
    assert train_cli.main(train_args(demo, split, *extra, epochs=1)) == 0
    assert train_cli.main(train_args(demo, split, *extra, epochs=2) +
                          ['--resume', split + '_last.params']) == 0
    assert _lines(whole) == _lines(split) and len(_lines(whole)) == 2
    for tag in ('last', 'best', '0000', '0001'):
        for ext in ('.params', '.states', '.json'):
            whole_file = '{}_{}{}'.format(whole, tag, ext)
            if os.path.exists(whole_file):
                assert _bytes(whole_file) == _bytes('{}_{}{}'.format(split, tag, ext)), \
                    os.path.basename(whole_file)
