"""End-to-end runs of scripts/train_faster_rcnn.py and scripts/eval_faster_rcnn.py (tiny net)."""
import json
import os
import re

import numpy as np
import pytest
from fixtures import small_demo

from gluoncv_hard.cli import evaluate as eval_cli
from gluoncv_hard.cli import train as train_cli
from gluoncv_hard.cli.convert import convert_main
from gluoncv_hard.engine.trainer import TrainingDiverged, epoch_batches, lr_at

pytestmark = pytest.mark.slow


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    return small_demo(tmp_path_factory)


def train_args(demo, prefix, *extra):
    return ['--network', 'tiny', '--dataset', 'voc', '--data-root', demo, '--epochs', '1',
            '--lr', '0.01', '--log-interval', '2', '--num-workers', '0', '--save-prefix',
            prefix, '--neg-val', os.path.join(demo, 'negatives', 'test')] + list(extra)


def metrics_lines(prefix):
    with open(prefix + '_metrics.jsonl') as f:
        return [json.loads(line) for line in f]


def test_voc_run_writes_checkpoints_metrics_and_resumes(demo, tmp_path):
    prefix = str(tmp_path / 'run' / 'tiny')
    best = train_cli.run(train_args(demo, prefix, '--neg-train',
                                    os.path.join(demo, 'negatives', 'pool')))
    for tag in ('last', 'best'):
        for ext in ('.params', '.states', '.json'):
            assert os.path.isfile('{}_{}{}'.format(prefix, tag, ext))
    assert not os.path.exists(prefix + '_0000.params')  # only _best and _last by default
    assert best == prefix + '_best.params'
    (line,) = metrics_lines(prefix)
    assert line['epoch'] == 0 and line['iterations'] == 9  # 6 images + 3 negatives
    assert set(line['val']) >= {'voc07_map', 'voc12_map', 'coco_ap', 'neg_false_per_image'}
    assert line['val']['neg_images'] == 3
    with open(prefix + '_last.json') as f:
        sidecar = json.load(f)
    assert sidecar['epoch'] == 0 and sidecar['classes'] == ['face']
    assert sidecar['hard']['hard_policy'] == 'ignore'

    # Resume continues with epoch 1 and the saved optimizer state.
    train_cli.run(train_args(demo, prefix, '--epochs', '2', '--resume', prefix + '_last.params',
                             '--save-interval', '2'))
    assert [line['epoch'] for line in metrics_lines(prefix)] == [0, 1]
    assert os.path.isfile(prefix + '_0001.params')  # every 2nd epoch, when asked
    with open(prefix + '_train.log') as f:
        assert 'Start training from [Epoch 1]' in f.read()

    # The evaluation script reads the sidecar and reports both kinds of metrics.
    out = str(tmp_path / 'report.json')
    report = eval_cli.run(['--params', prefix + '_last.params', '--data-root', demo, '--val',
                           'val', '--neg-val', os.path.join(demo, 'negatives', 'test'),
                           '--out', out, '--num-workers', '0'])
    with open(out) as f:
        assert json.load(f)['num_images'] == report['num_images'] == {
            'positive': 3, 'negative': 3, 'total': 6}


@pytest.mark.parametrize('rec', [False, True])
def test_lst_and_rec_datasets(demo, tmp_path, rec):
    lst = str(tmp_path / 'train.lst')
    args = ['--format', 'voc', '--root', demo, '--sets', 'train', '--out', lst, '--no-progress']
    assert convert_main(args + (['--rec'] if rec else [])) == 0
    prefix = str(tmp_path / 'run')
    kind = 'rec' if rec else 'lst'
    path = lst[:-4] + '.rec' if rec else lst
    root = os.path.join(demo, 'JPEGImages') if not rec else ''
    train_cli.run(['--network', 'tiny', '--dataset', kind, '--train', path, '--val', path,
                   '--data-root', root, '--epochs', '1', '--num-workers', '0',
                   '--save-prefix', prefix, '--log-interval', '0'])
    (line,) = metrics_lines(prefix)
    assert line['iterations'] == 6 and line['val']['voc07_map'] is not None


def test_two_cpu_contexts(demo, tmp_path, recwarn):
    prefix = str(tmp_path / 'run')
    train_cli.run(train_args(demo, prefix, '--cpu-contexts', '2', '--batch-size', '2',
                             '--val', ''))
    (line,) = metrics_lines(prefix)
    assert line['iterations'] == 3 and 'val' in line  # negatives still validated
    # The anchors are constants: the trainer must not ask them for gradients.
    assert not [w for w in recwarn if 'Constant parameter' in str(w.message)]


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(demo, tmp_path):
    prefix = str(tmp_path / 'run')
    train_cli.run(train_args(demo, prefix))
    with open(prefix + '_last.params', 'rb') as f:
        good = f.read()
    # Whichever check sees it first (loss, gradient, parameter, BatchNorm statistic); after a
    # resume the last good checkpoint is the resumed one.
    with pytest.raises(TrainingDiverged, match=r'(is|are) not finite at epoch 1 iteration \d+.*'
                                               r'last good checkpoint is {}\.'.format(
                                                   re.escape(prefix + '_last.params'))):
        train_cli.run(train_args(demo, prefix, '--epochs', '3', '--lr', '1e12', '--resume',
                                 prefix + '_last.params'))
    with open(prefix + '_last.params', 'rb') as f:
        assert f.read() == good
    assert train_cli.main(train_args(demo, str(tmp_path / 'b'), '--lr', '1e12')) == 3


@pytest.mark.parametrize('extra, message', [
    (['--gpus', '0'], 'asks for GPU 0 but MXNet sees 0 GPU'),
    # --horovod without Horovod: tests/engine/test_distributed.py (CI has Horovod installed).
    (['--amp'], '--amp'),
    (['--batch-size', '3', '--cpu-contexts', '2'], 'multiple of the number of devices'),
    (['--init', '/no/such.params'], 'does not exist'),
])
def test_bad_command_lines_fail_before_training(demo, tmp_path, capsys, extra, message):
    prefix = str(tmp_path / 'run')
    assert train_cli.main(train_args(demo, prefix, *extra)) == 2
    assert message in capsys.readouterr().err
    assert not os.path.exists(prefix + '_last.params')


def test_wrong_class_count_and_missing_data(demo, tmp_path, capsys):
    prefix = str(tmp_path / 'run')
    train_cli.run(train_args(demo, prefix))
    classes = tmp_path / 'classes.txt'
    classes.write_text('face\nhand\n')
    assert train_cli.main(train_args(demo, prefix, '--classes', str(classes), '--resume',
                                     prefix + '_last.params', '--epochs', '2')) == 2
    assert 'trained for 1 classes but the data set has 2' in capsys.readouterr().err
    assert train_cli.main(train_args(str(tmp_path / 'nowhere'), prefix)) == 2
    assert 'does not exist' in capsys.readouterr().err
    empty = tmp_path / 'empty.lst'
    empty.write_text('')
    (tmp_path / 'empty.classes.txt').write_text('face\n')
    assert train_cli.main(['--dataset', 'lst', '--train', str(empty), '--network', 'tiny',
                           '--save-prefix', prefix]) == 2
    assert 'has no images' in capsys.readouterr().err


def test_schedule_helpers():
    assert lr_at(0.1, 0, 0, 0.1, [2], 10, 1 / 3) == pytest.approx(0.1 / 3)
    assert lr_at(0.1, 0, 10, 0.1, [2], 10, 1 / 3) == pytest.approx(0.1)
    assert lr_at(0.1, 2, 0, 0.1, [2, 3], 10, 1 / 3) == pytest.approx(0.01)
    # Fractional decay epochs act within the epoch once the iterations per epoch are known...
    assert lr_at(0.1, 0, 7, 0.1, [0.8], 0, 1, iterations_per_epoch=10) == pytest.approx(0.1)
    assert lr_at(0.1, 0, 8, 0.1, [0.8], 0, 1, iterations_per_epoch=10) == pytest.approx(0.01)
    assert lr_at(0.1, 1, 4, 0.1, [0.8, 1.5], 0, 1, iterations_per_epoch=8) == pytest.approx(
        0.001)
    # ...and whole ones at the start of their epoch, as without them.
    for epoch, iteration in ((1, 9), (2, 0), (2, 9)):
        assert lr_at(0.1, epoch, iteration, 0.1, [2], 0, 1, iterations_per_epoch=10) == \
            lr_at(0.1, epoch, iteration, 0.1, [2], 0, 1)
    batches = epoch_batches(10, 3, np.random.default_rng(0))
    assert [len(b) for b in batches] == [3, 3, 3] and len({i for b in batches for i in b}) == 9
    halves = [epoch_batches(10, 2, np.random.default_rng(0), 2, p) for p in (0, 1)]
    assert not {i for b in halves[0] for i in b} & {i for b in halves[1] for i in b}


def test_a_fractional_decay_epoch_decays_within_the_epoch(demo, tmp_path):
    prefix = str(tmp_path / 'run')
    train_cli.run(train_args(demo, prefix, '--val', '', '--lr-warmup', '0', '--lr-decay-epoch',
                             '0.5', '--log-interval', '1'))
    (line,) = metrics_lines(prefix)
    assert line['lr'] == pytest.approx(0.001)
    with open(prefix + '_train.log') as f:
        rates = re.findall(r'\[Batch (\d+)\].*lr=([0-9.]+)', f.read())
    # 6 images, one per iteration: 0.01 for iterations 0-2, 0.001 from iteration 3 (= 0.5 * 6).
    assert [(int(b), float(lr)) for b, lr in rates] == [
        (0, 0.01), (1, 0.01), (2, 0.01), (3, 0.001), (4, 0.001), (5, 0.001)]


@pytest.mark.parametrize('extra', [
    ['--rpn-neg-mining', 'ohem', '--rcnn-sampler', 'ohem'],
    ['--rpn-loss', 'focal', '--hard-policy', 'drop'],
])
def test_mining_and_focal_options_train(demo, tmp_path, extra):
    prefix = str(tmp_path / 'run')
    train_cli.run(train_args(demo, prefix, '--val', '', *extra))
    (line,) = metrics_lines(prefix)
    assert all(np.isfinite(v) for v in line['train_losses'].values())
    with open(prefix + '_train.log') as f:
        log = f.read()
    assert ('RCNN ohem negatives' in log) == ('ohem' in extra)


def test_random_crop_and_worker_independent_randomness(demo, tmp_path):
    runs = []
    for workers in ('0', '2'):
        prefix = str(tmp_path / 'w{}'.format(workers))
        train_cli.run(train_args(demo, prefix, '--val', '', '--random-crop', '160',
                                 '--num-workers', workers))
        runs.append(metrics_lines(prefix)[0]['train_losses'])
    # Per-item seeding: the same crops, flips and samples whatever the number of workers.
    for name in runs[0]:
        assert runs[0][name] == pytest.approx(runs[1][name], rel=1e-4)


def test_resume_into_another_network_is_refused(demo, tmp_path, capsys):
    prefix = str(tmp_path / 'run')
    train_cli.run(train_args(demo, prefix, '--val', ''))
    args = train_args(demo, prefix, '--epochs', '2', '--resume', prefix + '_last.params')
    args[args.index('tiny')] = 'tiny_fpn'
    assert train_cli.main(args) == 2
    assert 'error: --resume: {}_last.params holds a tiny network, not tiny_fpn'.format(prefix) \
        in capsys.readouterr().err
