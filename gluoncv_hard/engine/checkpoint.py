"""Checkpoints: parameters, optimizer state and a JSON sidecar, valid only as a whole set.

A checkpoint ``PREFIX_TAG`` is three files, written together (:func:`save_checkpoint`):

- ``PREFIX_TAG.params``: the network's parameters in MXNet's NDArray format, loadable by any
  GluonCV Faster R-CNN of the same architecture (``net.load_parameters``);
- ``PREFIX_TAG.states``: the optimizer's state arrays (SGD momentum; float32 master weights
  under AMP) in the same NDArray format. It is **not** what MXNet's ``Trainer.save_states``
  writes: that is a Python pickle, and unpickling a file can run any code in it;
- ``PREFIX_TAG.json``, the sidecar, written last: epoch, schedule, classes, network and hard
  options, the optimizer's counters and the layout of its state arrays, the RCNN samplers'
  random generator states, and the size and SHA-256 of the two other files.

The sidecar is the commit record: a set whose ``.params`` or ``.states`` differ from what their
sidecar says (a run killed between two renames, files copied between checkpoints, a truncated
copy) is refused by :func:`verify_checkpoint`, which ``resume`` uses. Nothing here unpickles:
``.states`` files in MXNet's pickle format (older gluoncv-hard versions) are refused.

Both NDArray files are written by Python (:func:`save_ndarrays`, the bytes of ``mx.nd.save``):
MXNet ignores the error of its final flush, so a disk that fills up at the end of its write
leaves a short file and no error, which the sidecar would then certify as whole. Every write
error is an ``OSError`` naming the checkpoint file.

**Two-phase commit: a save cut at any point leaves a whole set.** Replacing ``PREFIX_TAG``
(``_last`` every epoch, ``_best``) takes three renames, and a SIGKILL or power cut between two
of them leaves a mixed set. So :func:`save_checkpoint`, once the new files are written and
flushed as temporaries:

1. keeps the current set as ``PREFIX_TAG.prev.{params,states,json}`` (hard links, copies where
   the file system has none; the sidecar last, so ``.prev.json`` exists only beside a complete
   copy). If a ``.prev.json`` is already there and the current set is not whole, a save was cut
   in step 2: that previous set is the whole one and is kept as it is;
2. renames the new files onto ``PREFIX_TAG.*``, the sidecar last;
3. deletes the ``.prev`` set, its sidecar first.

Before step 2 ends ``PREFIX_TAG`` is the old whole set (or was never there); from step 2 on
``.prev`` is, until ``PREFIX_TAG`` is whole again. :func:`resumable_checkpoint` (what
``resume`` calls) takes ``PREFIX_TAG.params`` if its set is whole, else the ``.prev`` set if
that is whole, with a note saying so; it never takes a mixed set. A first save of a tag has no
previous set: cut between its renames it leaves no ``PREFIX_TAG`` to resume (the message names
the other whole checkpoints of the prefix). The trainer writes an epoch's metrics line just
before step 1 of its ``_last`` save (``before_commit``) and drops, on resume, the lines of the
epochs it trains again: the metrics file always matches the checkpoint that resume takes.

Test hook: with the environment variable ``GLUONCV_HARD_TEST_KILL_SAVE=TAG:EPOCH:STEP`` (unset
by default; for tests only) the process sends itself SIGKILL at step ``STEP`` of the save of
``PREFIX_TAG`` for that epoch: 0 once the new files are written and flushed, 1-3 after each
file of the previous set is kept, 4-6 after each rename of the new set, 7-9 after each deletion
of the previous set (steps 1-3 and 7-9 exist only when a previous set does).
"""
import contextlib
import errno
import json
import os
import re
import shutil
import signal
import struct
import tempfile

import mxnet as mx
import numpy as np

from gluoncv_hard.engine.divergence import non_finite_arrays
from gluoncv_hard.errors import InputError, InputNotFoundError, TrainingDiverged
from gluoncv_hard.utils.atomic import atomic_outputs, fsync_path, naming_errors, temp_prefix
from gluoncv_hard.utils.digest import file_digest

__all__ = ['save_checkpoint', 'save_ndarrays', 'read_sidecar', 'verify_checkpoint',
           'resumable_checkpoint', 'check_sidecar_matches', 'check_params_file',
           'load_matching_params', 'load_trainer_states', 'trainer_states',
           'find_whole_checkpoints', 'sidecar_path', 'states_path', 'previous_path',
           'file_digest', 'CHECKPOINT_FORMAT', 'CHECKPOINT_VERSION', 'KILL_HOOK_ENV']

CLASS_PREDICTOR_KEY = 'class_predictor.weight'
CHECKPOINT_FORMAT = 'gluoncv-hard-checkpoint'
CHECKPOINT_VERSION = 2
# The first 8 bytes of a file written by mx.nd.save (kMXAPINDArrayListMagic, little-endian).
NDARRAY_MAGIC = b'\x12\x01\x00\x00\x00\x00\x00\x00'
# Every pickle of protocol 2 or later (what MXNet's Trainer.save_states writes) starts so.
PICKLE_PROTO = b'\x80'
# Non-array entries of a .states file: the checkpoint's epoch (for messages about mixed sets).
_EPOCH_KEY = 'checkpoint:epoch'
_SHA256 = re.compile(r'^[0-9a-f]{64}$')
# PREFIX_TAG.prev.params: the set a save keeps until the new one is in place.
PREVIOUS_MARK = '.prev'
KILL_HOOK_ENV = 'GLUONCV_HARD_TEST_KILL_SAVE'


def sidecar_path(params_path):
    """``PREFIX_TAG.json`` for ``PREFIX_TAG.params``."""
    return os.path.splitext(params_path)[0] + '.json'


def states_path(params_path):
    """``PREFIX_TAG.states`` for ``PREFIX_TAG.params``."""
    return os.path.splitext(params_path)[0] + '.states'


def previous_path(params_path):
    """``PREFIX_TAG.prev.params`` for ``PREFIX_TAG.params``: where a save keeps the current set
    until the new one is in place (module docstring)."""
    base, ext = os.path.splitext(params_path)
    return base + PREVIOUS_MARK + ext


# ---------------------------------------------------------------------------------------------
# Optimizer state without pickle


def _updaters(trainer):
    """The updaters that hold the optimizer state: one per device, or the kvstore's one."""
    if not trainer._kv_initialized:
        trainer._init_kvstore()
    if trainer._params_to_init:
        trainer._init_params()
    if trainer._update_on_kvstore:
        return [trainer._kvstore._updater]
    return list(trainer._updaters)


def _flatten(state, arrays):
    """JSON layout of one parameter's optimizer state; its NDArrays are appended to arrays.

    Layout: ``None`` -> null, an NDArray -> its position in ``arrays``, a tuple/list -> a list of
    layouts (SGD: the momentum NDArray; under multi-precision ``(float32 weight, momentum)``).
    """
    if state is None:
        return None
    if isinstance(state, mx.nd.NDArray):
        arrays.append(state)
        return len(arrays) - 1
    if isinstance(state, (tuple, list)):
        return [_flatten(s, arrays) for s in state]
    raise TypeError('cannot save an optimizer state of type {}'.format(type(state).__name__))


def _unflatten(layout, arrays, used):
    if layout is None:
        return None
    if isinstance(layout, int) and not isinstance(layout, bool) and 0 <= layout < len(arrays):
        used.add(layout)
        return arrays[layout].copy()
    if isinstance(layout, list):
        return tuple(_unflatten(item, arrays, used) for item in layout)
    raise ValueError('layout entry {!r:.60} is neither null, an array index below {} nor a list'
                     .format(layout, len(arrays)))


def trainer_states(trainer):
    """The optimizer state of a ``gluon.Trainer`` (also Horovod's ``DistributedTrainer``) as
    ``(arrays, description)``: ``{key: NDArray}`` for ``mx.nd.save`` and a JSON-able dict of
    the optimizer's counters and the arrays' layout per parameter index."""
    updater = _updaters(trainer)[0]
    optimizer = trainer._optimizer
    flat, layout = [], {}
    for index in sorted(updater.states):
        if not isinstance(index, int):
            raise TypeError('optimizer state key {!r} is not a parameter index'.format(index))
        layout[str(index)] = _flatten(updater.states[index], flat)
    counts = getattr(optimizer, '_all_index_update_counts', {})
    description = {
        'optimizer': type(optimizer).__name__.lower(),
        'num_params': len(trainer._params),
        'num_update': int(optimizer.num_update),
        'begin_num_update': int(optimizer.begin_num_update),
        'index_update_counts': {str(device): {str(i): int(n) for i, n in per_index.items()}
                                for device, per_index in counts.items()},
        'layout': layout,
    }
    return {'state:{}'.format(i): a for i, a in enumerate(flat)}, description


def _int(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError('{} must be a non-negative integer, not {!r:.60}'.format(name, value))
    return value


def _restore(trainer, arrays, description):
    """Put saved optimizer state into ``trainer``; ValueError says what does not fit."""
    if not isinstance(description, dict):
        raise ValueError('the optimizer entry is not an object')
    name = type(trainer._optimizer).__name__.lower()
    if description.get('optimizer') != name:
        raise ValueError('it holds the state of optimizer {!r}, not {!r}'.format(
            description.get('optimizer'), name))
    if description.get('num_params') != len(trainer._params):
        raise ValueError('it holds the state of {} trainable parameters, this network has {}'
                         .format(description.get('num_params'), len(trainer._params)))
    layout = description.get('layout')
    counts = description.get('index_update_counts')
    if not isinstance(layout, dict) or not isinstance(counts, dict):
        raise ValueError('layout and index_update_counts must be objects')
    count = sum(1 for key in arrays if key.startswith('state:'))
    flat = [arrays.get('state:{}'.format(i)) for i in range(count)]
    if any(a is None for a in flat):
        raise ValueError('its arrays are not numbered state:0 to state:{}'.format(count - 1))
    states, used = {}, set()
    for key, entry in layout.items():
        if not key.isdigit() or int(key) >= len(trainer._params):
            raise ValueError('layout key {!r:.40} is not a parameter index'.format(key))
        index = int(key)
        state = _unflatten(entry, flat, used)
        shape = trainer._params[index].shape
        for array in state if isinstance(state, tuple) else (state,):
            # A parameter whose shape is not inferred yet (None, or 0 in a dimension: an FPN's
            # symbolic layers before the first forward) takes the saved shape.
            if array is not None and shape is not None and not _fits(array.shape, shape):
                raise ValueError('the state of parameter {} ({}) has shape {}, the parameter {}'
                                 .format(index, trainer._params[index].name, array.shape, shape))
        states[index] = state
    if len(used) != len(flat):
        raise ValueError('{} of its {} arrays belong to no parameter'.format(
            len(flat) - len(used), len(flat)))
    all_counts = {}
    for device, per_index in counts.items():
        if not isinstance(per_index, dict) or not device.lstrip('-').isdigit():
            raise ValueError('index_update_counts must map device ids to objects')
        all_counts[int(device)] = {int(i): _int(n, 'an update count')
                                   for i, n in per_index.items() if i.isdigit()}
    optimizer = trainer._optimizer
    num_update = _int(description.get('num_update'), 'num_update')
    begin = _int(description.get('begin_num_update'), 'begin_num_update')
    for updater in _updaters(trainer):
        # Each device's updater needs its own arrays; unsynced ones move to the weight's
        # device at the next update, as after MXNet's own load_states.
        updater.states = {i: _copy(s) for i, s in states.items()}
        updater.states_synced = dict.fromkeys(states, False)
    optimizer.num_update, optimizer.begin_num_update = num_update, begin
    optimizer._all_index_update_counts = all_counts or {0: {}}
    optimizer._index_update_count = next(iter(optimizer._all_index_update_counts.values()))


def _copy(state):
    if isinstance(state, tuple):
        return tuple(_copy(s) for s in state)
    return None if state is None else state.copy()


def load_trainer_states(trainer, params_path, sidecar, param='resume'):
    """Restore the optimizer state of the checkpoint ``params_path`` (verified with
    :func:`verify_checkpoint`, whose ``sidecar`` this is) into ``trainer``.

    Raises ``InputError`` (naming ``param``) when the state does not fit this trainer.
    """
    path = states_path(params_path)
    arrays = _load_ndarrays(path, param)
    try:
        _restore(trainer, arrays, sidecar.get('optimizer'))
    except ValueError as e:
        raise InputError('{}: the optimizer state does not fit this training ({}); resume with '
                         'the settings it was trained with, or start from its weights (init)'
                         .format(path, e), param=param) from None


# ---------------------------------------------------------------------------------------------
# Writing


def save_ndarrays(path, arrays):
    """Write ``{name: NDArray}`` to ``path`` as ``mx.nd.save`` does, to the same bytes, but with
    Python's file I/O: every failed write (also of the last buffered bytes) raises ``OSError``.

    The layout of MXNet's NDArray list file: the magic ``0x112`` and a reserved 0 (uint64 each),
    the number of arrays and each array as ``NDArray::Save`` writes it (what
    ``MXNDArraySaveRawBytes``, NDArray's pickling, returns), then the number of names and each
    name as a uint64 length and its bytes.
    """
    names = list(arrays)
    with open(path, 'wb') as f:
        f.write(NDARRAY_MAGIC + struct.pack('<QQ', 0, len(names)))
        for name in names:
            raw = arrays[name].__getstate__()['handle']
            if raw is None:
                raise ValueError('array {} has no data to save'.format(name))
            f.write(raw)
        f.write(struct.pack('<Q', len(names)))
        for name in names:
            encoded = name.encode('utf-8')
            f.write(struct.pack('<Q', len(encoded)) + encoded)


def _network_arrays(net):
    """What ``net.save_parameters`` saves: every parameter under its structural name, on the CPU
    (the mean over devices, as ``Parameter._reduce`` gives it)."""
    return {name: p._reduce() for name, p in net._collect_params_with_prefix().items()}


def save_checkpoint(prefix, tag, net, trainer, state, before_commit=None):
    """Write ``PREFIX_TAG.{params,states,json}``; returns the ``.params`` path.

    ``state`` is the JSON-able content of the sidecar (epoch, network, classes, ...); the files'
    sizes and SHA-256, the format and the optimizer's description are added. With ``trainer``
    None no ``.states`` is written (such a checkpoint cannot be resumed).

    Either the whole set is replaced or nothing: temporaries are written and flushed, then
    committed in two phases (module docstring), so a kill at any point leaves a whole set that
    :func:`resumable_checkpoint` finds. ``before_commit()``, if given, runs once the new files
    are written and before anything is renamed (the trainer appends its metrics line there); if
    it raises, nothing is committed. Raises ``TrainingDiverged`` (and writes nothing) if a
    parameter or optimizer state is not finite, and ``OSError`` naming the checkpoint file when
    a write fails (the existing set is then kept whole).
    """
    base = '{}_{}'.format(prefix, tag)
    params_file, states_file, json_file = base + '.params', base + '.states', base + '.json'
    arrays, description = trainer_states(trainer) if trainer is not None else ({}, None)
    bad = non_finite_arrays([(name, data) for name, p in net._collect_params_with_prefix().items()
                             for data in p.list_data()] +
                            [('optimizer state ' + k, a) for k, a in arrays.items()])
    bad = list(dict.fromkeys(bad))
    if bad:
        raise TrainingDiverged('{} not saved: {} {} not finite'.format(
            base, ', '.join(bad[:6]) + (' ...' if len(bad) > 6 else ''),
            'is' if len(bad) == 1 else 'are'))
    sidecar = dict(state, format=CHECKPOINT_FORMAT, format_version=CHECKPOINT_VERSION,
                   params=os.path.basename(params_file), optimizer=description, files={})
    outputs = [params_file] + ([states_file] if trainer is not None else []) + [json_file]
    epoch = state.get('epoch', -1)
    kill_point = _kill_hook(tag, epoch)
    with atomic_outputs(*outputs, replace=lambda temps, paths: _commit_keeping_previous(
            temps, paths, kill_point)) as temps:
        with naming_errors(params_file):
            save_ndarrays(temps[0], _network_arrays(net))
            sidecar['files']['params'] = dict(file_digest(temps[0]),
                                              name=os.path.basename(params_file))
        if trainer is not None:
            arrays[_EPOCH_KEY] = mx.nd.array([epoch if isinstance(epoch, int) else -1],
                                             dtype='int64')
            with naming_errors(states_file):
                save_ndarrays(temps[1], arrays)
                sidecar['files']['states'] = dict(file_digest(temps[1]),
                                                  name=os.path.basename(states_file))
        with naming_errors(json_file), open(temps[-1], 'w', encoding='utf-8') as f:
            json.dump(sidecar, f, indent=1, sort_keys=True)
        if before_commit is not None:
            before_commit()
    return params_file


def _kill_hook(tag, epoch):
    """``kill_point(step)``: SIGKILL this process at that step of the save of ``tag`` for
    ``epoch`` when :data:`KILL_HOOK_ENV` asks for it (a test hook; module docstring)."""
    wanted = os.environ.get(KILL_HOOK_ENV)

    def kill_point(step):
        if wanted and wanted == '{}:{}:{}'.format(tag, epoch, step):
            os.kill(os.getpid(), signal.SIGKILL)
    return kill_point


def _set_is_whole(paths):
    """Whether the set ``paths`` (``.params``[, ``.states``], ``.json`` last) on disk is the one
    its sidecar describes (sizes and SHA-256)."""
    try:
        with open(paths[-1], 'rb') as f:
            files = json.loads(f.read().decode('utf-8')).get('files')
        roles = ['params'] + (['states'] if len(paths) == 3 else [])
        for role, path in zip(roles, paths):
            entry = files[role]
            if file_digest(path) != {'bytes': entry['bytes'], 'sha256': entry['sha256']}:
                return False
        return True
    except (OSError, ValueError, UnicodeDecodeError, RecursionError, AttributeError, KeyError,
            TypeError):
        return False


def _remove_files(paths, kill_point=None, first_step=0):
    for k, path in enumerate(paths):
        with naming_errors(path):
            try:
                os.remove(path)
            except FileNotFoundError:
                pass
        if kill_point is not None:
            kill_point(first_step + k)


def _keep_copy(path, kept):
    """Make ``kept`` the same file as ``path``: a hard link, else (a file system without links)
    a copy through a temporary."""
    with naming_errors(kept):
        try:
            os.link(path, kept)
            return
        except FileExistsError:
            os.remove(kept)
            os.link(path, kept)
            return
        except OSError as e:
            if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS):
                raise
        directory, name = os.path.split(os.path.abspath(kept))
        fd, temp = tempfile.mkstemp(prefix=temp_prefix(name), suffix='.tmp', dir=directory)
        os.close(fd)
        try:
            shutil.copyfile(path, temp)
            fsync_path(temp)
            os.replace(temp, kept)
        finally:
            if os.path.exists(temp):
                os.remove(temp)


def _commit_keeping_previous(temps, paths, kill_point):
    """The renames of :func:`save_checkpoint`: keep the current set as ``.prev``, put the new
    one in place, delete ``.prev`` (module docstring). ``paths``' sidecar is last."""
    kept = [previous_path(path) for path in paths]
    kill_point(0)
    if not (os.path.exists(kept[-1]) and not _set_is_whole(paths)):
        # A stale or partial .prev (a kill in step 1 or 3) goes, sidecar first.
        _remove_files([kept[-1]] + kept[:-1])
        if os.path.exists(paths[-1]):
            try:
                for k, (path, keep) in enumerate(zip(paths, kept)):
                    if os.path.exists(path):
                        _keep_copy(path, keep)
                    kill_point(1 + k)
                directory = os.path.dirname(os.path.abspath(paths[0]))
                with naming_errors(directory):
                    fsync_path(directory, directory=True)
            except BaseException:
                # Nothing is renamed yet: the current set stays the whole one.
                with contextlib.suppress(OSError):
                    _remove_files([kept[-1]] + kept[:-1])
                raise
    for k, (temp, path) in enumerate(zip(temps, paths)):
        with naming_errors(path):
            os.replace(temp, path)
        kill_point(4 + k)
    directory = os.path.dirname(os.path.abspath(paths[0]))
    with naming_errors(directory):
        fsync_path(directory, directory=True)
    _remove_files([kept[-1]] + kept[:-1], kill_point, 7)


# ---------------------------------------------------------------------------------------------
# Reading and checking

# Sidecar fields and the JSON types they must have (absent is allowed: older sidecars).
_FIELD_TYPES = {
    'epoch': (int,), 'best_map': (int, float, type(None)), 'network': (str,),
    'use_fpn': (bool,), 'classes': (list,), 'hard': (dict, type(None)),
    'network_options': (dict,), 'seed': (int,), 'lr': (int, float), 'params': (str,),
    'format': (str,), 'format_version': (int,), 'files': (dict,),
    'optimizer': (dict, type(None)), 'rng': (list,),
}
_TYPE_NAMES = {int: 'an integer', float: 'a number', str: 'a string', bool: 'true or false',
               list: 'a list', dict: 'an object', type(None): 'null'}


def read_sidecar(params_path, param=None):
    """The JSON sidecar of a checkpoint as a dict, or None when there is none.

    Raises ``InputError`` (naming ``param``, the caller's parameter that gave ``params_path``)
    if the sidecar is not valid JSON, not an object, or a known field has the wrong type (e.g.
    ``"epoch": "3"``).
    """
    path = sidecar_path(params_path)
    if not os.path.isfile(path):
        return None
    with open(path, 'rb') as f:
        data = f.read()
    try:
        sidecar = json.loads(data.decode('utf-8'))
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise InputError('{}: not valid JSON ({:.200}); the checkpoint is damaged: use another '
                         'checkpoint, or delete the sidecar and pass network and classes to '
                         'use its weights alone'.format(path, str(e)), param=param) from None
    if not isinstance(sidecar, dict):
        raise InputError('{}: a checkpoint sidecar is a JSON object, this is {}'.format(
            path, _TYPE_NAMES.get(type(sidecar), type(sidecar).__name__)), param=param)
    for field, types in _FIELD_TYPES.items():
        if field not in sidecar:
            continue
        value = sidecar[field]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise InputError('{}: field {!r} must be {}, not {!r:.60}; the sidecar is damaged or '
                             'not a gluoncv-hard checkpoint sidecar'.format(
                                 path, field, ' or '.join(_TYPE_NAMES[t] for t in types), value),
                             param=param)
    classes = sidecar.get('classes')
    if classes is not None and not (classes and all(isinstance(c, str) for c in classes)):
        raise InputError('{}: field \'classes\' must be a non-empty list of names'.format(path),
                         param=param)
    return sidecar


def _ndarray_file_kind(path):
    with open(path, 'rb') as f:
        head = f.read(len(NDARRAY_MAGIC))
    if head == NDARRAY_MAGIC:
        return 'ndarray'
    return 'pickle' if head.startswith(PICKLE_PROTO) else 'other'


def _load_ndarrays(path, param):
    """``{key: NDArray}`` of an ``mx.nd.save`` file; a pickle is refused without reading it."""
    if not os.path.isfile(path):
        raise InputNotFoundError('{} does not exist'.format(path), param=param)
    kind = _ndarray_file_kind(path)
    if kind == 'pickle':
        raise InputError(_pickle_message(path), param=param)
    if kind != 'ndarray':
        raise InputError('{} is not an MXNet NDArray file'.format(path), param=param)
    try:
        loaded = mx.nd.load(path)
    except mx.base.MXNetError as e:
        raise InputError('{} is damaged (MXNet cannot read it: {})'.format(
            path, _first_line(e)), param=param) from None
    return loaded if isinstance(loaded, dict) else {}


def _first_line(error):
    lines = [line for line in str(error).splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def _pickle_message(path):
    return ('{} is a Python pickle (what MXNet\'s Trainer.save_states and older gluoncv-hard '
            'versions write); it is not loaded, because unpickling a file runs any code it '
            'holds. Continue from the weights alone with init (the .params file) and '
            'start_epoch (the optimizer\'s momentum restarts), or re-train'.format(path))


def _fix_hint(params_path):
    """How to go on when ``params_path``'s set is not whole: other whole sets of its prefix."""
    others = ['{} (epoch {})'.format(p, e) for p, e in find_whole_checkpoints(params_path)]
    hint = ('start from its weights with init (and start_epoch; the optimizer state restarts) if '
            'you trust the .params')
    if others:
        return 'resume from another whole checkpoint ({}), or {}'.format(
            ', '.join(others), hint)
    return hint


def find_whole_checkpoints(params_path, limit=3):
    """Up to ``limit`` checkpoints with the prefix of ``params_path`` (``PREFIX_TAG.params``)
    whose sets are whole, newest epoch first, as ``[(params path, epoch)]``. For messages: it
    hashes the candidates."""
    directory, name = os.path.split(params_path)
    prefix = re.sub(r'_[^_]*\.params$', '', name)
    try:
        entries = sorted(os.listdir(directory or '.'))
    except OSError:
        return []
    candidates = []
    for entry in entries:
        if entry.startswith(prefix + '_') and entry.endswith('.json'):
            candidate = os.path.join(directory, entry[:-len('.json')] + '.params')
            try:
                epoch = (read_sidecar(candidate) or {}).get('epoch')
            except InputError:
                continue
            if isinstance(epoch, int) and candidate != params_path:
                candidates.append((epoch, candidate))
    found = []
    for epoch, candidate in sorted(candidates, key=lambda item: (-item[0], item[1])):
        try:
            verify_checkpoint(candidate, _hint=False)
        except (InputError, OSError):
            continue
        found.append((candidate, epoch))
        if len(found) == limit:
            break
    return found


def _check_file(params_path, sidecar, role, path, param, hint):
    """``path`` is the file the sidecar of ``params_path`` describes as ``role``."""
    entry = sidecar['files'].get(role)
    json_file = sidecar_path(params_path)
    if not (isinstance(entry, dict) and isinstance(entry.get('bytes'), int)
            and isinstance(entry.get('sha256'), str) and _SHA256.match(entry['sha256'])):
        raise InputError('{}: files.{} must be an object with bytes and sha256; the sidecar is '
                         'damaged'.format(json_file, role), param=param)
    if not os.path.isfile(path):
        raise InputError('incomplete checkpoint: {} is missing (its sidecar {} lists it); {}'
                         .format(path, json_file, hint()), param=param)
    actual = file_digest(path)
    if actual == {'bytes': entry['bytes'], 'sha256': entry['sha256']}:
        return
    if actual['bytes'] < entry['bytes']:
        why = 'it is truncated ({} of {} bytes)'.format(actual['bytes'], entry['bytes'])
    else:
        why = 'its SHA-256 differs from the one its sidecar {} holds'.format(json_file)
        if role == 'states':
            epoch = _states_epoch(path)
            if epoch is not None and epoch != sidecar.get('epoch'):
                why = 'it is from epoch {}, its sidecar {} from epoch {}'.format(
                    epoch, json_file, sidecar.get('epoch'))
    raise InputError('mixed checkpoint: {} does not belong to this set: {} (a run killed while '
                     'writing it, or files copied between checkpoints); {}'.format(
                         path, why, hint()), param=param)


def _states_epoch(path):
    try:
        if _ndarray_file_kind(path) != 'ndarray':
            return None
        epoch = mx.nd.load(path).get(_EPOCH_KEY)
        return None if epoch is None else int(epoch.asnumpy()[0])
    except (mx.base.MXNetError, AttributeError, IndexError, OSError):
        return None


def verify_checkpoint(params_path, param='resume', _hint=True):
    """Check that ``params_path`` is part of a whole checkpoint set; return its sidecar.

    Whole means: the sidecar exists, is of this format, and the ``.params`` and ``.states`` on
    disk have the sizes and SHA-256 it lists. Raises ``InputError`` naming ``param`` and saying
    what is wrong (missing or legacy sidecar, missing ``.states``, a file of another epoch or
    truncated) and which other checkpoint of the prefix is whole.
    """
    def hint():
        return _fix_hint(params_path) if _hint else ''

    if not os.path.isfile(params_path):
        raise InputNotFoundError('{} does not exist'.format(params_path), param=param)
    if not params_path.endswith('.params'):
        raise InputError('give the .params file of a checkpoint (e.g. PREFIX_last.params), not '
                         '{}'.format(params_path), param=param)
    json_file = sidecar_path(params_path)
    sidecar = read_sidecar(params_path, param)
    if sidecar is None:
        raise InputError('incomplete checkpoint: {} has no sidecar {}, so nothing says which '
                         'epoch and optimizer state it belongs to (stock GluonCV files and bare '
                         '.params have none); {}'.format(params_path, json_file, hint()),
                         param=param)
    if 'format' not in sidecar:
        states = states_path(params_path)
        if os.path.isfile(states) and _ndarray_file_kind(states) == 'pickle':
            raise InputError(_pickle_message(states), param=param)
        raise InputError('{} is a checkpoint of an older gluoncv-hard version, which cannot be '
                         'resumed safely (no hashes of its files; its .states is a pickle); {}'
                         .format(params_path, hint()), param=param)
    if sidecar['format'] != CHECKPOINT_FORMAT or sidecar.get('format_version') != \
            CHECKPOINT_VERSION:
        raise InputError('{}: checkpoint format {!r} version {!r}; this version reads {!r} '
                         'version {}'.format(json_file, sidecar['format'],
                                             sidecar.get('format_version'), CHECKPOINT_FORMAT,
                                             CHECKPOINT_VERSION), param=param)
    for field in ('epoch', 'files', 'network', 'classes'):
        if field not in sidecar:
            raise InputError('{}: field {!r} is missing; the sidecar is damaged'.format(
                json_file, field), param=param)
    if sidecar['epoch'] < 0:
        raise InputError('{}: epoch {} is negative; the sidecar is damaged'.format(
            json_file, sidecar['epoch']), param=param)
    _check_file(params_path, sidecar, 'params', params_path, param, hint)
    if 'states' not in sidecar['files'] or not isinstance(sidecar.get('optimizer'), dict):
        raise InputError('incomplete checkpoint: {} was saved without optimizer state (no '
                         '.states); start from its weights with init'.format(params_path),
                         param=param)
    _check_file(params_path, sidecar, 'states', states_path(params_path), param, hint)
    return sidecar


def resumable_checkpoint(params_path, param='resume'):
    """The whole checkpoint set that resuming from ``params_path`` continues.

    ``params_path`` itself when its set is whole (:func:`verify_checkpoint`); else, when a save
    was cut between its renames, the previous set that the save kept
    (``PREFIX_TAG.prev.params``, see the module docstring) if that one is whole. A mixed set is
    never taken: when neither is whole, the error about ``params_path`` is raised.

    Returns
    -------
    (str, dict, str or None)
        The ``.params`` path to load, its sidecar, and a note for the log when it is the
        previous set (else None).
    """
    try:
        return params_path, verify_checkpoint(params_path, param), None
    except InputError as error:
        kept = previous_path(params_path)
        if not params_path.endswith('.params') or not os.path.isfile(sidecar_path(kept)):
            raise
        try:
            sidecar = verify_checkpoint(kept, param, _hint=False)
        except (InputError, OSError):
            raise error from None
        why = str(error).split('; ')[0]
        return kept, sidecar, (
            '{} is not a whole set ({}): a save was cut before it was complete; resuming from '
            '{} (epoch {}), the whole set that the save kept'.format(
                params_path, why, kept, sidecar['epoch']))


def check_sidecar_matches(params_path, sidecar, param='params_path'):
    """For loading weights alone: a sidecar of this format must describe these ``.params``
    (size and SHA-256); an older sidecar must at least name them. Raises ``InputError``."""
    if sidecar is None:
        return
    json_file = sidecar_path(params_path)
    name = sidecar.get('params')
    if 'format' not in sidecar:
        if name is not None and name != os.path.basename(params_path):
            raise InputError('{} describes {}, not {}: rename the .params and its sidecar '
                             'together'.format(json_file, name, os.path.basename(params_path)),
                             param=param)
        return
    files = sidecar.get('files')
    if not isinstance(files, dict):
        raise InputError('{}: field \'files\' is missing; the sidecar is damaged'.format(
            json_file), param=param)
    _check_file(params_path, sidecar, 'params', params_path, param,
                lambda: 'delete the sidecar and pass network and classes to use the weights '
                        'alone, if you trust them')


def _load(params_path, param):
    if not os.path.isfile(params_path):
        raise InputNotFoundError('{} does not exist'.format(params_path), param=param)
    if _ndarray_file_kind(params_path) == 'pickle':
        raise InputError(_pickle_message(params_path), param=param)
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
    if not isinstance(params, dict):
        raise InputError('{} holds unnamed arrays, not network parameters'.format(params_path),
                         param=param)
    weight = params.get(CLASS_PREDICTOR_KEY)
    if weight is not None and weight.shape[0] != num_class + 1:
        raise InputError(
            '{} was trained for {} classes but the data set has {}; give the class list it was '
            'trained with (classes), or initialize from it (init) to fine-tune it for new '
            'classes'.format(params_path, weight.shape[0] - 1, num_class), param=param)
    bad = [name for name, value in params.items()
           if np.issubdtype(np.dtype(value.dtype), np.floating)
           and not np.isfinite(value.asnumpy()).all()]
    if bad:
        raise InputError('{}: parameter{} {} {} not finite (a diverged training?); use another '
                         'checkpoint'.format(params_path, 's' if len(bad) > 1 else '',
                                             ', '.join(bad[:6]), 'are' if len(bad) > 1 else 'is'),
                         param=param)
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
