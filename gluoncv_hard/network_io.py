"""Build the network a command line names, and rebuild a trained one from its checkpoint."""
import os

import mxnet as mx

from .checkpoint import check_params_file, read_sidecar
from .model import HARD_OPTIONS, TINY_NETWORKS, get_model

__all__ = ['NETWORKS', 'zoo_name', 'build_network', 'load_trained_network',
           'check_pretrained_base', 'initialize_missing']

# --network values besides the tiny ones: GluonCV backbones with a "custom classes" builder.
NETWORKS = tuple(TINY_NETWORKS) + ('resnet50_v1b', 'resnet101_v1d', 'resnet18_v1b')
_C4_CUSTOM = ('resnet50_v1b', 'resnet101_v1d')


def zoo_name(network, use_fpn):
    """The :func:`gluoncv_hard.get_model` name and extra keyword arguments for ``--network``."""
    if network in TINY_NETWORKS:
        return ('tiny_fpn' if use_fpn or network == 'tiny_fpn' else 'tiny'), {}
    if use_fpn:
        return 'custom_faster_rcnn_fpn', {'base_network_name': network}
    if network in _C4_CUSTOM:
        return 'faster_rcnn_{}_custom'.format(network), {}
    raise ValueError('--network {!r} without --use-fpn is not available; C4 networks: {}; with '
                     '--use-fpn also resnet18_v1b'.format(network, ', '.join(
                         tuple(TINY_NETWORKS) + _C4_CUSTOM)))


def check_pretrained_base(network):
    """GluonCV's ImageNet weights for ``network`` must already be on disk (no downloads here)."""
    if network in TINY_NETWORKS:
        raise ValueError('--pretrained-base: the tiny networks have no pretrained backbone')
    from gluoncv.model_zoo.model_store import short_hash
    root = os.path.join(os.environ.get('MXNET_HOME', os.path.join('~', '.mxnet')), 'models')
    path = os.path.expanduser(os.path.join(root, '{}-{}.params'.format(network,
                                                                       short_hash(network))))
    if not os.path.isfile(path):
        raise FileNotFoundError(
            '--pretrained-base needs GluonCV\'s ImageNet weights for {} at {}; this machine '
            'cannot download them. Copy the file there (from a machine with internet: '
            'python -c "import gluoncv; gluoncv.model_zoo.get_model(\'{}\', pretrained=True)"), '
            'or drop --pretrained-base to train the backbone from scratch.'.format(
                network, path, network))
    return path


def build_network(network, classes, use_fpn=False, pretrained_base=False,
                  per_device_batch_size=1, **options):
    """A :class:`gluoncv_hard.HardFasterRCNN` for ``--network`` with the data set's classes.

    ``options`` are hard options and GluonCV network arguments (e.g. ``short``, ``max_size``).
    """
    name, extra = zoo_name(network, use_fpn)
    if pretrained_base:
        check_pretrained_base(network)
    if name not in TINY_NETWORKS:
        extra['pretrained_base'] = pretrained_base
        if name != 'custom_faster_rcnn_fpn':
            extra['transfer'] = None
    return get_model(name, classes=list(classes), per_device_batch_size=per_device_batch_size,
                     **extra, **options)


def load_trained_network(params_path, ctx, network=None, classes=None, use_fpn=None,
                         **overrides):
    """Rebuild a network trained by ``train_faster_rcnn.py`` (or any GluonCV checkpoint).

    The checkpoint's JSON sidecar supplies the network, classes and options; for a bare
    ``.params`` file (e.g. from stock GluonCV) pass ``network`` and ``classes``.
    Returns ``(net, sidecar_or_None)`` with parameters on ``ctx``.
    """
    if not os.path.isfile(params_path):
        raise FileNotFoundError('--params {} does not exist'.format(params_path))
    sidecar = read_sidecar(params_path) or {}
    network = network or sidecar.get('network')
    classes = classes or sidecar.get('classes')
    use_fpn = sidecar.get('use_fpn', False) if use_fpn is None else use_fpn
    if not network or not classes:
        raise ValueError('{} has no JSON sidecar naming its network and classes; pass --network '
                         'and --classes'.format(params_path))
    options = {k: v for k, v in sidecar.get('network_options', {}).items()}
    options.update({k: v for k, v in sidecar.get('hard', {}).items() if k in HARD_OPTIONS})
    options.update(overrides)
    check_params_file(params_path, len(classes), flag='--params')
    net = build_network(network, classes, use_fpn=use_fpn, **options)
    net.load_parameters(params_path, ctx=ctx, ignore_extra=True)
    return net, (sidecar or None)


def initialize_missing(net, ctx):
    """Initialize every parameter that holds no value yet (layer-specific initializers win;
    Xavier for the rest, which suits backbones trained from scratch)."""
    for param in net.collect_params().values():
        if param._data is None:  # pylint: disable=protected-access
            param.initialize(default_init=mx.init.Xavier(), ctx=ctx)
