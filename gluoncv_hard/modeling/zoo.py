"""The model zoo: build a hard-aware Faster R-CNN by GluonCV name, tiny name or ``--network``.

FPN networks are built by GluonCV's FPN Faster R-CNN builder,
``gluoncv.model_zoo.rcnn.faster_rcnn.faster_rcnn.custom_faster_rcnn_fpn``, with
:data:`FPN_DEFAULTS`. (GluonCV 0.10.5's ``model_zoo.get_model('custom_faster_rcnn_fpn')`` is
registered to its DoubleHeadRCNN builder instead, which is not a Faster R-CNN.)
"""
import os
import warnings

import gluoncv
import mxnet as mx
import numpy as np
from gluoncv.model_zoo.rcnn.faster_rcnn import faster_rcnn as gluoncv_faster_rcnn
from gluoncv.model_zoo.rcnn.faster_rcnn.faster_rcnn import FasterRCNN

from gluoncv_hard.core.config import pop_hard_config
from gluoncv_hard.errors import InputError, SetupError
from gluoncv_hard.modeling import tiny, tiny_backbone
from gluoncv_hard.modeling.faster_rcnn import HardFasterRCNN
from gluoncv_hard.modeling.rpn import pad_proposals

__all__ = ['get_model', 'TINY_NETWORKS', 'NETWORKS', 'C4_BACKBONES', 'FPN_BACKBONES',
           'FPN_DEFAULTS', 'zoo_name', 'build_network', 'check_pretrained_base',
           'input_size_problems', 'smallest_input_side', 'check_input_size',
           'infer_parameter_shapes']

TINY_NETWORKS = {
    'tiny': (tiny.tiny_c4_parts, tiny.TINY_DEFAULTS),
    'tiny_fpn': (tiny.tiny_fpn_parts, tiny.TINY_FPN_DEFAULTS),
}

# GluonCV backbones with a "custom classes" builder: C4 (faster_rcnn_NAME_custom) and FPN
# (custom_faster_rcnn_fpn, which knows these three).
C4_BACKBONES = ('resnet50_v1b', 'resnet101_v1d')
FPN_BACKBONES = ('resnet50_v1b', 'resnet101_v1d', 'resnet18_v1b')
# --network values.
NETWORKS = tuple(TINY_NETWORKS) + ('resnet50_v1b', 'resnet101_v1d', 'resnet18_v1b')

# The FPN network that GluonCV's train_faster_rcnn.py builds (its ``custom-model`` defaults,
# with the stage settings it passes: min_stage=2, max_stage=6). rpn_channel is 1024 as in
# GluonCV's faster_rcnn_fpn_resnet50_v1b_coco (the script's default is 256), so the backbone,
# FPN and RPN of GluonCV's published COCO FPN weights load into it by --init. Its box head
# (average pool, two 1024-unit layers) is the builder's and differs from those weights'.
FPN_DEFAULTS = dict(
    short=800, max_size=1333, min_stage=2, max_stage=6, nms_thresh=0.5, nms_topk=-1,
    post_nms=-1, roi_mode='align', roi_size=(7, 7), strides=(4, 8, 16, 32, 64), clip=4.14,
    rpn_channel=1024, base_size=16, scales=(2, 4, 8, 16, 32), ratios=(0.5, 1, 2),
    alloc_size=(384, 384), rpn_nms_thresh=0.7, rpn_train_pre_nms=12000, rpn_train_post_nms=2000,
    rpn_test_pre_nms=6000, rpn_test_post_nms=1000, rpn_min_size=1, num_sample=512,
    pos_iou_thresh=0.5, pos_ratio=0.25, max_num_gt=100)

_FPN_NAME = 'faster_rcnn_fpn_{}_custom'
_GLUONCV_FPN_NAME = 'custom_faster_rcnn_fpn'


def get_model(name, classes=None, hard_config=None, **kwargs):
    """Build a :class:`HardFasterRCNN`.

    Parameters
    ----------
    name : str
        ``'tiny'`` or ``'tiny_fpn'`` (small CPU networks, see :mod:`gluoncv_hard.modeling.tiny`;
        need ``classes``); ``'faster_rcnn_fpn_BACKBONE_custom'`` (BACKBONE one of
        :data:`FPN_BACKBONES`; needs ``classes``): GluonCV's FPN Faster R-CNN with
        :data:`FPN_DEFAULTS`, as upstream's train script builds it; ``'custom_faster_rcnn_fpn'``
        (with ``base_network_name``): the same (GluonCV's own ``get_model`` maps this name to
        DoubleHeadRCNN); or a GluonCV Faster R-CNN name such as
        ``'faster_rcnn_resnet50_v1b_voc'``, ``'faster_rcnn_fpn_resnet50_v1b_coco'`` or
        ``'faster_rcnn_resnet50_v1b_custom'`` (the ``*_custom`` ones take ``classes``). GluonCV
        downloads weights for ``pretrained=True`` and ``pretrained_base=True``; offline, pass
        ``pretrained_base=False`` and load local parameters with ``net.load_parameters``.
        ``'tiny'`` with ``pretrained_base=True`` loads the offline-pretrained backbone
        (:mod:`gluoncv_hard.modeling.tiny_backbone`) into ``features``; ``'tiny_fpn'`` has none.
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
        kwargs.pop('pretrained', None)  # no whole tiny detector is pretrained
        pretrained_base = kwargs.pop('pretrained_base', False)
        net = pad_proposals(HardFasterRCNN(
            features, top_features, list(classes), box_features=box_features,
            hard_config=hard_config, **dict(defaults, **kwargs)))
        if pretrained_base:
            # Only the backbone gets values; the rest is left to the caller's initialization
            # (initialize_missing leaves these alone).
            tiny_backbone.load_backbone(net, check_pretrained_base(name))
        return net
    backbone = _fpn_backbone(name, kwargs)
    if backbone is not None:
        if not classes:
            raise InputError("network {!r} needs classes=[...]".format(name), param='classes')
        net = _build_fpn(backbone, list(classes), **kwargs)
    else:
        if classes is not None:
            kwargs['classes'] = list(classes)
        net = gluoncv.model_zoo.get_model(name, **kwargs)
    if not isinstance(net, FasterRCNN):
        raise InputError('{!r} is not a Faster R-CNN network'.format(name), param='name')
    return pad_proposals(HardFasterRCNN.from_gluoncv(net, hard_config=hard_config))


def _fpn_backbone(name, kwargs):
    """The backbone of an FPN name (popping ``base_network_name`` from ``kwargs``), else None."""
    if name == _GLUONCV_FPN_NAME:
        backbone = kwargs.pop('base_network_name', 'resnet18_v1b')  # GluonCV's default
    elif name.startswith('faster_rcnn_fpn_') and name.endswith('_custom'):
        backbone = name[len('faster_rcnn_fpn_'):-len('_custom')]
    else:
        return None
    if backbone not in FPN_BACKBONES:
        raise InputError('{!r}: no FPN Faster R-CNN for backbone {!r}; backbones: {}'.format(
            name, backbone, ', '.join(FPN_BACKBONES)), param='name')
    return backbone


def _build_fpn(backbone, classes, **kwargs):
    """GluonCV's FPN Faster R-CNN (``custom_faster_rcnn_fpn``) with :data:`FPN_DEFAULTS`."""
    if kwargs.pop('transfer', None) is not None:
        raise InputError('transfer would download a GluonCV COCO network; build without it and '
                         'load local weights instead (init, or net.load_parameters)',
                         param='transfer')
    with warnings.catch_warnings():
        # Building the FPN's SymbolBlock always warns that the input type is unknown (it is
        # float32, decided at the first forward).
        warnings.filterwarnings('ignore', message='Cannot decide type for the following')
        return gluoncv_faster_rcnn.custom_faster_rcnn_fpn(
            classes, transfer=None, base_network_name=backbone,
            **dict(FPN_DEFAULTS, **kwargs))


def zoo_name(network, use_fpn):
    """The :func:`gluoncv_hard.get_model` name and extra keyword arguments for ``--network``."""
    if network in TINY_NETWORKS:
        return ('tiny_fpn' if use_fpn or network == 'tiny_fpn' else 'tiny'), {}
    if use_fpn:
        if network not in FPN_BACKBONES:
            raise InputError('network {!r} has no FPN variant; with use_fpn: {}'.format(
                network, ', '.join(('tiny',) + FPN_BACKBONES)), param='network')
        return _FPN_NAME.format(network), {}
    if network in C4_BACKBONES:
        return 'faster_rcnn_{}_custom'.format(network), {}
    raise InputError('network {!r} without use_fpn is not available; C4 networks: {}; FPN '
                     'networks (use_fpn): {}'.format(
                         network, ', '.join(('tiny',) + C4_BACKBONES),
                         ', '.join(('tiny_fpn',) + FPN_BACKBONES)), param='network')


def check_pretrained_base(network, use_fpn=False):
    """The pretrained backbone of ``network`` must already be on disk (no downloads here);
    returns its path.

    ``tiny``: the offline-pretrained backbone (``modeling.tiny_backbone``: the shipped file or
    ``$GLUONCV_HARD_TINY_BACKBONE``), checked against its sidecar's SHA-256. ``tiny_fpn`` has
    none. Other networks: GluonCV's ImageNet weights in ``$MXNET_HOME/models``.
    """
    if network in TINY_NETWORKS:
        if zoo_name(network, use_fpn)[0] != 'tiny':
            raise InputError('the tiny_fpn network has no pretrained backbone (only tiny has '
                             'one)', param='pretrained_base')
        path = tiny_backbone.backbone_path()
        tiny_backbone.read_backbone(path)
        return path
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
    ``options`` are GluonCV network arguments (e.g. ``short``, ``max_size``). ``pretrained_base``
    needs the backbone on disk (:func:`check_pretrained_base`); for ``tiny`` its values are in
    ``net.features`` on return, the rest is uninitialized as without it.

    Raises ``InputError`` (``param='short'``) when the network cannot train on images of its
    ``short``/``max_size`` (see :func:`check_input_size`).
    """
    name, extra = zoo_name(network, use_fpn)
    if pretrained_base:
        check_pretrained_base(network, use_fpn)  # before building: the error comes first
    extra['pretrained_base'] = pretrained_base
    if name not in TINY_NETWORKS and name != _FPN_NAME.format(network):
        extra['transfer'] = None
    net = get_model(name, classes=list(classes), per_device_batch_size=per_device_batch_size,
                    hard_config=pop_hard_config(options, hard_config), **extra, **options)
    check_input_size(net, network + (' (FPN)' if use_fpn and network != 'tiny_fpn' else ''))
    return net


def _input_side(net):
    """Side of the smallest square input the network's resize makes from a square image."""
    short = min(net.short) if isinstance(net.short, (tuple, list)) else net.short
    return int(min(short, net.max_size))


def _feature_group(net):
    features = net.features(mx.sym.var('data'))
    return mx.sym.Group(list(features) if isinstance(features, (list, tuple)) else [features])


def _level_anchors(net):
    """The RPN's pre-generated anchors per feature level, ``(alloc_h, alloc_w, A, 4)`` each."""
    generators = net.rpn.anchor_generator
    generators = list(generators) if isinstance(generators, mx.gluon.nn.HybridSequential) \
        else [generators]
    levels = []
    for generator in generators:
        value = generator.anchors.value.asnumpy()  # a Constant: known before initialization
        levels.append(value.reshape(value.shape[2], value.shape[3], -1, 4))
    return levels


def input_size_problems(net, height, width):
    """Why ``net`` cannot train on a ``height x width`` input: a list of sentences, empty when
    it can.

    An input that no anchor fits inside gives the RPN nothing to learn from: training ignores
    anchors that cross the border, so every anchor is ignored and the RPN loss is 0 / 0. (Fewer
    anchors than the RPN keeps proposals is fine: see :mod:`gluoncv_hard.modeling.rpn`.)
    """
    try:
        shapes = _feature_group(net).infer_shape(data=(1, 3, height, width))[1]
    except mx.base.MXNetError as e:
        return ['a {}x{} input is smaller than its layers need ({})'.format(
            width, height, str(e).strip().splitlines()[0])]
    inside = 0
    for level, shape in zip(_level_anchors(net), shapes):
        anchors = level[:shape[2], :shape[3]].reshape(-1, 4)
        inside += int(np.count_nonzero((anchors[:, 0] >= 0) & (anchors[:, 1] >= 0)
                                       & (anchors[:, 2] < width) & (anchors[:, 3] < height)))
    if inside:
        return []
    sizes = np.concatenate([level[0, 0, :, 2:] - level[0, 0, :, :2]
                            for level in _level_anchors(net)])
    smallest = float(np.sqrt(sizes.prod(axis=1).min()))
    return ['no RPN anchor lies inside a {}x{} input (the smallest cover about {:.0f}x{:.0f} '
            'pixels), so the RPN has nothing to train on'.format(width, height, smallest,
                                                                 smallest)]


def smallest_input_side(net, start=16, step=16, limit=4096):
    """The smallest square input side (a multiple of ``step``, from ``start``) that ``net``
    can train on (see :func:`input_size_problems`), or None up to ``limit``."""
    for side in range(start, limit + 1, step):
        if not input_size_problems(net, side, side):
            return side
    return None


def check_input_size(net, label=None):
    """Raise ``InputError`` (``param='short'``) unless ``net`` can train on the smallest input
    its ``short``/``max_size`` make of a square image; returns that input's side.

    The message names the smallest ``short`` that works: anchors are not made smaller for small
    inputs, the network stays the one GluonCV builds.
    """
    side = _input_side(net)
    problems = input_size_problems(net, side, side)
    if problems:
        smallest = smallest_input_side(net, start=side + 16 - side % 16)
        raise InputError('short={} (max_size {}) is too small for {}: {}; {}'.format(
            net.short, net.max_size, label or type(net).__name__, ' and '.join(problems),
            'use short and max_size of at least {}'.format(smallest) if smallest else
            'use larger images'), param='short')
    return side


def infer_parameter_shapes(net, ctx=None):
    """Give every deferred parameter of ``net`` its shape without running the network (one
    symbolic shape inference on the smallest input its ``short``/``max_size`` give), so that
    values can be loaded by name and shape before the first forward."""
    side = _input_side(net)
    net.infer_shape(mx.nd.zeros((1, 3, side, side), ctx=ctx))
