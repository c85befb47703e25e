"""Pretrain the tiny network's backbone offline on the demo's patch task.

The tiny detector's ``features`` (``modeling.tiny_backbone.TinyPatchClassifier``) learn to tell
background, face and non-face windows apart (``demo.patches``: rendered on the fly from the train
identities, on the backgrounds less the mining scenario's). The result is the file that
``pretrained_base=True`` loads for ``network='tiny'``; see docs/pretrained_backbone.md.

Usage::

    pretrain_tiny_backbone('tiny_face_backbone.params', iterations=4000)
    # command line: gluoncv-hard-pretrain-tiny --out FILE --iterations 4000
"""
import math
import time

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

from gluoncv_hard.data.transform import IMAGE_MEAN, IMAGE_STD
from gluoncv_hard.demo import patches, sources
from gluoncv_hard.errors import InputError, TrainingDiverged
from gluoncv_hard.modeling import tiny_backbone
from gluoncv_hard.utils.signals import stop_on_signals

__all__ = ['DEFAULT_ITERATIONS', 'DEFAULT_BATCH_SIZE', 'DEFAULT_LR', 'DEFAULT_WD',
           'DEFAULT_MOMENTUM', 'DEFAULT_HELDOUT_WINDOWS', 'HELDOUT_SEED', 'WARMUP_FACTOR',
           'normalize_window', 'WindowDataset', 'pretrain_lr', 'default_warmup',
           'pretrain_tiny_backbone']

DEFAULT_ITERATIONS = 4000
DEFAULT_BATCH_SIZE = 64
DEFAULT_LR = 0.1
DEFAULT_WD = 1e-4
DEFAULT_MOMENTUM = 0.9
# The warm-up starts at this fraction of the learning rate and rises linearly to it.
WARMUP_FACTOR = 0.1
WARMUP_ITERATIONS = 200
DEFAULT_HELDOUT_WINDOWS = 1536
# The held-out windows are always those of this seed, so that accuracies of runs with different
# training seeds are comparable; a training seed equal to it would train on them.
HELDOUT_SEED = 1000003

_MEAN = np.array(IMAGE_MEAN, np.float32).reshape(1, 1, 3)
_STD = np.array(IMAGE_STD, np.float32).reshape(1, 1, 3)


def normalize_window(image):
    """A window as the detector's transform hands images to the network.

    Parameters
    ----------
    image : numpy.ndarray, uint8, shape (H, W, 3), RGB

    Returns
    -------
    numpy.ndarray, float32, shape (3, H, W)
        ``(image / 255 - IMAGE_MEAN) / IMAGE_STD`` per channel.
    """
    scaled = (image.astype(np.float32) / 255.0 - _MEAN) / _STD
    return np.ascontiguousarray(scaled.transpose(2, 0, 1))


class WindowDataset(gluon.data.Dataset):
    """Windows ``0 .. length - 1`` of a ``demo.patches.PatchWindows``, normalized, with their
    labels (float32, as the softmax loss takes them), rendered when asked for."""

    def __init__(self, windows, length):
        self.windows = windows
        self.length = int(length)

    def __len__(self):
        return self.length

    def __getitem__(self, index):
        image, label, _ = self.windows.render(index)
        return normalize_window(image), np.float32(label)


def default_warmup(iterations):
    """``WARMUP_ITERATIONS``, or a fifth of a short run."""
    return min(WARMUP_ITERATIONS, iterations // 5)


def pretrain_lr(iteration, iterations, lr, warmup):
    """Learning rate of step ``iteration`` (0-based) of ``iterations``: a linear warm-up from
    ``WARMUP_FACTOR * lr`` over ``warmup`` steps, then a cosine decay from ``lr`` to 0.

    >>> [round(pretrain_lr(i, 10, 1.0, 2), 3) for i in (0, 1, 2, 6, 9)]
    [0.1, 0.55, 1.0, 0.5, 0.038]
    """
    if iteration < warmup:
        return lr * (WARMUP_FACTOR + (1.0 - WARMUP_FACTOR) * iteration / warmup)
    span = max(iterations - warmup, 1)
    return lr * 0.5 * (1.0 + math.cos(math.pi * (iteration - warmup) / span))


def _check(iterations, batch_size, seed, lr, wd, momentum, warmup, num_workers,
           heldout_windows, log_interval, out):
    def integer(name, value, low):
        if isinstance(value, bool) or int(value) != value or value < low:
            raise InputError('{} must be an integer of at least {}, got {!r}'.format(
                name, low, value), param=name)
    integer('iterations', iterations, 1)
    integer('batch_size', batch_size, 2)
    integer('seed', seed, 0)
    integer('num_workers', num_workers, 0)
    integer('heldout_windows', heldout_windows, 1)
    integer('log_interval', log_interval, 0)
    if warmup is not None:
        integer('warmup', warmup, 0)
    if seed == HELDOUT_SEED:
        raise InputError('seed {} renders the held-out windows; use another seed'.format(seed),
                         param='seed')
    if not lr > 0:
        raise InputError('lr must be positive, got {!r}'.format(lr), param='lr')
    if not wd >= 0:
        raise InputError('wd must be >= 0, got {!r}'.format(wd), param='wd')
    if not 0 <= momentum < 1:
        raise InputError('momentum must be in [0, 1), got {!r}'.format(momentum),
                         param='momentum')
    if not str(out).endswith('.params'):
        raise InputError('{}: the backbone file must be named NAME.params (its sidecar is '
                         'NAME.json)'.format(out), param='out')


def _loader(windows, length, batch_size, num_workers):
    return gluon.data.DataLoader(WindowDataset(windows, length), batch_size=batch_size,
                                 shuffle=False, last_batch='keep', num_workers=num_workers)


def _evaluate(net, windows, count, batch_size, num_workers, ctx):
    """Accuracy on windows ``0 .. count - 1``: overall, per class, and the confusion matrix
    (rows: true class, columns: predicted)."""
    confusion = np.zeros((len(patches.CLASS_NAMES),) * 2, np.int64)
    for data, label in _loader(windows, count, batch_size, num_workers):
        predicted = net(data.as_in_context(ctx)).argmax(axis=1).asnumpy().astype(np.int64)
        np.add.at(confusion, (label.asnumpy().astype(np.int64), predicted), 1)
    per_class = {name: round(float(confusion[i, i] / max(confusion[i].sum(), 1)), 4)
                 for i, name in enumerate(patches.CLASS_NAMES)}
    accuracy = round(float(np.trace(confusion) / confusion.sum()), 4)
    return accuracy, per_class, confusion.tolist()


def pretrain_tiny_backbone(out, iterations=DEFAULT_ITERATIONS, batch_size=DEFAULT_BATCH_SIZE,
                           seed=0, lr=DEFAULT_LR, wd=DEFAULT_WD, momentum=DEFAULT_MOMENTUM,
                           warmup=None, num_workers=2,
                           heldout_windows=DEFAULT_HELDOUT_WINDOWS,
                           heldout_backgrounds=sources.MINING_HELDOUT_BACKGROUNDS,
                           log_interval=100, progress=None):
    """Train the tiny backbone on the patch task and write it with its sidecar.

    SGD with momentum and weight decay; the learning rate warms up, then decays on a cosine
    (:func:`pretrain_lr`). Iteration ``i`` trains on windows ``i * batch_size ..`` of ``seed``,
    each rendered once, in ``num_workers`` processes while the network runs. At the end the
    accuracy is measured on ``heldout_windows`` windows of :data:`HELDOUT_SEED` (the same
    identities and backgrounds, other draws), and only the ``features`` parameters are saved
    (:func:`gluoncv_hard.modeling.tiny_backbone.save_backbone`), atomically with the sidecar.

    Parameters
    ----------
    out : str
        ``NAME.params``; the sidecar is ``NAME.json``. Replaced if present.
    iterations, batch_size : int
    seed : int
        Windows and initialization; any non-negative integer but :data:`HELDOUT_SEED`.
    lr, wd, momentum : float
    warmup : int, optional
        Warm-up iterations (default :func:`default_warmup`).
    num_workers : int
        Processes rendering windows (0: in this process).
    heldout_windows : int
    heldout_backgrounds : sequence of str
        Backgrounds no window is cut from (default: the mining scenario's).
    log_interval : int
        Report loss and accuracy every so many iterations (0: never).
    progress : callable(str), optional
        Receives the reports (e.g. ``print``).

    Returns
    -------
    dict
        The sidecar: ``heldout_accuracy`` (and per class, confusion), the settings, the
        training's last reported loss and accuracy, ``seconds``, ``params`` (bytes, SHA-256).

    Raises
    ------
    InputError
        For a bad setting (``param`` names it).
    TrainingDiverged
        When the loss becomes non-finite (nothing is written).
    """
    _check(iterations, batch_size, seed, lr, wd, momentum, warmup, num_workers,
           heldout_windows, log_interval, out)
    report = progress or (lambda text: None)
    warmup = default_warmup(iterations) if warmup is None else int(warmup)
    start = time.perf_counter()
    train_windows = patches.PatchWindows(seed, heldout_backgrounds=heldout_backgrounds)
    heldout_set = patches.PatchWindows(HELDOUT_SEED, heldout_backgrounds=heldout_backgrounds)
    ctx = mx.cpu()
    mx.random.seed(int(seed))
    net = tiny_backbone.TinyPatchClassifier(len(patches.CLASS_NAMES))
    # Xavier, as engine.networks.initialize_missing gives a tiny detector trained from scratch.
    net.initialize(mx.init.Xavier(), ctx=ctx)
    net.hybridize(static_alloc=True, static_shape=True)
    trainer = gluon.Trainer(net.collect_params(), 'sgd', {
        'learning_rate': pretrain_lr(0, iterations, lr, warmup), 'momentum': momentum,
        'wd': wd})
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    report('Pretraining the tiny backbone: {} iterations of {} windows ({}x{}), seed {}, '
           'backgrounds without {}'.format(iterations, batch_size, train_windows.size,
                                           train_windows.size, seed,
                                           ', '.join(train_windows.heldout_backgrounds)
                                           or 'none'))
    loss_sum, correct, seen, tic = 0.0, 0, 0, time.perf_counter()
    last = {}
    with stop_on_signals():
        loader = _loader(train_windows, iterations * batch_size, batch_size, num_workers)
        for i, (windows, labels) in enumerate(loader):
            trainer.set_learning_rate(pretrain_lr(i, iterations, lr, warmup))
            data, label = windows.as_in_context(ctx), labels.as_in_context(ctx)
            with autograd.record():
                output = net(data)
                loss = loss_fn(output, label)
            loss.backward()
            mean_loss = float(loss.mean().asscalar())
            if not math.isfinite(mean_loss):
                raise TrainingDiverged('the pretraining loss became {} at iteration {} (lr '
                                       '{:.4g}); nothing was written: lower lr'.format(
                                           mean_loss, i, trainer.learning_rate))
            trainer.step(data.shape[0])
            loss_sum += mean_loss
            correct += int((output.argmax(axis=1) == label).sum().asscalar())
            seen += data.shape[0]
            if log_interval and ((i + 1) % log_interval == 0 or i + 1 == iterations):
                steps = seen / batch_size
                last = {'iteration': i + 1, 'loss': round(loss_sum / steps, 4),
                        'accuracy': round(correct / seen, 4)}
                report('[{}/{}] loss {:.4f} accuracy {:.3f} lr {:.4g} {:.2f} it/s'.format(
                    i + 1, iterations, last['loss'], last['accuracy'], trainer.learning_rate,
                    steps / (time.perf_counter() - tic)))
                loss_sum, correct, seen, tic = 0.0, 0, 0, time.perf_counter()
        train_seconds = time.perf_counter() - start
        accuracy, per_class, confusion = _evaluate(net, heldout_set, heldout_windows,
                                                   batch_size, num_workers, ctx)
        report('Held-out accuracy {:.4f} on {} windows of seed {} ({})'.format(
            accuracy, heldout_windows, HELDOUT_SEED,
            ', '.join('{} {:.3f}'.format(k, v) for k, v in per_class.items())))
        info = {
            'iterations': int(iterations), 'batch_size': int(batch_size), 'seed': int(seed),
            'lr': float(lr), 'wd': float(wd), 'momentum': float(momentum),
            'warmup': warmup, 'schedule': 'linear warm-up from {} x lr, then cosine to 0'.format(
                WARMUP_FACTOR),
            'task': {'classes': list(patches.CLASS_NAMES), 'window_size': train_windows.size,
                     'patch_pool': patches.PATCH_POOL,
                     'faces': list(train_windows.pool.faces),
                     'nonfaces': list(train_windows.pool.nonfaces),
                     'backgrounds': sorted(train_windows.backgrounds)},
            'heldout_backgrounds': list(train_windows.heldout_backgrounds),
            'heldout_accuracy': accuracy,
            'heldout': {'seed': HELDOUT_SEED, 'windows': int(heldout_windows),
                        'accuracy_per_class': per_class, 'confusion': confusion},
            'train_last': last,
            'train_seconds': round(train_seconds, 1),
            'iterations_per_second': round(iterations / max(train_seconds, 1e-9), 3),
        }
        sidecar = tiny_backbone.save_backbone(out, tiny_backbone.features_arrays(net), info)
    report('Wrote {} (SHA-256 {})'.format(out, sidecar['params']['sha256']))
    return sidecar
