"""The model zoo: build a hard-aware Faster R-CNN by GluonCV name, tiny name or ``--network``."""
import os

import gluoncv
from gluoncv.model_zoo.rcnn.faster_rcnn.faster_rcnn import FasterRCNN

from gluoncv_hard.core.config import pop_hard_config
from gluoncv_hard.errors import InputError, SetupError
from gluoncv_hard.modeling import tiny
from gluoncv_hard.modeling.faster_rcnn import HardFasterRCNN

__all__ = ['get_model', 'TINY_NETWORKS', 'NETWORKS', 'zoo_name', 'build_network',
           'check_pretrained_base']

TINY_NETWORKS = {
    'tiny': (tiny.tiny_c4_parts, tiny.TINY_DEFAULTS),
    'tiny_fpn': (tiny.tiny_fpn_parts, tiny.TINY_FPN_DEFAULTS),
}


def get_model(name, classes=None, hard_config=None, **kwargs):
    """Build a :class:`HardFasterRCNN`.

    Parameters
    ----------
    name : str
        ``'tiny'`` or ``'tiny_fpn'`` (small CPU networks, see :mod:`gluoncv_hard.modeling.tiny`;
        need ``classes``), or a GluonCV Faster R-CNN name such as
        ``'faster_rcnn_resnet50_v1b_voc'``, ``'faster_rcnn_fpn_resnet50_v1b_coco'`` or
        ``'faster_rcnn_resnet50_v1b_custom'`` (the ``*_custom`` ones take ``classes``). GluonCV
        downloads weights for ``pretrained=True`` and ``pretrained_base=True``; offline, pass
        ``pretrained_base=False`` and load local parameters with ``net.load_parameters``.
    classes : list of str
    hard_config : gluoncv_hard.HardConfig, optional
        Default ``HardConfig()``; or pass the five hard keyword arguments (``hard_policy`` ...).
    **kwargs
        Anything the GluonCV builder accepts (``per_device_batch_size``, ``num_sample``,
        ``short`` ...).
    """
    hard_config = pop_hard_config(kwargs, hard_config)
    if name in TINY_NETWORKS:
        if not classes:
            raise InputError("network {!r} needs classes=[...]".format(name), param='classes')
        parts, defaults = TINY_NETWORKS[name]
        features, top_features, box_features = parts()
        for unused in ('pretrained', 'pretrained_base'):
            kwargs.pop(unused, None)  # nothing to download for these
        return HardFasterRCNN(features, top_features, list(classes), box_features=box_features,
                              hard_config=hard_config, **dict(defaults, **kwargs))
    if classes is not None:
        kwargs['classes'] = list(classes)
    net = gluoncv.model_zoo.get_model(name, **kwargs)
    if not isinstance(net, FasterRCNN):
        raise InputError('{!r} is not a Faster R-CNN network'.format(name), param='name')
    return HardFasterRCNN.from_gluoncv(net, hard_config=hard_config)


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
    raise InputError('network {!r} without use_fpn is not available; C4 networks: {}; with '
                     'use_fpn also resnet18_v1b'.format(network, ', '.join(
                         tuple(TINY_NETWORKS) + _C4_CUSTOM)), param='network')


def check_pretrained_base(network):
    """GluonCV's ImageNet weights for ``network`` must already be on disk (no downloads here)."""
    if network in TINY_NETWORKS:
        raise InputError('the tiny networks have no pretrained backbone',
                         param='pretrained_base')
    from gluoncv.model_zoo.model_store import short_hash
    root = os.path.join(os.environ.get('MXNET_HOME', os.path.join('~', '.mxnet')), 'models')
    path = os.path.expanduser(os.path.join(root, '{}-{}.params'.format(network,
                                                                       short_hash(network))))
    if not os.path.isfile(path):
        raise SetupError(
            'pretrained_base needs GluonCV\'s ImageNet weights for {} at {}; this machine '
            'cannot download them. Copy the file there (from a machine with internet: '
            'python -c "import gluoncv; gluoncv.model_zoo.get_model(\'{}\', pretrained=True)"), '
            'or train the backbone from scratch (pretrained_base off).'.format(
                network, path, network), param='pretrained_base')
    return path


def build_network(network, classes, use_fpn=False, pretrained_base=False,
                  per_device_batch_size=1, hard_config=None, **options):
    """A :class:`gluoncv_hard.HardFasterRCNN` for ``--network`` with the data set's classes.

    ``hard_config`` (or the five hard keyword arguments) as for :func:`get_model`; the other
    ``options`` are GluonCV network arguments (e.g. ``short``, ``max_size``).
    """
    name, extra = zoo_name(network, use_fpn)
    if pretrained_base:
        check_pretrained_base(network)
    if name not in TINY_NETWORKS:
        extra['pretrained_base'] = pretrained_base
        if name != 'custom_faster_rcnn_fpn':
            extra['transfer'] = None
    return get_model(name, classes=list(classes), per_device_batch_size=per_device_batch_size,
                     hard_config=pop_hard_config(options, hard_config), **extra, **options)

