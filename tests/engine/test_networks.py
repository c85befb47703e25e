"""load_trained_network reads the hard config back from the checkpoint sidecar."""
import mxnet as mx
import pytest

from gluoncv_hard.core.config import HardConfig
from gluoncv_hard.engine.checkpoint import save_checkpoint
from gluoncv_hard.engine.networks import load_trained_network

SAVED = HardConfig(policy='drop', overlap='iou', thresh=0.4, precedence='ignore_wins',
                   cover_thresh=0.9)


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    def write(hard):
        import gluoncv_hard
        net = gluoncv_hard.get_model('tiny', classes=['face'], hard_config=SAVED)
        net.initialize()
        net(mx.nd.zeros((1, 3, 64, 64)))  # completes deferred initialization
        state = dict(network='tiny', classes=['face'], use_fpn=False, network_options={})
        if hard is not None:
            state['hard'] = hard
        return save_checkpoint(str(tmp_path_factory.mktemp('ckpt') / 'tiny'), 'last', net,
                               None, state)
    return write


def test_saved_config_comes_back(checkpoint):
    path = checkpoint(SAVED.as_options())
    net, sidecar = load_trained_network(path, [mx.cpu()])
    assert net.hard_config == SAVED and sidecar['hard'] == SAVED.as_options()


def test_overrides_change_fields_or_replace_the_config(checkpoint):
    path = checkpoint(dict(SAVED.as_options(), hard_option_of_a_later_version=1))
    net, _ = load_trained_network(path, [mx.cpu()], hard_policy='ignore')
    assert net.hard_config == HardConfig('ignore', 'iou', 0.4, 'ignore_wins', 0.9)
    net, _ = load_trained_network(path, [mx.cpu()], hard_config=HardConfig())
    assert net.hard_config == HardConfig()
    with pytest.raises(TypeError, match='not both'):
        load_trained_network(path, [mx.cpu()], hard_config=HardConfig(), hard_thresh=0.3)


def test_sidecar_without_hard_entry_means_defaults(checkpoint):
    net, _ = load_trained_network(checkpoint(None), [mx.cpu()])
    assert net.hard_config == HardConfig()


def test_initialize_missing_gives_fpn_biases_zeros_and_scales_ones():
    """GluonCV's FPN is a SymbolBlock whose parameters have no initializer and no shape yet."""
    from gluoncv_hard.engine.networks import initialize_missing
    from gluoncv_hard.modeling.zoo import build_network, infer_parameter_shapes
    net = build_network('resnet18_v1b', ['face'], use_fpn=True, short=64, max_size=64)
    initialize_missing(net, [mx.cpu()])  # before any shape is known, as in training
    infer_parameter_shapes(net)
    net(mx.nd.zeros((1, 3, 64, 64)))
    params = net.collect_params()
    assert (params['P2_conv_lat_bias'].data() == 0).asnumpy().all()
    assert (params['resnetv1b_batchnorm0_gamma'].data() == 1).asnumpy().all()
    assert (params['resnetv1b_batchnorm0_running_var'].data() == 1).asnumpy().all()
    assert params['P2_conv_lat_weight'].data().asnumpy().std() > 0
