"""``gluoncv-hard-pretrain-tiny``: flags reach the library, bad ones exit 2 naming the flag."""
import json
import os

import pytest

from gluoncv_hard.cli import pretrain_tiny
from gluoncv_hard.engine import pretrain

SHORT = ['--iterations', '2', '--batch-size', '4', '--heldout-windows', '8', '-j', '0']


def test_a_short_run_writes_the_backbone_and_reports(tmp_path, capsys):
    out = str(tmp_path / 'backbone.params')
    assert pretrain_tiny.main(['--out', out, '--seed', '2', '--lr', '0.05', '--warmup', '1',
                               '--heldout-backgrounds', 'brick', '--log-interval', '1']
                              + SHORT) == 0
    printed = capsys.readouterr().out
    assert '[1/2] loss' in printed and 'Held-out accuracy' in printed and out in printed
    with open(str(tmp_path / 'backbone.json')) as f:
        sidecar = json.load(f)
    assert (sidecar['iterations'], sidecar['batch_size'], sidecar['seed'], sidecar['lr'],
            sidecar['warmup']) == (2, 4, 2, 0.05, 1)
    assert sidecar['heldout_backgrounds'] == ['brick']
    assert sidecar['heldout']['windows'] == 8


def test_the_heldout_flag_alone_holds_out_nothing(tmp_path):
    out = str(tmp_path / 'backbone.params')
    assert pretrain_tiny.main(['--out', out, '--heldout-backgrounds', '--log-interval', '0']
                              + SHORT) == 0
    with open(str(tmp_path / 'backbone.json')) as f:
        assert json.load(f)['heldout_backgrounds'] == []


@pytest.mark.parametrize('argv, flag', [
    (['--out', 'backbone.bin'], '--out'),
    (['--seed', str(pretrain.HELDOUT_SEED)], '--seed'),
    (['--batch-size', '1'], '--batch-size'),
    (['--heldout-backgrounds', 'lena'], '--heldout-backgrounds'),
])
def test_bad_flags_exit_2_naming_the_flag(tmp_path, capsys, argv, flag):
    argv = ['--out', str(tmp_path / 'b.params')] + SHORT + argv
    assert pretrain_tiny.main(argv) == 2
    assert capsys.readouterr().err.startswith('error: ' + flag)
    assert os.listdir(str(tmp_path)) == []
