"""Subclassing the training transform (docs/transform_subclassing.md) and ``--train-transform``."""
import json
import os
import pathlib
import re

import mxnet as mx
import numpy as np
import pytest
from fixtures import small_demo
from gluoncv.data.transforms import bbox as tbbox
from gluoncv.data.transforms.presets.rcnn import FasterRCNNDefaultTrainTransform as StockTransform

from gluoncv_hard import FasterRCNNDefaultTrainTransform, schema
from gluoncv_hard.cli import train as train_cli
from gluoncv_hard.core.candidates import near_hard_mask
from gluoncv_hard.data.transform import DEFAULT_TRAIN_TRANSFORM, load_transform_class
from gluoncv_hard.engine.config import TrainConfig
from gluoncv_hard.errors import InputError

DOC = pathlib.Path(__file__).resolve().parents[2] / 'docs' / 'transform_subclassing.md'
IMG = mx.nd.array(np.random.default_rng(0).integers(0, 255, (240, 320, 3)), dtype='uint8')
LABEL = np.array([[10, 20, 60, 80, 0, 0],       # normal
                  [200, 100, 260, 170, 0, 1]],  # hard
                 np.float32)


@pytest.fixture
def example_module(tmp_path, monkeypatch):
    """The doc's example block, saved as ``my_transforms.py`` on the Python path."""
    (code,) = re.findall(r'```python\n(.*?)```', DOC.read_text(encoding='utf-8'), re.S)
    (tmp_path / 'my_transforms.py').write_text(code, encoding='utf-8')
    monkeypatch.syspath_prepend(str(tmp_path))
    yield 'my_transforms'
    import sys
    sys.modules.pop('my_transforms', None)


def make(cls, net, **kw):
    return cls(net.short, net.max_size, net, ashape=net.ashape, **kw)


def test_the_docs_example_keeps_hard_boxes_neutral(example_module, tiny_c4_net):
    cls = load_transform_class(example_module + ':ZoomOutTransform')
    assert issubclass(cls, FasterRCNNDefaultTrainTransform) and 'augment' in vars(cls)
    transform = make(cls, tiny_c4_net, expand_p=1.0, max_ratio=3.0, flip_p=0.0,
                     num_sample=10 ** 6, pos_ratio=1.0)
    stock_geometry = make(FasterRCNNDefaultTrainTransform, tiny_c4_net, flip_p=0.0)
    np.random.seed(3)
    img, label, cls_targets, _, _ = transform(IMG, LABEL)
    plain = stock_geometry(IMG, LABEL)[1]
    assert label.shape == (2, 6) and label[:, schema.HARD].tolist() == [0, 1]
    # Zoomed out: the same image size, smaller boxes (the ratio of the two boxes' widths stays).
    plain_shape = stock_geometry(IMG, LABEL)[0].shape
    assert img.shape[1] == plain_shape[1] and abs(img.shape[2] - plain_shape[2]) <= 1
    widths = label[:, 2] - label[:, 0]
    assert (widths < plain[:, 2] - plain[:, 0]).all()
    np.testing.assert_allclose(widths[1] / widths[0], 60 / 50, rtol=1e-3)
    anchors, _ = transform._anchors_for(img.shape[1], img.shape[2])
    cls_flat = np.concatenate([c.reshape(-1) for c in cls_targets])
    near = near_hard_mask(anchors, label[1:, :4], transform.hard_config)
    assert near.sum() > 0 and (cls_flat[near] == -1).all() and (cls_flat == 1).sum() > 0


def test_a_copy_of_gluoncvs_call_fails_at_the_first_image(tiny_c4_net):
    class Copied(FasterRCNNDefaultTrainTransform):
        __call__ = StockTransform.__call__  # what copying GluonCV's method into a subclass does

    with pytest.raises(InputError, match=r'Copied called its RPN target generator without the '
                                         r'hard flags.*Override Copied.augment') as info:
        make(Copied, tiny_c4_net)(IMG, LABEL)
    assert info.value.param == 'train_transform'


def test_a_call_override_that_delegates_is_fine(tiny_c4_net):
    class Grey(FasterRCNNDefaultTrainTransform):
        def __call__(self, src, label):
            grey = src.astype('float32').mean(axis=2, keepdims=True).tile((1, 1, 3))
            return super().__call__(grey, label)

    np.random.seed(0)
    out = make(Grey, tiny_c4_net, flip_p=0.0)(IMG, LABEL)
    assert out[1][:, schema.HARD].tolist() == [0, 1]


@pytest.mark.parametrize('returned, message', [
    (lambda img, label: (img, label[:, :5]), 'returned a label of shape \\(2, 5\\)'),
    (lambda img, label: (img, label[:, 0]), 'returned a label of shape \\(2,\\)'),
    (lambda img, label: (img, tbbox.translate(label, x_offset=0) * [1, 1, 0, 1, 1, 1]),
     'box 0 is inverted or has zero area'),
])
def test_an_augment_that_loses_the_hard_column_fails(tiny_c4_net, returned, message):
    class Broken(FasterRCNNDefaultTrainTransform):
        def augment(self, src, label):
            return returned(*super().augment(src, label))

    with pytest.raises(InputError, match=message):
        make(Broken, tiny_c4_net)(IMG, LABEL)


def test_the_default_augment_is_the_old_call(tiny_c4_net):
    """Splitting ``augment`` out changed nothing: the same draws, the same outputs as GluonCV's
    transform under ``hard_policy='positive'``."""
    kw = dict(num_sample=10 ** 6, pos_ratio=1.0, flip_p=0.5)
    for seed in range(4):
        np.random.seed(seed)
        ours = make(FasterRCNNDefaultTrainTransform, tiny_c4_net, hard_policy='positive', **kw)(
            IMG, LABEL)
        np.random.seed(seed)
        stock = make(StockTransform, tiny_c4_net, **kw)(IMG, LABEL)
        np.testing.assert_allclose(ours[0].asnumpy(), stock[0].asnumpy())
        np.testing.assert_allclose(ours[1], stock[1], rtol=1e-6)
        for got, expected in zip(ours[2:], stock[2:]):
            np.testing.assert_allclose(got[0], expected[0], atol=1e-5)


def test_the_transform_takes_the_networks_hard_config(make_tiny_net):
    net = make_tiny_net('tiny', hard_policy='drop')
    assert make(FasterRCNNDefaultTrainTransform, net).hard_config == net.hard_config
    assert make(FasterRCNNDefaultTrainTransform, net, hard_policy='ignore').hard_config.policy \
        == 'ignore'


@pytest.mark.parametrize('spec, message', [
    ('my_transforms.ZoomOutTransform', "is not of the form 'package.module:ClassName'"),
    ('no_such_module_xyz:Thing', "importing module 'no_such_module_xyz' failed: "
                                 'ModuleNotFoundError'),
    ('gluoncv_hard.data.transform:NoSuchClass', "has no 'NoSuchClass'"),
    ('gluoncv.data.transforms.presets.rcnn:FasterRCNNDefaultTrainTransform',
     'not a subclass of gluoncv_hard.FasterRCNNDefaultTrainTransform'),
    ('gluoncv_hard.data.transform:load_transform_class', 'not a subclass'),
])
def test_bad_transform_names_are_input_errors(spec, message):
    with pytest.raises(InputError, match=re.escape(message) if '(' in message else message) \
            as info:
        load_transform_class(spec)
    assert info.value.param == 'train_transform'


def test_a_module_that_fails_to_import_is_the_users_error(tmp_path, monkeypatch):
    (tmp_path / 'broken_transforms.py').write_text('raise RuntimeError("no GPU here")\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(InputError, match='RuntimeError: no GPU here') as info:
        load_transform_class('broken_transforms:Anything')
    assert isinstance(info.value.__cause__, RuntimeError)


def test_the_setting_and_its_flag():
    assert TrainConfig().data.train_transform == DEFAULT_TRAIN_TRANSFORM
    assert load_transform_class(DEFAULT_TRAIN_TRANSFORM) is FasterRCNNDefaultTrainTransform
    args = train_cli.parse_args(['--train-transform', 'my_transforms:ZoomOutTransform'])
    config = train_cli.config_from_args(args)
    assert config.data.train_transform == 'my_transforms:ZoomOutTransform'
    flags = config.to_flags()
    assert flags[flags.index('--train-transform') + 1] == 'my_transforms:ZoomOutTransform'
    assert train_cli.config_from_args(train_cli.parse_args(flags)) == config
    assert '--train-transform' not in TrainConfig().to_flags()


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    return small_demo(tmp_path_factory, n_negatives_pool=0)


def train_args(demo, prefix, *extra):
    return ['--network', 'tiny', '--dataset', 'voc', '--data-root', demo, '--epochs', '1',
            '--lr', '0.01', '--log-interval', '0', '--num-workers', '0', '--save-prefix',
            prefix, '--val', ''] + list(extra)


def train_losses(prefix):
    with open(prefix + '_metrics.jsonl') as f:
        (line,) = [json.loads(text) for text in f]
    return line['train_losses']


@pytest.mark.slow
def test_gluoncv_hard_train_with_the_docs_subclass(example_module, demo, tmp_path, capsys):
    default, zoomed = str(tmp_path / 'default' / 'run'), str(tmp_path / 'zoomed' / 'run')
    assert train_cli.main(train_args(demo, default)) == 0
    assert train_cli.main(train_args(demo, zoomed, '--train-transform',
                                     example_module + ':ZoomOutTransform')) == 0
    # Same seed, other augmentation: other losses.
    assert train_losses(default) != train_losses(zoomed)
    refused = train_args(demo, str(tmp_path / 'refused' / 'run'), '--train-transform',
                         'gluoncv.data.transforms.presets.rcnn:FasterRCNNDefaultTrainTransform')
    capsys.readouterr()
    assert train_cli.main(refused) == 2
    last_line = capsys.readouterr().err.strip().splitlines()[-1]
    assert last_line.startswith(
        'error: --train-transform: gluoncv.data.transforms.presets.rcnn:'
        'FasterRCNNDefaultTrainTransform is ')
    assert not os.path.exists(str(tmp_path / 'refused' / 'run_last.params'))
