"""Horovod data-parallel training: one process per device, started by ``horovodrun``.

What :mod:`gluoncv_hard.engine.trainer` does with ``horovod=True``:

- every process builds the same network from the same seed; rank 0's parameters are broadcast
  before the first step, and ``hvd.DistributedTrainer`` averages the gradients of each step;
- the global batch ``batch_size`` is split evenly: rank ``r`` of ``R`` trains on images
  ``r, r + R, r + 2R, ...`` of each shuffled global batch, so the ``R`` shards of an iteration
  are disjoint and together are exactly the batch a one-process run takes
  (:func:`gluoncv_hard.engine.trainer.epoch_batches`);
- the data transforms are seeded per image (as without Horovod), so every image gets the same
  flips and RPN anchor samples whichever rank trains it; the RCNN sampler draws from one random
  stream per process, restarted at each epoch from ``(seed, epoch, rank)``
  (:func:`reseed_rcnn_sampler`): the ranks do not repeat each other's draws, and a resumed run
  continues exactly as the uninterrupted one would have;
- the losses of each iteration are averaged over the ranks, so every rank logs, checks for
  divergence and stops on the same numbers;
- at the end of each epoch the running mean and variance of every BatchNorm that learns them
  (``use_global_stats`` off, e.g. in the tiny networks; GluonCV's ResNets freeze them) are
  averaged over the ranks (:func:`average_batchnorm_statistics`): each rank updated them from
  its own shard, and the average is the estimate over all the data;
- then every rank sends a digest of its parameters and the images it trained on
  (:func:`epoch_summary`): diverged replicas stop the run, and rank 0 records the digests and
  shard sizes in the metrics line;
- rank 0 alone validates, logs to ``PREFIX_train.log`` and writes checkpoints, metrics and the
  plot; the other ranks print warnings and errors only.

Horovod's own install needs flags and an installed MXNet, so it is not a plain extra:
:data:`HOROVOD_INSTALL` is the command (also in ``docs/scaling_out.md`` and ``.ci/run``).
"""
import hashlib

import mxnet as mx
import numpy as np

from gluoncv_hard.engine.devices import parse_contexts
from gluoncv_hard.errors import InputError, SetupError

__all__ = ['HOROVOD_BUILD_ENV', 'HOROVOD_INSTALL', 'import_horovod', 'horovod_contexts',
           'reseed_rcnn_sampler', 'parameter_digest', 'network_digest',
           'allreduce_step_values',
           'average_batchnorm_statistics', 'epoch_summary', 'ReplicasDiverged']

# Horovod 0.28.1 built from source against the headers of the installed mxnet wheel, CPU
# collectives through Gloo, no MPI, TensorFlow or PyTorch parts (measured: ~15 minutes on 2
# cores; pip keeps the wheel in its cache).
HOROVOD_BUILD_ENV = ('HOROVOD_WITH_MXNET=1 HOROVOD_WITH_GLOO=1 HOROVOD_WITHOUT_MPI=1 '
                     'HOROVOD_WITHOUT_TENSORFLOW=1 HOROVOD_WITHOUT_PYTORCH=1 '
                     'HOROVOD_CPU_OPERATIONS=gloo')
HOROVOD_INSTALL = ("pip install -c constraints.txt -e '.[horovod]' && {} pip install "
                   '--no-build-isolation -c constraints.txt horovod'.format(HOROVOD_BUILD_ENV))

# Hex digits of a parameter digest kept in the metrics line (64 bits: collisions are not a
# practical concern, and a line stays short with many ranks).
DIGEST_CHARS = 16


class ReplicasDiverged(RuntimeError):
    """The ranks' parameters differ after an epoch: a bug (or a broken collective), not input.

    Raised on every rank at once, so no rank waits forever for the others.
    """


def import_horovod():
    """``horovod.mxnet``, initialized.

    Raises
    ------
    SetupError
        When Horovod or its MXNet extension is missing, or when ``hvd.init()`` fails (e.g. the
        process was not started by ``horovodrun``).
    """
    try:
        import horovod.mxnet as hvd
    except ImportError as e:
        raise SetupError(
            'horovod training needs Horovod built with MXNet support, which is not importable '
            'here ({}). Install it with: {}; then start training with horovodrun, e.g. '
            'horovodrun -np 2 --gloo gluoncv-hard-train --horovod ...'.format(
                str(e).splitlines()[0], HOROVOD_INSTALL), param='horovod') from None
    try:
        hvd.init()
    except Exception as e:  # noqa: BLE001 -- Horovod raises ValueError, RuntimeError, ...
        raise SetupError(
            'Horovod could not start ({}: {}). Start every process with horovodrun, e.g. '
            'horovodrun -np 2 --gloo gluoncv-hard-train --horovod ...'.format(
                type(e).__name__, str(e).splitlines()[0] if str(e) else ''),
            param='horovod') from None
    return hvd


def horovod_contexts(hvd, gpus, cpu_contexts=1):
    """The one context of this Horovod process.

    Parameters
    ----------
    hvd : module
        ``horovod.mxnet``, initialized.
    gpus : str
        ``''``: the CPU. Otherwise the GPU ids of this machine that its processes use, one per
        process: local rank ``i`` trains on GPU ``ids[i]`` (``'0,1,2,3'`` for
        ``horovodrun -np 4``).
    cpu_contexts : int
        Must be 1: a Horovod process drives one device.

    Returns
    -------
    list of mxnet.Context
        One element.
    """
    if cpu_contexts != 1:
        raise InputError('cpu_contexts must be 1 with horovod (each process drives one '
                         'device; start more processes with horovodrun -np instead)',
                         param='cpu_contexts')
    if not (gpus or '').strip():
        return [mx.cpu()]
    devices = parse_contexts(gpus)
    local_rank = hvd.local_rank()
    if local_rank >= len(devices):
        raise InputError(
            'gpus {!r} lists {} GPU(s) but horovodrun started {} processes on this machine; '
            "list one GPU per process (e.g. '{}')".format(
                gpus, len(devices), hvd.local_size(),
                ','.join(str(i) for i in range(hvd.local_size()))), param='gpus')
    return [devices[local_rank]]


def reseed_rcnn_sampler(net, seed, epoch, rank):
    """Restart the RCNN sampler's random stream from ``(seed, epoch, rank)``.

    Every process builds the network after seeding NumPy with the same seed, so every sampler
    would draw the same numbers (on other images), and a resumed run would restart the stream
    that the uninterrupted run had advanced. Returns the new seed, or None for a network
    without a reseedable sampler (then nothing changes).

    Parameters
    ----------
    net : mxnet.gluon.Block
        With a ``sampler`` like :class:`gluoncv_hard.RCNNTargetSampler`.
    seed : int
        The sampler's seed when the network was built (the same on every rank and on resume).
    epoch, rank : int
    """
    sampler = getattr(net, 'sampler', None)
    if seed is None or sampler is None or not hasattr(sampler, 'reseed'):
        return None
    state = int(np.random.SeedSequence([int(seed), int(epoch), int(rank)]).generate_state(1)[0])
    sampler.reseed(state)
    return state


def parameter_digest(arrays):
    """SHA-256 of named arrays: name, dtype, shape and bytes, in the order of sorted names.

    Parameters
    ----------
    arrays : dict
        ``{name: numpy.ndarray}``, e.g. ``mx.nd.load(path)`` converted with ``.asnumpy()``.

    Returns
    -------
    str
        64 hex digits; equal for equal parameters whatever process or file they come from.
    """
    digest = hashlib.sha256()
    for name in sorted(arrays):
        value = np.ascontiguousarray(arrays[name])
        digest.update('{}|{}|{}|'.format(name, value.dtype.str, value.shape).encode('utf-8'))
        digest.update(value.tobytes())
    return digest.hexdigest()


def network_digest(net, ctx):
    """:func:`parameter_digest` of ``net``'s parameters on ``ctx``, under the names that
    ``net.save_parameters`` writes (so the digest of a saved ``.params`` file is the same)."""
    return parameter_digest({name: p.data(ctx).asnumpy()
                             for name, p in net._collect_params_with_prefix().items()})


def allreduce_step_values(hvd, loss_means, acc):
    """Average ``loss_means`` and sum ``acc`` over the ranks (one small allreduce).

    Parameters
    ----------
    loss_means : numpy.ndarray, shape (L,)
        This rank's losses of the iteration.
    acc : numpy.ndarray, shape (4,)
        This rank's accuracy counts (correct and total, RPN then RCNN).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        The same shapes; equal on every rank.
    """
    values = mx.nd.array(np.concatenate([loss_means, acc]), dtype='float64')
    total = hvd.allreduce(values, op=hvd.Sum, name='gluoncv_hard.step_values').asnumpy()
    count = len(loss_means)
    return total[:count] / hvd.size(), total[count:]


def _learned_batchnorm_statistics(net):
    """``running_mean`` and ``running_var`` of every BatchNorm block of ``net`` that updates
    them in training (``use_global_stats`` off), each once, in the order of the structure."""
    found, seen = [], set()

    def visit(block):
        if isinstance(block, mx.gluon.nn.BatchNorm) and \
                not block._kwargs.get('use_global_stats', False):
            for param in (block.running_mean, block.running_var):
                if id(param) not in seen:
                    seen.add(id(param))
                    found.append(param)
        for child in block._children.values():
            visit(child)

    visit(net)
    return found


def average_batchnorm_statistics(hvd, net, ctx):
    """Replace the learned BatchNorm statistics of ``net`` on ``ctx`` by their mean over the
    ranks (module docstring); returns how many arrays were averaged (0 with frozen BatchNorm,
    which is left untouched: averaging equal values could still round them)."""
    params = _learned_batchnorm_statistics(net)
    for i, param in enumerate(params):
        param.set_data(hvd.allreduce(param.data(ctx), op=hvd.Average,
                                     name='gluoncv_hard.batchnorm.{}'.format(i)))
    return len(params)


def _allgather_rows(hvd, row, name):
    """Stack the 1-D int64 ``row`` of every rank: shape (ranks, len(row))."""
    tensor = mx.nd.array(np.asarray(row, dtype=np.int64).reshape(1, -1), dtype='int64')
    return hvd.allgather(tensor, name=name).asnumpy()


def epoch_summary(hvd, net, ctx, image_indices, epoch):
    """What the ranks did in one epoch, gathered on every rank.

    Parameters
    ----------
    hvd : module
    net : mxnet.gluon.Block
    ctx : mxnet.Context
    image_indices : sequence of int
        The training-set indices this rank trained on in the epoch (the same count on every
        rank, see :func:`gluoncv_hard.engine.trainer.epoch_batches`).
    epoch : int

    Returns
    -------
    dict
        ``ranks``; ``images_per_rank`` (list); ``images_on_several_ranks`` (0 when the shards
        are disjoint); ``param_digests``: the first ``DIGEST_CHARS`` hex digits of each rank's
        :func:`network_digest`, in rank order.

    Raises
    ------
    ReplicasDiverged
        On every rank, when the digests differ.
    """
    digest = network_digest(net, ctx)
    words = np.frombuffer(bytes.fromhex(digest), dtype='>u8').astype(np.int64)  # (4,)
    digests = _allgather_rows(hvd, words, 'gluoncv_hard.digest.{}'.format(epoch))
    indices = _allgather_rows(hvd, image_indices, 'gluoncv_hard.shards.{}'.format(epoch))
    hexes = [''.join('{:016x}'.format(int(w) & (2 ** 64 - 1)) for w in row) for row in digests]
    flat = indices.reshape(-1)
    summary = {
        'ranks': int(hvd.size()),
        'images_per_rank': [int(len(row)) for row in indices],
        'images_on_several_ranks': int(len(flat) - len(np.unique(flat))),
        'param_digests': [h[:DIGEST_CHARS] for h in hexes],
    }
    if len(set(hexes)) != 1:
        raise ReplicasDiverged(
            'after epoch {} the parameters differ between Horovod ranks (digests {}); the '
            'replicas no longer train the same network. This is a bug: please report it with '
            'the Horovod and MXNet versions (gluoncv-hard-doctor)'.format(
                epoch, summary['param_digests']))
    return summary
