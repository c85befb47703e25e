"""HardFasterRCNN end to end on tiny networks: transform -> batchify -> network -> losses."""
import mxnet as mx
import numpy as np
import pytest
from gluoncv.data.batchify import FasterRCNNTrainBatchify
from gluoncv.model_zoo.rcnn.faster_rcnn.faster_rcnn import FasterRCNN

import gluoncv_hard
from gluoncv_hard import FasterRCNNDefaultTrainTransform, HardFasterRCNN, schema
from gluoncv_hard.core.candidates import near_hard_mask
from gluoncv_hard.core.config import HardConfig
from gluoncv_hard.engine.step import ForwardBackwardTask
from gluoncv_hard.errors import InputError
from gluoncv_hard.modeling import tiny
from gluoncv_hard.modeling.faster_rcnn import HARD_OPTIONS, label_parts
from gluoncv_hard.modeling.zoo import build_network, zoo_name

RNG = np.random.default_rng(0)
IMAGES = [mx.nd.array(RNG.integers(0, 255, (240, 320, 3)), dtype='uint8') for _ in range(3)]
HARD_BOX = [200, 60, 280, 160]
LABELS = [np.array([[20, 30, 80, 100, 0, 0], HARD_BOX + [0, 1], [120, 150, 170, 200, 0, 0]],
                   np.float32),
          np.zeros((0, 6), np.float32),                       # a negative image
          np.array([HARD_BOX + [0, 1]], np.float32)]           # only a hard box


def batch_for(net, images, labels, fpn=False):
    transform = FasterRCNNDefaultTrainTransform(net.short, net.max_size, net, ashape=net.ashape,
                                                multi_stage=fpn, flip_p=0.0)
    batch = FasterRCNNTrainBatchify(net, 1)([transform(image, label)
                                             for image, label in zip(images, labels)])
    data, label = batch[0].as_in_context(mx.cpu()), batch[1].as_in_context(mx.cpu())
    return [data, label] + [t[0].as_in_context(mx.cpu()) for t in batch[2:]]


def rcnn_samples(net, batch, seed=0):
    net.sampler.reseed(seed)
    with mx.autograd.record():
        out = net(batch[0], *label_parts(batch[1]))
    return out[2].asnumpy(), out[3].asnumpy(), out[4].asnumpy()


@pytest.mark.parametrize('name', ['tiny', 'tiny_fpn'])
def test_hard_box_is_neutral_in_the_rcnn_stage_over_many_batches(make_tiny_net, name):
    net = make_tiny_net(name, per_device_batch_size=3, rpn_train_post_nms=128, num_sample=128)
    batch = batch_for(net, IMAGES, LABELS, fpn=name == 'tiny_fpn')
    hard = batch[1].asnumpy()[0, 1, :4]  # the hard box after resize
    fg_seen = 0
    for seed in range(8):
        rois, samples, matches = rcnn_samples(net, batch, seed)
        assert rois.shape == (3, 128, 4)
        for i in (0, 2):  # the images with the hard box
            near = near_hard_mask(rois[i], hard[None], HardConfig())
            assert not (samples[i][near] == -1).any()
            assert not np.all(rois[i] == hard, axis=1).any()  # never appended
        fg_seen += (samples[0] == 1).sum()
        assert set(matches[0][samples[0] == 1].astype(int)) <= {0, 2}  # normal boxes only
        assert (samples[1] == -1).all()  # negative image: background only
        assert (samples[2] != 1).all()   # only a hard box: no foreground
    assert fg_seen > 0


def test_hybridized_and_imperative_sample_the_same(make_tiny_net):
    net = make_tiny_net('tiny', per_device_batch_size=3)
    batch = batch_for(net, IMAGES, LABELS)
    imperative = rcnn_samples(net, batch, seed=3)
    net.hybridize(static_alloc=True)
    hybridized = rcnn_samples(net, batch, seed=3)
    for a, b in zip(imperative, hybridized):
        np.testing.assert_allclose(a, b, atol=1e-4)


def test_omitted_hard_flags_mean_nothing_is_hard(make_tiny_net):
    net = make_tiny_net('tiny', per_device_batch_size=3)
    batch = batch_for(net, IMAGES, LABELS)
    gt_box, gt_label, _ = label_parts(batch[1])
    np.random.seed(1)
    with mx.autograd.record():
        samples = net(batch[0], gt_box, gt_label)[3].asnumpy()
    assert (samples[2] == 1).sum() > 0  # the "hard" box is an ordinary positive now


def test_training_steps_reduce_the_loss_on_one_batch(make_tiny_net):
    net = make_tiny_net('tiny', per_device_batch_size=3)
    batch = batch_for(net, IMAGES, LABELS)
    trainer = mx.gluon.Trainer(net.collect_train_params(), 'sgd',
                               {'learning_rate': 0.01, 'momentum': 0.9})
    task = ForwardBackwardTask(net)
    totals = []
    for _ in range(6):
        losses, accuracies = task.forward_backward(batch)
        totals.append(sum(v.asscalar() for v in losses))
        trainer.step(1)
    assert all(np.isfinite(totals)) and totals[-1] < totals[0]


def test_inference_forward_is_stock(make_tiny_net):
    net = make_tiny_net('tiny')
    ids, scores, boxes = net(mx.nd.zeros((1, 3, 128, 160)))
    assert ids.shape[0] == 1 and boxes.shape[-1] == 4


def _stock_tiny(classes):
    features, top, box = tiny.tiny_c4_parts()
    return FasterRCNN(features, top, classes, box_features=box, **tiny.TINY_DEFAULTS)


def test_checkpoints_load_both_ways(tmp_path):
    x = mx.nd.random.uniform(shape=(1, 3, 128, 160))
    stock = _stock_tiny(['face'])
    stock.initialize()
    expected = [a.asnumpy() for a in stock(x)]  # also completes deferred initialization
    stock.save_parameters(str(tmp_path / 'stock.params'))
    ours = gluoncv_hard.get_model('tiny', classes=['face'])
    ours.load_parameters(str(tmp_path / 'stock.params'))
    for a, b in zip(expected, ours(x)):
        np.testing.assert_allclose(a, b.asnumpy(), rtol=1e-5, atol=1e-5)
    ours.save_parameters(str(tmp_path / 'ours.params'))
    back = _stock_tiny(['face'])
    back.load_parameters(str(tmp_path / 'ours.params'))
    np.testing.assert_allclose(back(x)[2].asnumpy(), ours(x)[2].asnumpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize('name', ['faster_rcnn_resnet50_v1b_voc',
                                  'faster_rcnn_fpn_resnet50_v1b_coco'])
def test_gluoncv_zoo_networks_upgrade_in_place(tmp_path, name):
    import gluoncv
    stock = gluoncv.model_zoo.get_model(name, pretrained_base=False)
    stock.initialize()
    stock(mx.nd.zeros((1, 3, 128, 128)))
    stock.save_parameters(str(tmp_path / 'stock.params'))
    ours = gluoncv_hard.get_model(name, pretrained_base=False, hard_policy='drop')
    assert isinstance(ours, HardFasterRCNN) and ours.hard_config.policy == 'drop'
    ours.load_parameters(str(tmp_path / 'stock.params'))  # same parameter names


def test_custom_classes_and_reset_class(make_tiny_net):
    net = make_tiny_net('tiny', per_device_batch_size=3)
    net.reset_class(['face', 'hand'])
    net.class_predictor.initialize()
    net.box_predictor.initialize()
    batch = batch_for(net, IMAGES, LABELS)
    with mx.autograd.record():
        out = net(batch[0], *label_parts(batch[1]))
    assert out[0].shape[-1] == 3 and net.hard_config == HardConfig()


def test_get_model_errors():
    with pytest.raises(InputError, match=r"needs classes=\[\.\.\.\]"):
        gluoncv_hard.get_model('tiny')
    with pytest.raises(ValueError, match='is not a Faster R-CNN network'):
        gluoncv_hard.get_model('mobilenet0.25')
    with pytest.raises(ValueError, match='hard_policy'):
        gluoncv_hard.get_model('tiny', classes=['a'], hard_policy='none')
    with pytest.raises(TypeError, match='unknown hard options'):
        HardFasterRCNN.from_gluoncv(_stock_tiny(['a']), hard_polcy='drop')


def test_hard_config_travels_from_get_model_to_the_sampler():
    config = HardConfig(policy='drop', overlap='iou', thresh=0.4)
    net = gluoncv_hard.get_model('tiny', classes=['a'], hard_config=config)
    assert net.hard_config is config and net.sampler.hard_config is config
    legacy = gluoncv_hard.get_model('tiny', classes=['a'], hard_policy='drop',
                                    hard_overlap='iou', hard_thresh=0.4)
    assert legacy.hard_config == config
    assert build_network('tiny', ['a'], hard_config=config).hard_config is config
    assert build_network('tiny', ['a'], hard_policy='positive').hard_config == HardConfig(
        policy='positive')
    direct = HardFasterRCNN(*tiny.tiny_c4_parts()[:2], ['a'], hard_config=config,
                            **tiny.TINY_DEFAULTS)
    assert direct.hard_config is config
    with pytest.raises(TypeError, match='not both'):
        gluoncv_hard.get_model('tiny', classes=['a'], hard_config=config, hard_policy='drop')
    with pytest.raises(TypeError, match='unknown hard options'):
        gluoncv_hard.get_model('tiny', classes=['a'], hard_polcy='drop')


def test_from_gluoncv_takes_a_config_and_fails_before_changing_the_network():
    stock = _stock_tiny(['a'])
    with pytest.raises(TypeError, match='unknown hard options'):
        HardFasterRCNN.from_gluoncv(stock, num_sample=3)
    with pytest.raises(InputError):
        HardFasterRCNN.from_gluoncv(stock, hard_policy='none')
    assert type(stock) is FasterRCNN
    config = HardConfig(precedence='ignore_wins')
    assert HardFasterRCNN.from_gluoncv(stock, hard_config=config).hard_config is config
    assert HARD_OPTIONS == tuple(config.as_options())


def test_network_inputs_use_the_schema_columns(make_tiny_net):
    net = make_tiny_net('tiny', per_device_batch_size=3)
    batch = batch_for(net, IMAGES, LABELS)
    gt_box, _, gt_hard = label_parts(batch[1])
    packed = mx.nd.concat(gt_box, gt_hard, dim=-1)  # what the network hands its sampler
    assert packed.shape[-1] == schema.GT_BOX_WIDTH
    np.testing.assert_array_equal(packed[:, :, schema.GT_BOX_HARD].asnumpy(),
                                  batch[1][:, :, schema.HARD].asnumpy())


def test_zoo_errors_are_input_errors_naming_the_parameter():
    cases = [(lambda: gluoncv_hard.get_model('tiny'), 'classes'),
             (lambda: gluoncv_hard.get_model('mobilenet0.25'), 'name'),
             (lambda: zoo_name('resnet18_v1b', False), 'network'),
             (lambda: build_network('tiny_fpn', ['a'], pretrained_base=True), 'pretrained_base')]
    for call, param in cases:
        with pytest.raises(InputError) as info:
            call()
        assert info.value.param == param
