"""The Faster R-CNN training loop: ``train(TrainConfig) -> TrainResult``.

It follows GluonCV's ``train_faster_rcnn.py`` (same schedule, losses, logging) and adds: hard
boxes through transform, samplers and losses; negative images mixed into training; validation
that ignores hard boxes and counts false detections on negative images; a JSON line of metrics
per epoch; best/last checkpoints that are valid only as whole sets (no pickle) and resume to
the bit; a stop on any non-finite loss, gradient, parameter or BatchNorm statistic before it can
be saved; SIGINT/SIGTERM that leave no temporary file; a write that fails (a full disk, a quota,
a file size limit) stops with an error naming the file and the checkpoint to resume, and a kill
at any point leaves the metrics file and a whole checkpoint that agree (``resume`` drops the
metrics lines of the epochs it trains again). The console command
``gluoncv-hard-train`` (:mod:`gluoncv_hard.cli.train`) only builds the
:class:`gluoncv_hard.engine.config.TrainConfig`.
"""
import json
import logging
import math
import os
import random
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import mxnet as mx
import numpy as np
from gluoncv.data.batchify import FasterRCNNTrainBatchify
from mxnet import gluon

from gluoncv_hard.data.augment import RandomCropWithHard
from gluoncv_hard.data.datasets import format_counts, open_training_data
from gluoncv_hard.data.transform import load_transform_class
from gluoncv_hard.engine.checkpoint import (
    check_params_file,
    load_matching_params,
    load_trainer_states,
    read_sidecar,
    resumable_checkpoint,
    save_checkpoint,
)
from gluoncv_hard.engine.config import TrainConfig
from gluoncv_hard.engine.devices import parse_contexts
from gluoncv_hard.engine.distributed import (
    allreduce_step_values,
    average_batchnorm_statistics,
    epoch_summary,
    horovod_contexts,
    import_horovod,
    reseed_rcnn_sampler,
)
from gluoncv_hard.engine.divergence import DivergenceGuard
from gluoncv_hard.engine.networks import initialize_missing
from gluoncv_hard.engine.plot import METRICS_SUFFIX, plot_run
from gluoncv_hard.engine.step import ForwardBackwardTask
from gluoncv_hard.engine.validation import evaluate_network, headline_metrics
from gluoncv_hard.errors import InputError, SetupError, TrainingDiverged
from gluoncv_hard.modeling.losses import LOSS_NAMES, FasterRCNNLosses
from gluoncv_hard.modeling.rcnn_target import RCNNTargetSampler
from gluoncv_hard.modeling.zoo import build_network, infer_parameter_shapes
from gluoncv_hard.utils.atomic import append_whole, remove_stale_temps, write_bytes_atomic
from gluoncv_hard.utils.signals import Interrupted, stop_on_signals
from gluoncv_hard.utils.write_errors import check_output_folder, write_error

__all__ = ['train', 'TrainResult', 'TrainingDiverged', 'lr_at', 'epoch_batches',
           'trainable_in_structure_order']

logger = logging.getLogger('gluoncv_hard.train')


@dataclass(frozen=True)
class TrainResult:
    """What :func:`train` wrote.

    Attributes
    ----------
    best : str or None
        ``PREFIX_best.params`` when a validation has saved one (also by an earlier run that
        this one resumed), else None.
    last : str or None
        ``PREFIX_last.params``. ``best`` and ``last`` are None on Horovod ranks other than 0,
        which write nothing.
    metrics_path : str
        ``PREFIX_metrics.jsonl``.
    metrics : tuple of dict
        The lines this run appended to ``metrics_path``, one per epoch, as read back from JSON.
    """
    best: str | None
    last: str | None
    metrics_path: str
    metrics: tuple

    @property
    def checkpoint(self):
        """The best checkpoint, else the last: the one to use."""
        return self.best or self.last


def lr_at(base_lr, epoch, iteration, decay, decay_epochs, warmup_iters, warmup_factor,
          iterations_per_epoch=None):
    """Learning rate of GluonCV's schedule: linear warm-up in epoch 0, step decay by epoch.

    A decay epoch may be fractional (``0.8``: after 80% of the first epoch's iterations) when
    ``iterations_per_epoch`` is given; whole decay epochs act at the start of that epoch, as in
    GluonCV."""
    progress = epoch if not iterations_per_epoch else epoch + iteration / iterations_per_epoch
    lr = base_lr * decay ** sum(1 for e in decay_epochs if progress >= e)
    if epoch == 0 and warmup_iters > 0 and iteration <= warmup_iters:
        alpha = iteration / warmup_iters
        lr *= warmup_factor * (1 - alpha) + alpha
    return lr


def epoch_batches(num_items, batch_size, rng, num_parts=1, part=0):
    """Shuffled index batches of exactly ``batch_size`` for worker ``part`` of ``num_parts``.

    Every batch is full (Faster R-CNN's per-device batch size is fixed); the remainder of the
    shuffled order is dropped and differs per epoch. With ``num_parts`` workers (Horovod ranks)
    ``batch_size`` is each worker's share: the shuffled order is cut into global batches of
    ``batch_size * num_parts`` and worker ``part`` takes their items ``part, part + num_parts,
    ...``. So every worker gets the same number of batches (a worker with one batch more would
    wait forever in its extra gradient allreduce), the shards of an iteration are disjoint, and
    together they are the batch that one worker with ``batch_size * num_parts`` would take.

    Returns
    -------
    list of list of int
        ``len(result) == num_items // (batch_size * num_parts)``.
    """
    order = rng.permutation(num_items)
    usable = len(order) - len(order) % (batch_size * num_parts)
    order = order[:usable][part::num_parts]
    return [order[i:i + batch_size].tolist() for i in range(0, len(order), batch_size)]


class _OutputWriteFailed(Exception):
    """An ``OSError`` of writing a training output (checkpoint, metrics, log); :func:`train`
    turns it into the ``InputError`` that names the checkpoint to resume."""

    def __init__(self, error):
        super().__init__(str(error))
        self.error = error


class _LogFile(logging.FileHandler):
    """``PREFIX_train.log``. A failed write (a full disk) stops training like any other output
    (logging would print a traceback and go on); the handler then writes no more."""

    failed = False

    def emit(self, record):
        if not self.failed:
            super().emit(record)

    def handleError(self, record):  # noqa: N802 -- logging's name
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):
            super().handleError(record)
            return
        self.failed = True
        raise _OutputWriteFailed(OSError(error.errno, error.strerror or str(error),
                                         self.baseFilename))

    def close(self):
        try:
            super().close()
        except OSError:  # the buffered lines of a failed write cannot be flushed either
            pass


def _setup_logging(prefix, rank0=True):
    """Log to the console and ``PREFIX_train.log``; Horovod ranks other than 0 (``rank0`` False)
    print warnings and errors only and leave the log file to rank 0. An output folder that
    cannot be made (a file in the way, read-only) is an ``InputError`` naming save_prefix."""
    check_output_folder(prefix, 'save_prefix')
    logger.setLevel(logging.INFO if rank0 else logging.WARNING)
    logger.propagate = False
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    fmt = logging.Formatter('%(asctime)s %(message)s', '%H:%M:%S')
    handlers = [logging.StreamHandler()]
    try:
        os.makedirs(os.path.dirname(os.path.abspath(prefix)), exist_ok=True)
        if rank0:
            handlers.append(_LogFile(prefix + '_train.log'))
    except OSError as e:
        raise _OutputWriteFailed(e) from None
    for handler in handlers:
        handler.setFormatter(fmt)
        logger.addHandler(handler)


def _open_data(config):
    """The data of ``config``, checked and counted before training
    (:func:`gluoncv_hard.data.datasets.open_training_data`): a ``TrainingData`` whose first five
    fields are ``(train_set, val_set, neg_val, classes, number of negative training images)``.
    Logs its notes, warnings and counts."""
    try:  # only for the class names; the resume check proper reports a damaged sidecar
        sidecar = read_sidecar(config.output.resume) if config.output.resume else None
    except InputError:
        sidecar = None
    saved = sidecar.get('classes') if isinstance(sidecar, dict) else None
    data = open_training_data(config.data, hard_policy=config.hard.policy,
                              checkpoint_classes=saved if isinstance(saved, list) else None)
    for note in data.notes:
        logger.info('Data: %s', note)
    for warning in data.warnings:
        logger.warning('Warning: %s', warning)
    logger.info('Data: %s', format_counts(data.stats))
    return data


def _resume_state(config, num_class):
    """``(start_epoch, best_map, params_path_to_load, sidecar)`` from ``resume`` /
    ``start_epoch``; a ``resume`` checkpoint must be a whole set, or a save of it was cut and
    the previous set it kept is whole (``resumable_checkpoint``; the log says so)."""
    resume, model, start_epoch = config.output.resume, config.model, config.schedule.start_epoch
    if not resume:
        return start_epoch, None, None, None
    resume, sidecar, note = resumable_checkpoint(resume)
    if note:
        logger.warning('Resume: %s', note)
    check_params_file(resume, num_class)
    saved = (sidecar.get('network'), sidecar.get('use_fpn'))
    if saved != (model.network, model.use_fpn):
        raise InputError('{} holds a {}{} network, not {}{} (network, use_fpn)'.format(
            resume, saved[0], ' (FPN)' if saved[1] else '', model.network,
            ' (FPN)' if model.use_fpn else ''), param='resume')
    start = start_epoch if start_epoch else sidecar['epoch'] + 1
    return start, sidecar.get('best_map'), resume, sidecar


def rcnn_samplers(net):
    """The network's RCNN samplers (their random generators are part of a checkpoint), in
    structure order."""
    found, stack = [], [net]
    while stack:
        block = stack.pop()
        if isinstance(block, RCNNTargetSampler):
            found.append(block)
        stack.extend(reversed(list(block._children.values())))
    return found


def _restore_rng(net, sidecar, path):
    """Continue the RCNN samplers' random streams where the checkpoint left them."""
    samplers, states = rcnn_samplers(net), sidecar.get('rng', [])
    if len(states) != len(samplers):
        raise InputError('{}: the sidecar holds {} random generator states, the network has {} '
                         'RCNN samplers; resume with the network it was trained with'.format(
                             path, len(states), len(samplers)), param='resume')
    for sampler, state in zip(samplers, states):
        try:
            sampler.set_rng_state(state)
        except InputError as e:
            raise InputError('{}: {}'.format(path, e), param='resume') from None


def trainable_in_structure_order(net):
    """The trainable parameters in the order of the network's structure.

    Optimizer states are saved by position. ``gluon.Trainer`` sorts a parameter dict by name,
    and names carry process-wide counters (``conv12_weight``), so the same network built second
    in a process would get its states shuffled on resume; structural order does not change.
    """
    trainable = {id(p) for p in net.collect_train_params().values()}
    return [p for p in net._collect_params_with_prefix().values()
            if id(p) in trainable]


class _SeededTransforms(gluon.data.Dataset):
    """Applies ``transforms`` to ``dataset[i]`` after seeding NumPy's and Python's random state
    from ``(seed, epoch, i)``.

    Data-loader workers are forked with identical random states, so every worker would draw the
    same flips, crops and anchor samples; seeding per item makes them independent and makes a run
    repeat exactly whatever ``num_workers`` is.
    """

    def __init__(self, dataset, transforms, seed, epoch):
        super().__init__()
        self._dataset, self._transforms = dataset, transforms
        self._seed, self._epoch = seed, epoch

    def __len__(self):
        return len(self._dataset)

    def __getitem__(self, idx):
        state = np.random.SeedSequence([self._seed, self._epoch, idx]).generate_state(1)[0]
        random.seed(int(state))
        np.random.seed(int(state))
        sample = self._dataset[idx]
        for transform in self._transforms:
            sample = transform(*sample)
        return sample


def _split(batch, ctx):
    """Per-device lists of ``(data, label, cls_t, box_t, mask_t)``."""
    if len(ctx) == 1:
        parts = [[batch[0]], [batch[1]]] + [list(t) for t in batch[2:]]
    else:
        parts = [list(batch[0]), list(batch[1])] + [list(t) for t in batch[2:]]
    return [tuple(p[i].as_in_context(c) for p in parts) for i, c in enumerate(ctx)]


# Parameters that depend on the classes: re-initialized, as expected, when --init's differ.
_CLASS_PARAMS = ('class_predictor.weight', 'class_predictor.bias', 'box_predictor.weight',
                 'box_predictor.bias')


def _log_init(path, net, skipped):
    """Log what ``--init`` left as initialized; a warning when it is more than the class
    predictors (the file was saved from another architecture or with other settings)."""
    total = len(net._collect_params_with_prefix())
    if not skipped:
        logger.info('--init %s: loaded all %d parameters', path, total)
        return
    other = [item for item in skipped if item[0] not in _CLASS_PARAMS]
    shown = ', '.join('{} ({})'.format(name, reason) for name, reason in skipped[:8])
    more = ' and {} more'.format(len(skipped) - 8) if len(skipped) > 8 else ''
    if other:
        logger.warning('--init %s: loaded %d of %d parameters; %d are not the class predictors '
                       'and keep their fresh initialization (was the file saved from another '
                       'network or with other settings?): %s%s', path, total - len(skipped),
                       total, len(other), shown, more)
    else:
        logger.info('--init %s: loaded %d of %d parameters; the class predictors are '
                    're-initialized for these classes: %s', path, total - len(skipped), total,
                    shown)


class _Session:
    """Everything ``train`` builds before the first iteration."""

    def __init__(self, config):
        data, schedule, devices = config.data, config.schedule, config.devices
        self.hvd = import_horovod() if devices.horovod else None
        self.rank0 = self.hvd is None or self.hvd.rank() == 0
        self.ctx = horovod_contexts(self.hvd, devices.gpus, devices.cpu_contexts) if self.hvd \
            else parse_contexts(devices.gpus, devices.cpu_contexts)
        if devices.amp and self.ctx[0].device_type != 'gpu':
            raise InputError('float16 mixed precision needs GPUs; turn it off for CPU training',
                             param='amp')
        num_devices = self.hvd.size() if self.hvd else len(self.ctx)
        if schedule.batch_size % num_devices:
            raise InputError('{} must be a multiple of the number of devices ({})'.format(
                schedule.batch_size, num_devices), param='batch_size')
        # Images per iteration of this process: the global batch under Horovod is split over
        # the processes, each with its own trainer step.
        self.num_parts, self.part = (self.hvd.size(), self.hvd.rank()) if self.hvd else (1, 0)
        self.process_batch = schedule.batch_size // self.num_parts
        _setup_logging(config.output.save_prefix, self.rank0)
        np.random.seed(schedule.seed)
        mx.random.seed(schedule.seed)

        self.data = _open_data(config)
        (self.train_set, self.val_set, self.neg_val, self.classes,
         self.num_neg_train) = self.data[:5]
        self.start_epoch, best_map, resume_params, resume_sidecar = _resume_state(
            config, len(self.classes))
        if self.start_epoch >= schedule.epochs:
            raise InputError('nothing to do: training would start at epoch {} but epochs is {}'
                             .format(self.start_epoch, schedule.epochs), param='epochs')
        self.best_map = -1.0 if best_map is None else best_map
        mining = config.mining
        losses = FasterRCNNLosses(mining.rpn_loss, mining.rpn_neg_mining, mining.rcnn_sampler,
                                  mining.neg_pos_ratio, mining.ohem_min_neg, mining.focal_gamma,
                                  mining.focal_alpha)
        self.net = self._network(config, schedule.batch_size // num_devices, resume_params)
        if mining.rcnn_sampler == 'ohem':
            self.net.set_rcnn_samples(self.net.sampler.num_sample * mining.rcnn_ohem_pool)
        if resume_sidecar:
            _restore_rng(self.net, resume_sidecar, resume_params)
        # The seed of the RCNN sampler as built (the same on every rank and on resume).
        self.sampler_seed = getattr(getattr(self.net, 'sampler', None), 'seed', None)
        self.transforms = [load_transform_class(data.train_transform)(
            self.net.short, self.net.max_size, self.net, ashape=self.net.ashape,
            multi_stage=self.net.num_stages > 1,
            keep_all_negatives=losses.rpn_needs_all_negatives, hard_config=config.hard)]
        if data.random_crop:
            self.transforms.insert(0, RandomCropWithHard(
                data.random_crop, cut_thresh=data.crop_cut_thresh,
                object_prob=data.crop_object_prob))
        self.batchify = FasterRCNNTrainBatchify(self.net, len(self.ctx))
        self.trainer = self._trainer(config, resume_params, resume_sidecar)
        self.task = ForwardBackwardTask(self.net, losses, self.trainer, amp_enabled=devices.amp)
        self.decay_epochs = sorted(schedule.lr_decay_epoch)
        # After a resume, the resumed checkpoint is the last good one until the next save.
        self.last_path = resume_params
        self.guard = DivergenceGuard(self.net, self.trainer, check_gradients=not devices.amp,
                                     hvd=self.hvd, last_good=resume_params, lr=schedule.lr)

    def _network(self, config, per_device, resume_params):
        model, amp_enabled = config.model, config.devices.amp
        if amp_enabled:
            from mxnet.contrib import amp
            amp.init()
        self.network_options = {k: v for k, v in (('short', model.short),
                                                  ('max_size', model.max_size)) if v}
        net = build_network(model.network, self.classes, use_fpn=model.use_fpn,
                            pretrained_base=model.pretrained_base,
                            per_device_batch_size=per_device, **self.network_options,
                            hard_config=config.hard)
        if resume_params:
            net.load_parameters(resume_params, ctx=self.ctx, ignore_extra=True)
        initialize_missing(net, self.ctx)
        net.collect_params().reset_ctx(self.ctx)
        if model.init and not resume_params:
            # Shapes first, by symbolic inference: a forward pass would cost a full inference
            # (and a 64x64 one fails on networks with larger anchors or more proposals).
            infer_parameter_shapes(net, ctx=self.ctx[0])
            _log_init(model.init, net, load_matching_params(net, model.init, with_reasons=True))
        if amp_enabled:
            net.cast('float16')
            net.collect_params('.*batchnorm.*').setattr('dtype', 'float32')
            net.collect_params('.*normalizedperclassboxcenterencoder.*').setattr('dtype',
                                                                                 'float32')
        return net

    def _trainer(self, config, resume_params, resume_sidecar):
        net, schedule, devices = self.net, config.schedule, config.devices
        net.collect_params().setattr('grad_req', 'null')
        for param in net.collect_train_params().values():
            # Anchors are gluon Constants inside the trainable 'rpn' block; asking them for
            # gradients only prints a warning per run.
            if not isinstance(param, gluon.Constant):
                param.grad_req = 'write'
        params = trainable_in_structure_order(net)
        optimizer_params = {'learning_rate': schedule.lr, 'wd': schedule.wd,
                            'momentum': schedule.momentum}
        if devices.amp:
            optimizer_params['multi_precision'] = True
        if self.hvd:
            self.hvd.broadcast_parameters(net.collect_params(), root_rank=0)
            # DistributedTrainer sorts a list of parameters (Parameter has no order) and a dict
            # by key: zero-padded positions keep the structure order, so a checkpoint's
            # optimizer states mean the same with and without Horovod.
            trainer = self.hvd.DistributedTrainer(
                {'{:06d}'.format(i): p for i, p in enumerate(params)}, 'sgd', optimizer_params)
        else:
            kv_store = devices.kv_store or ('device' if self.ctx[0].device_type == 'gpu'
                                            else 'local')
            trainer = gluon.Trainer(params, 'sgd', optimizer_params, kvstore=kv_store,
                                    update_on_kvstore=False if devices.amp else None)
        if devices.amp:
            from mxnet.contrib import amp
            amp.init_trainer(trainer)
        if resume_params:
            # Not trainer.load_states: that unpickles, and a pickle can run any code.
            load_trainer_states(trainer, resume_params, resume_sidecar)
        return trainer

    def describe(self, config):
        mining = config.mining
        logger.info('Training %s (%s) on %s: %d images (%d negatives), %d validation images, '
                    '%d negative validation images, classes %s, hard options %s',
                    config.model.network, 'FPN' if self.net.num_stages > 1 else 'C4', self.ctx,
                    len(self.train_set), self.num_neg_train,
                    len(self.val_set) if self.val_set else 0,
                    len(self.neg_val) if self.neg_val else 0, self.classes,
                    config.hard.as_options())
        logger.info('Losses: RPN %s with %s negatives, RCNN %s negatives', mining.rpn_loss,
                    mining.rpn_neg_mining, mining.rcnn_sampler)
        if self.hvd:
            logger.info('Horovod: %d processes, %d image(s) per process and iteration (batch '
                        'size %d)', self.num_parts, self.process_batch,
                        config.schedule.batch_size)
        logger.info('Start training from [Epoch %d]', self.start_epoch)


def _train_epoch(session, config, epoch, pool):
    """One pass over the training set; returns ``(loss_means, accuracies, iterations,
    batches)``, the losses and accuracies over every rank under Horovod, ``batches`` this
    process's lists of training-set indices."""
    s, schedule, log_interval = session, config.schedule, config.output.log_interval
    batches = epoch_batches(len(s.train_set), s.process_batch,
                            np.random.default_rng([schedule.seed, epoch]), s.num_parts, s.part)
    if s.hvd:
        reseed_rcnn_sampler(s.net, s.sampler_seed, epoch, s.part)
    samples = _SeededTransforms(s.train_set, s.transforms, schedule.seed, epoch)
    loader = gluon.data.DataLoader(samples, batch_sampler=batches, batchify_fn=s.batchify,
                                   num_workers=config.data.num_workers)
    sums, acc, seen = np.zeros(len(LOSS_NAMES)), np.zeros(4), 0
    btic = time.time()
    for i, batch in enumerate(loader):
        s.trainer.set_learning_rate(lr_at(schedule.lr, epoch, i, schedule.lr_decay,
                                          s.decay_epochs, schedule.lr_warmup,
                                          schedule.lr_warmup_factor, len(batches)))
        shards = _split(batch, s.ctx)
        # The first step of each epoch runs serially: neither deferred initialization nor
        # building the graph that hybridize() (called before each epoch) dropped is thread-safe.
        if len(shards) > 1 and i > 0:
            results = list(pool.map(s.task.forward_backward, shards))
        else:
            results = [s.task.forward_backward(shard) for shard in shards]
        losses = np.array([[v.asscalar() for v in r[0]] for r in results]).mean(axis=0)
        step_acc = np.array([[v.asscalar() for v in r[1]] for r in results]).sum(axis=0)
        if s.hvd:
            # Every rank sees the global batch's numbers: the same log, the same stop.
            losses, step_acc = allreduce_step_values(s.hvd, losses, step_acc)
        # Losses before the update; parameters and BatchNorm statistics after it (which also
        # catches non-finite gradients): a NaN backbone can hide behind finite losses (ReLU
        # maps NaN to 0). Nothing is saved in between.
        where = 'at epoch {} iteration {}'.format(epoch, i)
        s.guard.check_losses(LOSS_NAMES, losses, where)
        s.trainer.step(s.process_batch)
        s.guard.check_parameters(where)
        sums += losses
        acc += step_acc
        seen += 1
        if s.rank0 and log_interval and (i + 1) % log_interval == 0:
            logger.info('[Epoch %d][Batch %d], Speed: %.3f samples/sec, lr=%.5f, %s', epoch, i,
                        log_interval * schedule.batch_size / (time.time() - btic),
                        s.trainer.learning_rate, _loss_text(sums / seen, acc))
            btic = time.time()
    return sums / max(seen, 1), acc, seen, batches


def _finish_epoch(session, config, epoch, loss_means, acc, seen, seconds, horovod=None):
    """Log, validate, save checkpoints and append the metrics line (rank 0 only); returns the
    line. ``horovod``: the epoch's :func:`gluoncv_hard.engine.distributed.epoch_summary`,
    recorded in the line."""
    s, output, prefix = session, config.output, config.output.save_prefix
    logger.info('[Epoch %d] Training cost: %.3f, %s', epoch, seconds, _loss_text(loss_means, acc))
    state = dict(epoch=epoch, best_map=s.best_map, network=config.model.network,
                 use_fpn=config.model.use_fpn, classes=s.classes, hard=config.hard.as_options(),
                 network_options=s.network_options, seed=config.schedule.seed,
                 lr=config.schedule.lr,
                 rng=[sampler.get_rng_state() for sampler in rcnn_samplers(s.net)])
    line = {'epoch': epoch, 'iterations': seen, 'lr': s.trainer.learning_rate,
            'train_seconds': round(seconds, 3),
            'train_losses': dict(zip(LOSS_NAMES, loss_means.tolist())), 'data': s.data.stats}
    if horovod is not None:
        line['horovod'] = horovod
    validate = (s.val_set is not None or s.neg_val is not None) and (
        (epoch + 1) % output.val_interval == 0 or epoch + 1 == config.schedule.epochs)
    if validate:
        tic = time.time()
        if not config.devices.disable_hybridization:
            s.net.hybridize(static_alloc=config.devices.static_alloc)  # the inference graph
        try:
            report = evaluate_network(s.net, s.ctx, s.classes, s.val_set, s.neg_val,
                                      num_workers=config.data.num_workers)
        except TrainingDiverged as e:
            raise s.guard.stopped('validation after epoch {}: {}'.format(epoch, e)) from None
        line['val'] = headline_metrics(report)
        line['val_seconds'] = round(time.time() - tic, 3)
        logger.info('[Epoch %d] Validation (hard boxes ignored): %s', epoch, ', '.join(
            '{}={}'.format(k, _fmt(v)) for k, v in line['val'].items()))
        current = line['val']['voc07_map']
        if current is not None and current > s.best_map:
            s.best_map = state['best_map'] = current
            path = _save(s, prefix, 'best', state)
            logger.info('[Epoch %d] mAP %.4f is the best so far, saved %s', epoch, current, path)
            line['best'] = True
    # The numbered checkpoint first: should a kill cut the renames of _last, a whole
    # checkpoint of this epoch exists (resume names it).
    if output.save_interval and (epoch + 1) % output.save_interval == 0:
        _save(s, prefix, '{:04d}'.format(epoch), state)
    text = json.dumps(line, sort_keys=True)
    # The line goes in once _last's new files are written, before they are renamed into place:
    # a kill before the line leaves the old _last; one after it, a _last that resume takes (the
    # old one, then resume drops the line, or the new one).
    s.last_path = s.guard.last_good = _save(
        s, prefix, 'last', state,
        before_commit=lambda: append_whole(prefix + METRICS_SUFFIX,
                                           (text + '\n').encode('utf-8')))
    if validate or epoch + 1 == config.schedule.epochs:
        _update_plot(prefix)
    return json.loads(text)


def _save(session, prefix, tag, state, before_commit=None):
    """``save_checkpoint``, whose refusal to write non-finite values names the last good
    checkpoint."""
    try:
        return save_checkpoint(prefix, tag, session.net, session.trainer, state,
                               before_commit=before_commit)
    except TrainingDiverged as e:
        raise session.guard.stopped(str(e)) from None
    except OSError as e:
        raise _OutputWriteFailed(e) from None


def _drop_metrics_lines(prefix, start_epoch):
    """Remove from ``PREFIX_metrics.jsonl`` (atomically) the lines of epochs ``start_epoch`` and
    later, which this run writes again: after a resume, lines written after the checkpoint (a
    kill between an epoch's line and its checkpoint, or a resume from an older checkpoint); in a
    new run, the lines of the run whose checkpoints it replaces. Returns their epochs."""
    path = prefix + METRICS_SUFFIX
    if not os.path.isfile(path):  # nothing yet (or not a regular file: the append says so)
        return []
    with open(path, 'rb') as f:
        lines = f.read().splitlines(keepends=True)
    kept, dropped = [], []
    for raw in lines:
        try:
            epoch = json.loads(raw).get('epoch')
        except (ValueError, AttributeError, RecursionError):  # not ours to judge: kept
            epoch = None
        if isinstance(epoch, int) and not isinstance(epoch, bool) and epoch >= start_epoch:
            dropped.append(epoch)
        else:
            kept.append(raw)
    if dropped:
        write_bytes_atomic(path, b''.join(kept))
    return dropped


def _last_whole_checkpoint(session):
    """``(path, epoch)`` of the checkpoint that resume would continue from, or None (no
    session yet, not rank 0, nothing saved, or no whole set on disk)."""
    last = session.last_path if session is not None and session.rank0 else None
    if not last:
        return None
    try:
        path, sidecar, _ = resumable_checkpoint(last, param='save_prefix')
    except (InputError, OSError):
        return None
    return path, sidecar['epoch']


def _write_failure(session, error):
    """The ``InputError`` for a failed write of a training output: which file, why, and the
    checkpoint that resume continues."""
    if session is None:  # while opening the outputs, before training
        return write_error(error, 'save_prefix', 'nothing was written')
    last = _last_whole_checkpoint(session)
    if last is None:
        return write_error(error, 'save_prefix', 'no checkpoint was saved yet')
    return write_error(error, 'save_prefix', 'the last whole checkpoint is {} (epoch {})'.format(
        *last), then='continue with resume={}'.format(last[0]))


# Where MXNet's data-loader workers fail when they cannot hand a batch over through /dev/shm.
_SHARED_MEMORY_FAULT = 'cpu_shared_storage_manager'


def _shared_memory_failure(session, error):
    """The ``SetupError`` for data-loader workers that cannot pass batches through shared
    memory (a full or small /dev/shm, a file size limit): what to change, and the checkpoint
    that resume continues."""
    detail = str(error).strip().splitlines()[-1].strip() or type(error).__name__
    last = _last_whole_checkpoint(session)
    if last is not None:
        last = 'the last whole checkpoint is {} (epoch {}): continue with resume={}'.format(
            last[0], last[1], last[0])
    return SetupError(
        "the data loader's worker processes cannot pass batches through shared memory "
        '(/dev/shm) on this machine ({}): free space in /dev/shm or enlarge it (docker run '
        '--shm-size=2g), raise the file size limit (ulimit -f), or use num_workers=0; {}'.format(
            detail, last or 'no checkpoint was saved yet'), param='num_workers')


def _update_plot(prefix):
    """Redraw ``PREFIX_metrics.png``. The picture is a convenience beside the metrics file,
    which stays the record: a failure to draw it is logged and training goes on."""
    try:
        plot_run(prefix)
    except Exception as e:  # noqa: BLE001 -- never lose a training run to its picture
        logger.warning('could not draw %s_metrics.png (%s: %s); gluoncv-hard-plot %s draws '
                       'it later', prefix, type(e).__name__, e, prefix)


def train(config):
    """Train as ``config`` says (see :mod:`gluoncv_hard.engine.config`).

    Parameters
    ----------
    config : TrainConfig

    Returns
    -------
    TrainResult
        Its ``checkpoint`` is the best (else the last) checkpoint's ``.params`` path.

    Raises
    ------
    InputError
        For data, checkpoints or settings that cannot work (before the first iteration).
    SetupError
        When the machine lacks what ``config`` asks for (Horovod, GPUs).
    TrainingDiverged
        When a loss, gradient, parameter or BatchNorm statistic became non-finite (or the
        validation's detections did); nothing of that epoch is saved, and the message names the
        last good checkpoint.
    gluoncv_hard.utils.signals.Interrupted
        On SIGINT or SIGTERM (a ``KeyboardInterrupt``; ``signum`` says which): temporary files
        are removed, finished checkpoints stay, the message says which one to resume.
    """
    if not isinstance(config, TrainConfig):
        raise TypeError('train() takes a TrainConfig (gluoncv_hard.engine.config), not '
                        '{}'.format(type(config).__name__))
    progress = {}
    with stop_on_signals():
        try:
            return _run(config, progress)
        except _OutputWriteFailed as e:
            raise _write_failure(progress.get('session'), e.error) from None
        except mx.base.MXNetError as e:
            if _SHARED_MEMORY_FAULT not in str(e):
                raise
            raise _shared_memory_failure(progress.get('session'), e) from None
        except KeyboardInterrupt as e:
            message = _interrupted_message(progress, getattr(e, 'signum', signal.SIGINT))
            try:
                logger.warning(message)
            except _OutputWriteFailed:  # the log cannot take it; the console has it
                pass
            raise Interrupted(message, getattr(e, 'signum', signal.SIGINT)) from None


def _run(config, progress):
    session = progress['session'] = _Session(config)
    prefix = config.output.save_prefix
    if session.rank0:
        try:
            for path in remove_stale_temps(os.path.dirname(os.path.abspath(prefix))):
                logger.info('Removed %s, a temporary file of a run that was killed', path)
            dropped = _drop_metrics_lines(prefix, session.start_epoch)
        except OSError as e:
            raise _OutputWriteFailed(e) from None
        if dropped:
            logger.info('Removed the lines of epoch%s %s from %s%s: this run trains %s again '
                        '(after a resume: they were written after its checkpoint)',
                        's' * (len(dropped) > 1), ', '.join(map(str, dropped)), prefix,
                        METRICS_SUFFIX, 'them' if len(dropped) > 1 else 'it')
        session.describe(config)  # its last line says that training starts
    metrics = []
    with ThreadPoolExecutor(max_workers=len(session.ctx)) as pool:
        for epoch in range(session.start_epoch, config.schedule.epochs):
            progress['epoch'] = epoch
            if not config.devices.disable_hybridization:
                session.net.hybridize(static_alloc=config.devices.static_alloc)
            tic = time.time()
            loss_means, acc, seen, batches = _train_epoch(session, config, epoch, pool)
            seconds = time.time() - tic
            summary = None
            if session.hvd:
                # On every rank: a rank whose parameters drifted stops them all.
                average_batchnorm_statistics(session.hvd, session.net, session.ctx[0])
                summary = epoch_summary(session.hvd, session.net, session.ctx[0],
                                        [i for batch in batches for i in batch], epoch)
            if session.rank0:
                metrics.append(_finish_epoch(session, config, epoch, loss_means, acc, seen,
                                             seconds, horovod=summary))
    best = prefix + '_best.params'
    return TrainResult(best=best if session.rank0 and os.path.isfile(best) else None,
                       last=session.last_path if session.rank0 else None,
                       metrics_path=prefix + METRICS_SUFFIX, metrics=tuple(metrics))


def _interrupted_message(progress, signum):
    """What an interrupted training left: where it stopped and which checkpoint to resume."""
    session, epoch = progress.get('session'), progress.get('epoch')
    name = signal.Signals(signum).name
    if session is None:
        return 'stopped by {} before training started; no checkpoint was written'.format(name)
    last = session.last_path
    if not last:
        saved = 'No checkpoint was saved yet.'
    else:
        try:
            saved_epoch = (read_sidecar(last) or {}).get('epoch')
        except InputError:
            saved_epoch = None
        saved = 'The last checkpoint is {}{}: continue with resume={}'.format(
            last, '' if saved_epoch is None else ' (epoch {})'.format(saved_epoch), last)
    where = 'epoch {}'.format(epoch) if epoch is not None else 'setup'
    return 'stopped by {} during {}; no temporary file is left. {}'.format(name, where, saved)


def _fmt(value):
    if isinstance(value, float):
        return '{:.4f}'.format(value)
    return str(value)


def _loss_text(loss_means, acc):
    rpn_acc = acc[0] / acc[1] if acc[1] else math.nan
    rcnn_acc = acc[2] / acc[3] if acc[3] else math.nan
    return 'RPN_Conf={:.3f}, RPN_SmoothL1={:.3f}, RCNN_CrossEntropy={:.3f}, ' \
           'RCNN_SmoothL1={:.3f}, RPNAcc={:.3f}, RCNNAcc={:.3f}'.format(*loss_means, rpn_acc,
                                                                       rcnn_acc)
