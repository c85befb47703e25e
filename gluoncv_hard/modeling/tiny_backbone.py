"""The tiny network's offline-pretrained backbone: the patch classifier it is trained in, and
the file that carries it into the detector (``pretrained_base=True`` with ``network='tiny'``).

The file holds the ``features`` parameters only (BatchNorm statistics included), named as in the
detector's ``net._collect_params_with_prefix()`` (``features.0.0.weight`` ...), written with
``mx.nd.save``; its JSON sidecar (same name, ``.json``) records how it was trained and the
file's size and SHA-256, which loading checks. The package ships it as
``gluoncv_hard/modeling/weights/tiny_face_backbone.params`` once built (:data:`BUILD_COMMAND`);
:data:`BACKBONE_ENV` points the loader to another file. See docs/pretrained_backbone.md.
"""
import json
import os

import mxnet as mx
from mxnet.gluon import nn

from gluoncv_hard.errors import InputError, InputNotFoundError
from gluoncv_hard.modeling import tiny
from gluoncv_hard.utils.atomic import atomic_outputs
from gluoncv_hard.utils.digest import file_digest

__all__ = ['BACKBONE_ENV', 'SHIPPED_BACKBONE', 'BUILD_COMMAND', 'FEATURES_PREFIX', 'FORMAT',
           'TinyPatchClassifier', 'backbone_path', 'backbone_sidecar_path', 'features_arrays',
           'save_backbone', 'read_backbone', 'load_backbone']

BACKBONE_ENV = 'GLUONCV_HARD_TINY_BACKBONE'
SHIPPED_BACKBONE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'weights',
                                'tiny_face_backbone.params')
BUILD_COMMAND = 'gluoncv-hard-pretrain-tiny --out gluoncv_hard/modeling/weights/' \
                'tiny_face_backbone.params'
# The detector's attribute, hence the start of every parameter name in the file.
FEATURES_PREFIX = 'features.'
FORMAT = 'gluoncv_hard.tiny_backbone'
FORMAT_VERSION = 1


class TinyPatchClassifier(nn.HybridBlock):
    """The tiny detector's ``features`` (``tiny.tiny_c4_parts()``), global average pooling and
    a dense layer: the network the backbone is pretrained in.

    The block is an attribute named ``features``, as in the detector, so its parameters carry
    the detector's structural names and shapes.

    Parameters
    ----------
    num_classes : int

    Input ``(B, 3, H, W)`` float32 (normalized RGB), output ``(B, num_classes)`` logits.
    """

    def __init__(self, num_classes, **kwargs):
        super().__init__(**kwargs)
        features, _, _ = tiny.tiny_c4_parts()
        with self.name_scope():
            self.features = features
            self.pool = nn.GlobalAvgPool2D()
            self.output = nn.Dense(num_classes)

    def hybrid_forward(self, F, x):
        return self.output(self.pool(self.features(x)))


def backbone_path():
    """The file ``pretrained_base`` loads: ``$GLUONCV_HARD_TINY_BACKBONE`` if set, else the
    shipped :data:`SHIPPED_BACKBONE`."""
    return os.environ.get(BACKBONE_ENV) or SHIPPED_BACKBONE


def backbone_sidecar_path(params_path):
    """``NAME.json`` for ``NAME.params``."""
    return os.path.splitext(params_path)[0] + '.json'


def features_arrays(net):
    """``{name: NDArray on the CPU}`` of the ``features`` parameters of ``net`` (a detector or a
    :class:`TinyPatchClassifier`), named as in ``net._collect_params_with_prefix()``."""
    return {name: param.data().copyto(mx.cpu())
            for name, param in sorted(net._collect_params_with_prefix().items())
            if name.startswith(FEATURES_PREFIX)}


def save_backbone(path, arrays, info):
    """Write ``arrays`` (from :func:`features_arrays`) and the sidecar, atomically as a set.

    Parameters
    ----------
    path : str
        ``NAME.params``; the sidecar is ``NAME.json``.
    arrays : dict
        ``name -> NDArray``, every name starting with ``features.``.
    info : dict
        JSON-serializable facts about the training, merged into the sidecar.

    Returns
    -------
    dict
        The sidecar as written.
    """
    if not path.endswith('.params'):
        raise InputError('{}: the backbone file must be named NAME.params (its sidecar is '
                         'NAME.json)'.format(path), param='out')
    if not arrays or any(not name.startswith(FEATURES_PREFIX) for name in arrays):
        raise ValueError('save_backbone needs features.* parameters, got {}'.format(
            sorted(arrays)[:3]))
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with atomic_outputs(path, backbone_sidecar_path(path)) as (params_temp, sidecar_temp):
        mx.nd.save(params_temp, arrays)
        sidecar = dict(info, format=FORMAT, format_version=FORMAT_VERSION, network='tiny',
                       params_file=os.path.basename(path), params=file_digest(params_temp),
                       parameters={name: list(value.shape)
                                   for name, value in sorted(arrays.items())})
        with open(sidecar_temp, 'w', encoding='utf-8') as f:
            f.write(json.dumps(sidecar, indent=1, sort_keys=True) + '\n')
    return sidecar


def _absent_message(path):
    if path == SHIPPED_BACKBONE:
        where = 'this installation has no pretrained tiny backbone ({} is absent)'.format(path)
    else:
        where = '{} (from ${}) does not exist'.format(path, BACKBONE_ENV)
    return ('{}; build it from the demo sources with `{}` (in a source checkout; or '
            '`gluoncv-hard-pretrain-tiny --out FILE` and set {}=FILE), or train the tiny network '
            'from scratch (pretrained_base off)'.format(where, BUILD_COMMAND, BACKBONE_ENV))


def read_backbone(path=None, param='pretrained_base'):
    """The verified arrays and sidecar of a backbone file.

    Parameters
    ----------
    path : str, optional
        Default :func:`backbone_path`.
    param : str
        The caller's parameter that asked for the file, named by the errors.

    Returns
    -------
    (dict, dict)
        ``{name: NDArray}`` and the sidecar.

    Raises
    ------
    InputError
        ``InputNotFoundError`` when the file or its sidecar is absent (the message names the
        command that builds it), ``InputError`` when the sidecar is not one of a tiny backbone
        or the file is not the one it describes (size or SHA-256: a damaged or replaced file).
    """
    path = backbone_path() if path is None else path
    if not os.path.isfile(path):
        raise InputNotFoundError(_absent_message(path), param=param)
    sidecar_file = backbone_sidecar_path(path)
    if not os.path.isfile(sidecar_file):
        raise InputNotFoundError('{}: its sidecar {} is missing, so the file cannot be checked; '
                                 'rebuild both with `{}`'.format(path, sidecar_file,
                                                                 BUILD_COMMAND), param=param)
    try:
        with open(sidecar_file, encoding='utf-8') as f:
            sidecar = json.load(f)
    except (ValueError, UnicodeDecodeError) as e:
        raise InputError('{}: not valid JSON ({:.200}); rebuild the backbone with `{}`'.format(
            sidecar_file, str(e), BUILD_COMMAND), param=param) from None
    if not isinstance(sidecar, dict) or sidecar.get('format') != FORMAT \
            or not isinstance(sidecar.get('params'), dict):
        raise InputError('{} is not the sidecar of a tiny backbone (format {!r}); rebuild the '
                         'backbone with `{}`'.format(sidecar_file, FORMAT, BUILD_COMMAND),
                         param=param)
    actual = file_digest(path)
    expected = {key: sidecar['params'].get(key) for key in ('bytes', 'sha256')}
    if actual != expected:
        raise InputError('{} is not the file its sidecar {} describes ({} bytes, SHA-256 {}; '
                         'the sidecar says {} bytes, {}): it was damaged or replaced; rebuild '
                         'it with `{}`'.format(path, sidecar_file, actual['bytes'],
                                               actual['sha256'], expected['bytes'],
                                               expected['sha256'], BUILD_COMMAND), param=param)
    try:
        arrays = mx.nd.load(path)
    except mx.base.MXNetError as e:
        raise InputError('{} is not an MXNet parameter file ({}); rebuild it with `{}`'.format(
            path, str(e).strip().splitlines()[0], BUILD_COMMAND), param=param) from None
    if not isinstance(arrays, dict):
        raise InputError('{} holds unnamed arrays, not named parameters; rebuild it with '
                         '`{}`'.format(path, BUILD_COMMAND), param=param)
    return arrays, sidecar


def load_backbone(net, path=None, param='pretrained_base'):
    """Give the ``features`` parameters of a tiny network the values of a backbone file.

    Only ``features.*`` is set (shapes included, so deferred parameters need no forward pass);
    every other parameter is left uninitialized for the caller's usual initialization
    (``engine.networks.initialize_missing`` leaves set values alone). Values of parameters not
    yet initialized are put on the CPU; move them with ``net.collect_params().reset_ctx``.

    Parameters
    ----------
    net : gluon.Block
        A detector of ``network='tiny'`` or a :class:`TinyPatchClassifier`.
    path : str, optional
        Default :func:`backbone_path`.

    Returns
    -------
    dict
        The file's sidecar.

    Raises
    ------
    InputError
        As :func:`read_backbone`, and when the file's parameter names or shapes differ from the
        network's.
    """
    path = backbone_path() if path is None else path
    arrays, sidecar = read_backbone(path, param=param)
    own = {name: p for name, p in net._collect_params_with_prefix().items()
           if name.startswith(FEATURES_PREFIX)}
    if set(arrays) != set(own):
        missing, extra = sorted(set(own) - set(arrays)), sorted(set(arrays) - set(own))
        raise InputError('{} does not fit this network: {}{}; was it built for another '
                         'version of the tiny network? Rebuild it with `{}`'.format(
                             path, 'missing {}'.format(', '.join(missing[:4])) if missing else '',
                             '{}unexpected {}'.format('; ' if missing else '',
                                                      ', '.join(extra[:4])) if extra else '',
                             BUILD_COMMAND), param=param)
    for name, value in sorted(arrays.items()):
        shape = own[name].shape
        if len(shape) != len(value.shape) or any(
                mine not in (0, saved) for mine, saved in zip(shape, value.shape)):
            raise InputError('{}: {} has shape {} in the file, {} in this network; rebuild it '
                             'with `{}`'.format(path, name, value.shape, shape, BUILD_COMMAND),
                             param=param)
    for name, value in arrays.items():
        # What Block.load_parameters does per parameter: sets the shape and the value, also
        # of a parameter whose initialization is still deferred (on its context, else the CPU).
        own[name]._load_init(value.astype(own[name].dtype), None)
    return sidecar
