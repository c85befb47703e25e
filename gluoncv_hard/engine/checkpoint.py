"""Checkpoints: parameters, trainer state and a JSON sidecar, written together atomically.

A checkpoint ``PREFIX_TAG`` is three files: ``PREFIX_TAG.params`` (network parameters, loadable
by any GluonCV Faster R-CNN of the same architecture), ``PREFIX_TAG.states`` (optimizer state, for
resuming) and ``PREFIX_TAG.json`` (epoch, schedule, classes, network and hard options).
"""
import json
import os

import mxnet as mx

from gluoncv_hard.errors import InputError, InputNotFoundError
from gluoncv_hard.utils.atomic import atomic_outputs

__all__ = ['save_checkpoint', 'read_sidecar', 'check_params_file', 'load_matching_params',
           'sidecar_path']

CLASS_PREDICTOR_KEY = 'class_predictor.weight'


def sidecar_path(params_path):
    """``PREFIX_TAG.json`` for ``PREFIX_TAG.params``."""
    return os.path.splitext(params_path)[0] + '.json'


def save_checkpoint(prefix, tag, net, trainer, state):
    """Write ``PREFIX_TAG.{params,states,json}``; returns the ``.params`` path.

    Either all three files are replaced or none: a crash (or a NaN stop) never leaves a
    checkpoint whose parts disagree.
    """
    base = '{}_{}'.format(prefix, tag)
    paths = [base + '.params', base + '.states', base + '.json']
    with atomic_outputs(*paths) as (params_tmp, states_tmp, json_tmp):
        net.save_parameters(params_tmp)
        if trainer is not None:
            trainer.save_states(states_tmp)
        with open(json_tmp, 'w', encoding='utf-8') as f:
            json.dump(dict(state, params=os.path.basename(paths[0])), f, indent=1,
                      sort_keys=True)
    return paths[0]


def read_sidecar(params_path):
    """The JSON sidecar of a checkpoint as a dict, or None when there is none.

    Raises ``InputError`` if the sidecar is not valid JSON.
    """
    path = sidecar_path(params_path)
    if not os.path.isfile(path):
        return None
    with open(path, encoding='utf-8') as f:
        try:
            return json.load(f)
        except ValueError as e:
            raise InputError('{}: not valid JSON ({}); delete it to resume without the saved '
                             'schedule'.format(path, e)) from None


def _load(params_path, param):
    if not os.path.isfile(params_path):
        raise InputNotFoundError('{} does not exist'.format(params_path), param=param)
    try:
        return mx.nd.load(params_path)
    except mx.base.MXNetError as e:
        raise InputError('{} is not an MXNet parameter file: {}'.format(
            params_path, str(e).splitlines()[0]), param=param) from None


def check_params_file(params_path, num_class, param='resume'):
    """Fail early, with a clear message, when a checkpoint has another number of classes.

    Returns the loaded parameters (``{name: NDArray}``). The errors (``InputError``; missing
    file: ``InputNotFoundError``) name ``param``, the caller's parameter that gave the path.
    """
    params = _load(params_path, param)
    weight = params.get(CLASS_PREDICTOR_KEY)
    if weight is not None and weight.shape[0] != num_class + 1:
        raise InputError(
            '{} was trained for {} classes but the data set has {}; give the class list it was '
            'trained with (classes), or initialize from it (init) to fine-tune it for new '
            'classes'.format(params_path, weight.shape[0] - 1, num_class), param=param)
    return params


def load_matching_params(net, params_path, param='init', with_reasons=False):
    """Load every parameter whose name and shape match; return those left as initialized.

    For fine-tuning from our checkpoints or any GluonCV Faster R-CNN's ``net.save_parameters``
    file: a class predictor made for other classes is skipped (keeping its fresh
    initialization) instead of failing. Every parameter of ``net`` needs its shape: run one
    forward pass or :func:`gluoncv_hard.modeling.zoo.infer_parameter_shapes` first (values of
    deferred parameters are kept until their first forward). The errors (``InputError``) name
    ``param``, the caller's parameter that gave the path.

    Returns
    -------
    list
        The names of the parameters not loaded; with ``with_reasons``, ``(name, reason)`` pairs
        (``'not in the file'`` or ``'shape (4, 1024) in the file, (8, 1024) here'``).
    """
    saved = _load(params_path, param)
    own = net._collect_params_with_prefix()
    skipped = []
    for name, parameter in own.items():
        value = saved.get(name)
        if value is None:
            skipped.append((name, 'not in the file'))
        elif not _fits(value.shape, parameter.shape):
            skipped.append((name, 'shape {} in the file, {} here'.format(value.shape,
                                                                       parameter.shape)))
        else:
            parameter.set_data(value.astype(parameter.dtype))
    if len(skipped) == len(own):
        raise InputError('{}: no parameter matches this network ({}); was it saved from another '
                         'architecture?'.format(params_path, type(net).__name__), param=param)
    return skipped if with_reasons else [name for name, _ in skipped]


def _fits(saved_shape, own_shape):
    """A saved value fits a parameter of the same shape; 0 (not inferred yet) matches any
    size, so a parameter whose shape is still partly unknown takes the saved one."""
    return len(saved_shape) == len(own_shape) and all(
        own in (0, saved) for saved, own in zip(saved_shape, own_shape))
