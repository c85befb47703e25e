"""train(TrainConfig) -> TrainResult; a library run and the same command line write the same."""
import json
import os

import pytest
from fixtures import small_demo

from gluoncv_hard import HardConfig
from gluoncv_hard.cli import train as train_cli
from gluoncv_hard.engine.config import TrainConfig
from gluoncv_hard.engine.trainer import TrainResult, train

TIMINGS = ('train_seconds', 'val_seconds')


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    return small_demo(tmp_path_factory)


def read_lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def without_timings(lines):
    return [{k: v for k, v in line.items() if k not in TIMINGS} for line in lines]


@pytest.mark.slow
def test_command_line_and_library_runs_write_identical_metrics(demo, tmp_path):
    """What this proves: the command line is only a way to build the TrainConfig; the same
    settings give the same losses, learning rates, validation metrics and checkpoints
    whichever way training is started."""
    negatives = os.path.join(demo, 'negatives')
    cli_prefix, lib_prefix = str(tmp_path / 'cli' / 'run'), str(tmp_path / 'lib' / 'run')
    train_cli.run(['--network', 'tiny', '--data-root', demo, '--epochs', '2', '--lr', '0.01',
                   '--lr-warmup', '4', '--lr-decay-epoch', '1', '--log-interval', '0',
                   '--num-workers', '0', '--neg-train', os.path.join(negatives, 'pool'),
                   '--neg-val', os.path.join(negatives, 'test'), '--hard-overlap', 'iou',
                   '--save-prefix', cli_prefix])
    result = train(TrainConfig.create(
        network='tiny', data_root=demo, epochs=2, lr=0.01, lr_warmup=4, lr_decay_epoch=(1,),
        log_interval=0, num_workers=0, neg_train=[os.path.join(negatives, 'pool')],
        neg_val=[os.path.join(negatives, 'test')], hard=HardConfig(overlap='iou'),
        save_prefix=lib_prefix))
    cli_lines = read_lines(cli_prefix + '_metrics.jsonl')
    assert len(cli_lines) == 2 and all('val' in line for line in cli_lines)
    assert cli_lines[0]['iterations'] == 9  # 6 images + 3 negatives
    assert without_timings(cli_lines) == without_timings(result.metrics)
    assert list(result.metrics) == read_lines(lib_prefix + '_metrics.jsonl')
    for tag in ('last', 'best'):
        with open('{}_{}.json'.format(cli_prefix, tag)) as a, \
                open('{}_{}.json'.format(lib_prefix, tag)) as b:
            assert json.load(a) == json.load(b)
        with open('{}_{}.params'.format(cli_prefix, tag), 'rb') as a, \
                open('{}_{}.params'.format(lib_prefix, tag), 'rb') as b:
            assert a.read() == b.read()


@pytest.mark.slow
def test_train_returns_what_it_wrote(demo, tmp_path):
    prefix = str(tmp_path / 'run')
    config = TrainConfig.create(network='tiny', data_root=demo, val='', epochs=1, lr=0.01,
                                log_interval=0, num_workers=0, save_interval=0,
                                save_prefix=prefix)
    result = train(config)
    assert isinstance(result, TrainResult)
    # Without validation nothing is "best": the checkpoint to use is the last one.
    assert result.best is None and result.last == prefix + '_last.params'
    assert result.checkpoint == result.last and os.path.isfile(result.last)
    assert result.metrics_path == prefix + '_metrics.jsonl'
    assert [line['epoch'] for line in result.metrics] == [0] and 'val' not in result.metrics[0]

    # Resuming returns only the epochs it ran; the metrics file holds both.
    resumed = train(config.replace(epochs=3, resume=result.last))
    assert [line['epoch'] for line in resumed.metrics] == [1, 2]
    assert [line['epoch'] for line in read_lines(prefix + '_metrics.jsonl')] == [0, 1, 2]
    with open(prefix + '_last.json') as f:
        sidecar = json.load(f)
    assert sidecar['epoch'] == 2 and sidecar['hard'] == {
        'hard_policy': 'ignore', 'hard_overlap': 'iof', 'hard_thresh': 0.5,
        'hard_precedence': 'normal_wins', 'hard_cover_thresh': 0.95}

    validated = train(config.replace(val='val', save_prefix=str(tmp_path / 'v')))
    assert validated.best == str(tmp_path / 'v') + '_best.params' == validated.checkpoint


def test_train_takes_a_config_not_parsed_flags():
    with pytest.raises(TypeError, match='takes a TrainConfig'):
        train(train_cli.parse_args([]))


def test_a_run_drops_the_metrics_lines_of_the_epochs_it_trains_again(tmp_path):
    from gluoncv_hard.engine.trainer import _drop_metrics_lines
    prefix = str(tmp_path / 'run')
    path = prefix + '_metrics.jsonl'
    assert _drop_metrics_lines(prefix, 0) == []  # no file: nothing to do, nothing made
    assert not os.path.exists(path)
    lines = [b'{"epoch": 0, "lr": 0.1}\n', b'not json: kept as it is\n', b'{"epoch": 1}\n',
             b'{"epoch": 2}\n', b'{"epoch": true}\n', b'[1]\n']
    with open(path, 'wb') as f:
        f.writelines(lines)
    inode = os.stat(path).st_ino
    assert _drop_metrics_lines(prefix, 3) == []
    assert os.stat(path).st_ino == inode  # untouched when nothing goes
    assert _drop_metrics_lines(prefix, 1) == [1, 2]
    with open(path, 'rb') as f:
        assert f.read() == b''.join(lines[:2] + lines[4:])
    assert os.stat(path).st_ino != inode and os.listdir(str(tmp_path)) == ['run_metrics.jsonl']
