"""The zoo builds every --network as GluonCV would, and refuses inputs its anchors cannot fit."""
import warnings

import gluoncv
import mxnet as mx
import numpy as np
import pytest
from fixtures import small_voc
from gluoncv.model_zoo.rcnn.faster_rcnn.faster_rcnn import FasterRCNN, custom_faster_rcnn_fpn

from gluoncv_hard import HardFasterRCNN
from gluoncv_hard.cli import train as train_cli
from gluoncv_hard.errors import InputError
from gluoncv_hard.modeling import zoo
from gluoncv_hard.modeling.rpn import RPN


def quietly(build, *args, **kwargs):
    """GluonCV's FPN SymbolBlock warns that its input type is unknown each time it is built."""
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', message='Cannot decide type for the following')
        return build(*args, **kwargs)


def shapes(net):
    """``{structural name: shape}`` of every parameter, all shapes known."""
    net.initialize()
    zoo.infer_parameter_shapes(net)
    return {name: p.shape for name, p in net._collect_params_with_prefix().items()}


@pytest.mark.parametrize('network, use_fpn, expected', [
    ('tiny', False, 'tiny'), ('tiny', True, 'tiny_fpn'), ('tiny_fpn', False, 'tiny_fpn'),
    ('resnet50_v1b', False, 'faster_rcnn_resnet50_v1b_custom'),
    ('resnet101_v1d', False, 'faster_rcnn_resnet101_v1d_custom'),
    ('resnet50_v1b', True, 'faster_rcnn_fpn_resnet50_v1b_custom'),
    ('resnet101_v1d', True, 'faster_rcnn_fpn_resnet101_v1d_custom'),
    ('resnet18_v1b', True, 'faster_rcnn_fpn_resnet18_v1b_custom'),
])
def test_every_network_has_a_zoo_name(network, use_fpn, expected):
    assert zoo.zoo_name(network, use_fpn) == (expected, {})


def test_resnet18_without_fpn_lists_the_networks_by_kind():
    with pytest.raises(InputError) as e:
        zoo.zoo_name('resnet18_v1b', False)
    message = str(e.value)
    assert e.value.param == 'network'
    c4, fpn = message.split('C4 networks: ')[1].split('; FPN networks (use_fpn): ')
    assert c4 == 'tiny, resnet50_v1b, resnet101_v1d'
    assert fpn == 'tiny_fpn, resnet50_v1b, resnet101_v1d, resnet18_v1b'


@pytest.mark.parametrize('backbone', zoo.FPN_BACKBONES)
def test_fpn_networks_are_gluoncvs_fpn_faster_rcnn(backbone):
    """What this proves: --use-fpn builds GluonCV's FPN Faster R-CNN (not the DoubleHeadRCNN
    GluonCV's get_model returns for 'custom_faster_rcnn_fpn'), with the parameters, by name
    and shape, of the network upstream's script builds, so checkpoints go both ways."""
    net = zoo.build_network(backbone, ['face', 'hand'], use_fpn=True)
    assert isinstance(net, HardFasterRCNN) and isinstance(net.rpn, RPN)
    assert net.num_stages == 5 and (net.short, net.max_size) == (800, 1333)
    assert net.rpn.rpn_head.conv1[0].weight.shape[0] == 1024
    stock = quietly(custom_faster_rcnn_fpn, ['face', 'hand'], pretrained_base=False,
                    base_network_name=backbone, **zoo.FPN_DEFAULTS)
    ours = shapes(net)
    assert ours == shapes(stock)
    assert ours['class_predictor.weight'] == (3, 1024)


def test_gluoncvs_fpn_name_builds_the_fpn_faster_rcnn_here():
    with pytest.warns(UserWarning):  # GluonCV's FPN SymbolBlock warns; ours is silenced
        stock = gluoncv.model_zoo.get_model('custom_faster_rcnn_fpn', classes=['a'],
                                            pretrained_base=False, transfer=None)
    assert not isinstance(stock, FasterRCNN)  # the reason zoo_name no longer asks for it
    net = zoo.get_model('custom_faster_rcnn_fpn', classes=['a'], pretrained_base=False,
                        base_network_name='resnet18_v1b', short=320)
    assert isinstance(net, HardFasterRCNN) and net.num_stages == 5 and net.short == 320
    with pytest.raises(InputError, match="no FPN Faster R-CNN for backbone 'vgg16'"):
        zoo.get_model('faster_rcnn_fpn_vgg16_custom', classes=['a'])
    with pytest.raises(InputError, match='transfer would download') as e:
        zoo.get_model('faster_rcnn_fpn_resnet18_v1b_custom', classes=['a'], transfer='coco')
    assert e.value.param == 'transfer'


def test_c4_networks_are_gluoncvs_custom_networks():
    net = zoo.build_network('resnet50_v1b', ['face'])
    stock = gluoncv.model_zoo.get_model('faster_rcnn_resnet50_v1b_custom', classes=['face'],
                                        pretrained_base=False, transfer=None)
    assert net.num_stages == 1 and shapes(net) == shapes(stock)


def test_gluoncvs_coco_fpn_weights_fit_all_but_the_box_head():
    """Fine-tuning from GluonCV's published FPN model: backbone, FPN and RPN load."""
    ours = shapes(zoo.build_network('resnet50_v1b', ['face'], use_fpn=True))
    coco = shapes(quietly(gluoncv.model_zoo.get_model, 'faster_rcnn_fpn_resnet50_v1b_coco',
                          pretrained_base=False))
    left = sorted(name for name, shape in ours.items() if coco.get(name) != shape)
    assert left == ['box_features.1.bias', 'box_features.1.weight', 'box_features.3.bias',
                    'box_features.3.weight', 'box_predictor.bias', 'box_predictor.weight',
                    'class_predictor.bias', 'class_predictor.weight']


def test_too_small_inputs_name_short_and_the_size_that_works(tmp_path, capsys):
    with pytest.raises(InputError) as e:
        zoo.build_network('resnet50_v1b', ['face'], short=128, max_size=192)
    assert e.value.param == 'short'
    assert str(e.value) == (
        'short=128 (max_size 192) is too small for resnet50_v1b: no RPN anchor lies inside a '
        '128x128 input (the smallest cover about 123x123 pixels), so the RPN has nothing to '
        'train on; use short and max_size of at least 144')
    # max_size caps the short side too.
    with pytest.raises(InputError, match='short=600 .max_size 128. is too small'):
        zoo.build_network('resnet101_v1d', ['face'], max_size=128)
    # The smallest sizes named work; FPN networks have 32-pixel anchors.
    for network, use_fpn, side in (('resnet50_v1b', False, 144), ('resnet18_v1b', True, 48),
                                   ('tiny', False, 32)):
        net = zoo.build_network(network, ['face'], use_fpn=use_fpn, short=side, max_size=side)
        assert zoo.smallest_input_side(net) == side
        assert zoo.input_size_problems(net, side - 16, side - 16)
    # The command line shows the flag and exits 2 before training.
    prefix = str(tmp_path / 'run')
    assert train_cli.main(['--network', 'resnet50_v1b', '--short', '128', '--data-root',
                           small_voc(tmp_path / 'voc'), '--val', '', '--save-prefix',
                           prefix]) == 2
    assert 'error: --short=128 (max_size 1000) is too small for resnet50_v1b' \
        in capsys.readouterr().err


def test_parameter_shapes_are_known_without_a_forward():
    net = zoo.build_network('resnet50_v1b', ['face'], short=144, max_size=144)
    net.initialize()
    assert any(0 in p.shape for p in net.collect_params().values())
    zoo.infer_parameter_shapes(net)
    assert not [p.name for p in net.collect_params().values() if 0 in p.shape]
    # A value set now is used at the first forward (deferred initialization keeps it).
    weight = mx.nd.full(net.class_predictor.weight.shape, 0.5)
    net.class_predictor.weight.set_data(weight)
    net(mx.nd.zeros((1, 3, 144, 144)))
    assert np.array_equal(net.class_predictor.weight.data().asnumpy(), weight.asnumpy())
