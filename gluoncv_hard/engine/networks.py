"""Rebuild a trained network from its checkpoint, and initialize what a checkpoint left empty."""
import os

import mxnet as mx

from gluoncv_hard.core.config import HardConfig, pop_hard_config
from gluoncv_hard.engine.checkpoint import check_params_file, check_sidecar_matches, read_sidecar
from gluoncv_hard.errors import InputError, InputNotFoundError
from gluoncv_hard.modeling.zoo import build_network

__all__ = ['load_trained_network', 'initialize_missing']


def load_trained_network(params_path, ctx, network=None, classes=None, use_fpn=None,
                         **overrides):
    """Rebuild a network trained by ``train_faster_rcnn.py`` (or any GluonCV checkpoint).

    The checkpoint's JSON sidecar supplies the network, classes and options; for a bare
    ``.params`` file (e.g. from stock GluonCV) pass ``network`` and ``classes``.
    Returns ``(net, sidecar_or_None)`` with parameters on ``ctx``.

    Raises ``InputError`` naming the parameter at fault (``param``): ``params_path`` when the
    file is missing (``InputNotFoundError``), unreadable, not finite, made for another number of
    classes or not the file its sidecar describes (size and SHA-256), ``network`` when nothing
    says which network it is.
    """
    if not os.path.isfile(params_path):
        raise InputNotFoundError('{} does not exist'.format(params_path), param='params_path')
    sidecar = read_sidecar(params_path, param='params_path')
    check_sidecar_matches(params_path, sidecar, param='params_path')
    sidecar = sidecar or {}
    network = network or sidecar.get('network')
    classes = classes or sidecar.get('classes')
    use_fpn = sidecar.get('use_fpn', False) if use_fpn is None else use_fpn
    if not network or not classes:
        raise InputError('{} has no JSON sidecar naming its network and classes; give network '
                         'and classes'.format(params_path), param='network')
    options = {k: v for k, v in sidecar.get('network_options', {}).items()}
    # Hard keyword overrides change single fields of the saved config; hard_config replaces it.
    options['hard_config'] = pop_hard_config(overrides, overrides.pop('hard_config', None),
                                             base=HardConfig.from_sidecar(sidecar.get('hard')))
    options.update(overrides)
    check_params_file(params_path, len(classes), param='params_path')
    net = build_network(network, classes, use_fpn=use_fpn, **options)
    net.load_parameters(params_path, ctx=ctx, ignore_extra=True)
    return net, (sidecar or None)


def initialize_missing(net, ctx):
    """Initialize every parameter that holds no value yet (layer-specific initializers win;
    Xavier for the rest, which suits backbones trained from scratch).

    Parameters without an initializer of their own that are biases or norms (those of GluonCV's
    FPN, a SymbolBlock, whose shapes are not even known yet) get zeros, or ones for scales and
    variances: Xavier needs a matrix.
    """
    for param in net.collect_params().values():
        if param._data is None:
            param.initialize(default_init=_default_init(param), ctx=ctx)


def _default_init(param):
    if param.init is None and param.name.endswith(('bias', 'beta', 'running_mean',
                                                   'moving_mean')):
        return mx.init.Zero()
    if param.init is None and param.name.endswith(('gamma', 'running_var', 'moving_var')):
        return mx.init.One()
    return mx.init.Xavier()
