"""gluoncv-hard-demo on a small data set: trains, evaluates, writes the eval command's report."""
import json
import os
import shlex

import pytest

from gluoncv_hard.cli import demo as demo_cli
from gluoncv_hard.cli import evaluate as eval_cli
from gluoncv_hard.cli import train as train_cli
from gluoncv_hard.demo.generate import generate_demo_dataset


@pytest.mark.slow
def test_demo_trains_evaluates_and_prints_equivalent_commands(tmp_path, capsys):
    data = str(tmp_path / 'demo_data')
    generate_demo_dataset(data, seed=1, n_train=6, n_val=3, n_negatives_pool=0,
                          n_negatives_test=3, progress=False)
    out = str(tmp_path / 'runs')
    assert demo_cli.main(['--data-root', data, '--out', out, '-j', '0', '--',
                          '--epochs', '1', '--log-interval', '0']) == 0
    printed = capsys.readouterr().out
    prefix = os.path.join(out, 'tiny_ignore')
    assert 'Demo data: using {}'.format(data) in printed
    assert 'built with other parameters' in printed  # 6 training scenes, not the defaults
    # No validation while training: the demo evaluates the final checkpoint once, after.
    assert 'checkpoint: {}_last.params'.format(prefix) in printed
    assert not os.path.exists(prefix + '_best.params')
    assert 'Negative images: 3' in printed and 'The same on a real data set' in printed

    # The printed train command rebuilds the demo's training: its schedule, changed by "--".
    train_line = next(line for line in printed.splitlines() if line.startswith('Training: '))
    flags = shlex.split(train_line)[2:]
    config = train_cli.config_from_args(train_cli.parse_args(flags))
    assert (config.model.network, config.hard.policy, config.schedule.epochs,
            config.schedule.lr, config.schedule.lr_warmup, config.output.save_prefix) == (
        'tiny', 'ignore', 1, 0.02, 100, prefix)
    assert (config.data.val, config.data.neg_val) == ('', ())
    assert config.model.pretrained_base  # the shipped offline-pretrained backbone

    # The report is the one the printed eval command writes.
    eval_line = next(line for line in printed.splitlines() if line.startswith('Evaluation: '))
    eval_argv = shlex.split(eval_line)[2:]
    again = str(tmp_path / 'again.json')
    eval_argv[eval_argv.index('--out') + 1] = again
    assert eval_cli.main(eval_argv) == 0
    with open(prefix + '_report.json') as a, open(again) as b:
        assert json.load(a) == json.load(b)


def test_demo_refuses_bad_train_flags_before_building_data(tmp_path, capsys):
    data = str(tmp_path / 'demo_data')
    assert demo_cli.main(['--data-root', data, '--', '--epochs', '0']) == 2
    assert '--epochs: must be at least 1' in capsys.readouterr().err
    assert not os.path.exists(data)
