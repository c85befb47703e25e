"""TrainConfig: defaults equal the train command's, per-dataset schedules, validation, flags."""
import dataclasses
import os
import pickle

import pytest

from gluoncv_hard import HardConfig
from gluoncv_hard.cli import train as train_cli
from gluoncv_hard.engine.config import SCHEDULES, TrainConfig, default_save_prefix
from gluoncv_hard.errors import InputError


def parsed(*argv):
    return train_cli.config_from_args(train_cli.parse_args(list(argv)))


def test_defaults_equal_the_command_line_without_flags():
    assert TrainConfig() == TrainConfig.create() == parsed()
    config = TrainConfig()
    assert (config.data.train, config.data.val) == ('train', 'val')
    assert config.model.network == 'resnet50_v1b' and config.hard == HardConfig()
    assert config.output.save_prefix == os.path.join('runs', 'faster_rcnn_resnet50_v1b_voc')
    assert config.schedule.lr_decay_epoch == (14.0, 20.0)


@pytest.mark.parametrize('dataset, train', [('voc', ''), ('coco', 'a.json'), ('lst', 'a.lst'),
                                            ('rec', 'a.rec')])
def test_schedule_and_splits_follow_the_dataset(dataset, train):
    config = TrainConfig.create(dataset=dataset, train=train or None)
    expected = SCHEDULES['coco' if dataset == 'coco' else 'default']
    assert {name: getattr(config.schedule, name) for name in expected} == expected
    assert config.data.val == ('val' if dataset == 'voc' else '')
    assert config.data.train == (train or 'train')
    argv = ['--dataset', dataset] + (['--train', train] if train else [])
    assert parsed(*argv) == config
    assert parsed(*argv, '--epochs', '3', '--wd', '0.01').schedule == dataclasses.replace(
        config.schedule, epochs=3, wd=0.01)


def test_explicit_empty_val_means_no_validation_and_prefix_follows_the_network():
    assert parsed('--val', '').data.val == ''
    assert TrainConfig.create(val='').data.val == ''
    config = TrainConfig.create(network='tiny', use_fpn=True, dataset='lst', train='x.lst')
    assert config.output.save_prefix == default_save_prefix('tiny', True, 'lst') == \
        os.path.join('runs', 'faster_rcnn_tiny_fpn_lst')
    assert TrainConfig.create(save_prefix='out/run').output.save_prefix == 'out/run'


@pytest.mark.parametrize('settings, param', [
    (dict(epochs=0), 'epochs'),
    (dict(batch_size=0), 'batch_size'),
    (dict(val_interval=0), 'val_interval'),
    (dict(rcnn_ohem_pool=0), 'rcnn_ohem_pool'),
    (dict(rpn_loss='focal', rpn_neg_mining='ohem'), 'rpn_neg_mining'),
    (dict(dataset='coco'), 'train'),
    (dict(dataset='lst', train=''), 'train'),
    (dict(dataset='yolo'), 'dataset'),
    (dict(network='vgg16'), 'network'),
    (dict(rcnn_sampler='hardest'), 'rcnn_sampler'),
    (dict(lr_decay_epoch='14,x'), 'lr_decay_epoch'),
])
def test_invalid_values_raise_input_errors_naming_the_setting(settings, param):
    with pytest.raises(InputError) as error:
        TrainConfig.create(**settings)
    assert error.value.param == param


def test_the_command_line_names_the_flag_of_an_invalid_value(capsys):
    assert train_cli.main(['--epochs', '0']) == 2
    assert 'error: --epochs: must be at least 1, got 0' in capsys.readouterr().err
    assert train_cli.main(['--dataset', 'coco']) == 2
    assert "--train: is required for dataset 'coco'" in capsys.readouterr().err
    assert train_cli.main(['--hard-thresh', '1.5']) == 2
    assert '--hard-thresh' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train_cli.parse_args(['--lr-decay-epoch', 'x'])
    assert 'invalid epoch_list value' in capsys.readouterr().err


def test_frozen_hashable_picklable_and_derived_by_replace():
    config = TrainConfig.create(network='tiny', neg_train=['a', 'b'], hard=HardConfig('drop'))
    assert config.data.neg_train == ('a', 'b')
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.schedule.epochs = 3
    assert pickle.loads(pickle.dumps(config)) == config
    assert len({config, TrainConfig.create(network='tiny', neg_train=('a', 'b'),
                                           hard=HardConfig('drop'))}) == 1
    derived = config.replace(epochs=2, init='x.params', save_prefix='p')
    assert (derived.schedule.epochs, derived.model.init, derived.output.save_prefix) == (
        2, 'x.params', 'p')
    assert derived.data == config.data and derived.hard == config.hard
    assert config.replace(hard=HardConfig('positive')).hard.policy == 'positive'
    assert dataclasses.replace(config, model=dataclasses.replace(config.model, use_fpn=True)) \
        .model.use_fpn
    # Resolved settings keep their values: a changed dataset does not move the schedule.
    assert config.replace(dataset='coco', train='a.json').schedule == config.schedule
    with pytest.raises(InputError):
        config.replace(epochs=0)
    with pytest.raises(TypeError, match='unknown setting'):
        config.replace(epoch=2)
    with pytest.raises(TypeError, match='unknown setting'):
        TrainConfig.create(hard_policy='drop')  # the HardConfig travels whole


@pytest.mark.parametrize('argv', [
    [],
    ['--network', 'tiny', '--dataset', 'coco', '--train', 'a.json', '--val', 'b.json'],
    ['--dataset', 'lst', '--train', 'a.lst', '--val', '', '--classes', 'c.txt',
     '--neg-train', 'n1', '--neg-train', 'n2', '--neg-val', 'v'],
    ['--network', 'tiny_fpn', '--use-fpn', '--pretrained-base', '--init', 'i.params',
     '--short', '320', '--max-size', '500', '--random-crop', '160',
     '--crop-cut-thresh', '0.25', '--crop-object-prob', '0.75', '-j', '0'],
    ['--hard-policy', 'ignore', '--hard-overlap', 'iou_or_iof', '--hard-thresh', '0.3',
     '--hard-precedence', 'ignore_wins', '--hard-cover-thresh', '0.9'],
    ['--rcnn-sampler', 'ohem', '--rpn-loss', 'focal', '--neg-pos-ratio', '2.5',
     '--ohem-min-neg', '8', '--rcnn-ohem-pool', '2', '--focal-gamma', '1.5',
     '--focal-alpha', '0.5'],
    ['--batch-size', '4', '--epochs', '7', '--start-epoch', '2', '--lr', '0.02',
     '--lr-decay', '0.5', '--lr-decay-epoch', '2.5,5', '--lr-warmup', '10',
     '--lr-warmup-factor', '0.1', '--wd', '0.001', '--momentum', '0.8', '--seed', '7'],
    ['--gpus', '0,1', '--cpu-contexts', '2', '--kv-store', 'device', '--horovod', '--amp',
     '--disable-hybridization', '--static-alloc', '--save-prefix', 'out/x',
     '--save-interval', '0', '--val-interval', '2', '--resume', 'r.params',
     '--log-interval', '0'],
])
def test_to_flags_rebuilds_the_config(argv):
    config = parsed(*argv)
    flags = config.to_flags()
    assert parsed(*flags) == config
    for flag in ('--network', '--dataset', '--epochs', '--lr', '--save-prefix'):
        assert flag in flags
    # Defaults are left out: the flags of the default config are only the always-listed ones.
    assert len(TrainConfig().to_flags()) == 20
    kept = config.to_flags(skip=('save_prefix', 'epochs'))
    assert '--save-prefix' not in kept and '--epochs' not in kept
