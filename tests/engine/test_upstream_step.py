"""GluonCV's own train script as a client (docs/upstream_script.md).

The tests read the diff in the doc, run its changed lines, and train the way the script trains
(its ``get_dataloader`` and the body of its ``train``), with the tiny network in place of the
ResNet, on demo images with hard boxes converted to a width-6 ``.lst``.
"""
import argparse
import os
import pathlib
import re
import subprocess
import textwrap
import warnings
from types import SimpleNamespace

import gluoncv as gcv
import mxnet as mx
import numpy as np
import pytest
from gluoncv import data as gdata
from gluoncv.data.batchify import FasterRCNNTrainBatchify
from gluoncv.data.mixup.detection import MixupDetection
from gluoncv.model_zoo.rcnn.faster_rcnn import data_parallel
from gluoncv.utils.metrics.rcnn import (
    RCNNAccMetric,
    RCNNL1LossMetric,
    RPNAccMetric,
    RPNL1LossMetric,
)
from gluoncv.utils.metrics.voc_detection import VOC07MApMetric
from gluoncv.utils.parallel import Parallel
from mxnet import gluon

import gluoncv_hard
from gluoncv_hard import FasterRCNNDefaultTrainTransform, schema
from gluoncv_hard.data.convert import convert_to_lst
from gluoncv_hard.data.problems import ProblemLog
from gluoncv_hard.data.voc import voc_source
from gluoncv_hard.engine.step import ForwardBackwardTask
from gluoncv_hard.errors import InputError
from gluoncv_hard.modeling.faster_rcnn import MissingHardFlagsWarning, label_parts

DOC = pathlib.Path(__file__).resolve().parents[2] / 'docs' / 'upstream_script.md'
UPSTREAM_PATH = 'scripts/detection/faster_rcnn/train_faster_rcnn.py'
UPSTREAM_TAG = 'v0.10.0'


# --- the diff in the doc -----------------------------------------------------------------------

def doc_diff():
    (block,) = re.findall(r'```diff\n(.*?)```', DOC.read_text(encoding='utf-8'), re.S)
    return block


def parse_hunks(diff):
    """``[((old_start, old_len, new_start, new_len), lines), ...]`` of a one-file diff."""
    lines = diff.splitlines()
    assert lines[:2] == ['--- a/' + UPSTREAM_PATH, '+++ b/' + UPSTREAM_PATH]
    hunks = []
    for line in lines[2:]:
        header = re.fullmatch(r'@@ -(\d+),(\d+) \+(\d+),(\d+) @@.*', line)
        if header:
            hunks.append((tuple(int(g) for g in header.groups()), []))
        else:
            # A Markdown editor may strip the one space of an empty context line.
            hunks[-1][1].append(line or ' ')
    return hunks


def side(lines, new):
    return [line[1:] for line in lines if line[0] in (' +' if new else ' -')]


def import_lines(hunks, new):
    """The first hunk (the imports) on one side, up to its last changed line: the context after
    it opens a ``try`` that the hunk does not close."""
    lines = hunks[0][1]
    last = max(i for i, line in enumerate(lines) if line[0] == ('+' if new else '-'))
    return '\n'.join(side(lines[:last + 1], new))


def added_block(hunks, first):
    """The consecutive added lines that start with the one reading ``first`` (stripped)."""
    for _, lines in hunks:
        for i, line in enumerate(lines):
            if line[0] == '+' and line[1:].strip() == first:
                block = []
                for later in lines[i:]:
                    if later[0] != '+':
                        break
                    block.append(later[1:])
                return block
    raise AssertionError('no added line {!r} in the diff of {}'.format(first, DOC.name))


def names_from(code):
    namespace = {'gcv': gcv}
    exec(code, namespace)  # the doc's own lines: the point of the test
    return namespace


def apply_diff(original, hunks):
    """``original`` text with ``hunks`` applied; AssertionError where a hunk does not match."""
    source = original.splitlines()
    out, at = [], 0
    for (old_start, old_len, _, _), lines in hunks:
        old = side(lines, new=False)
        assert source[old_start - 1:old_start - 1 + old_len] == old, \
            'hunk at line {} does not match GluonCV {}'.format(old_start, UPSTREAM_TAG)
        out += source[at:old_start - 1] + side(lines, new=True)
        at = old_start - 1 + old_len
    return '\n'.join(out + source[at:]) + '\n'


def test_the_diff_is_well_formed():
    hunks = parse_hunks(doc_diff())
    delta = 0
    for (old_start, old_len, new_start, new_len), lines in hunks:
        assert all(line[0] in ' +-' for line in lines)
        assert len(side(lines, False)) == old_len and len(side(lines, True)) == new_len
        assert new_start == old_start + delta
        delta += new_len - old_len
    new_imports = import_lines(hunks, new=True)
    for name in ('get_model', 'FasterRCNNDefaultTrainTransform', 'ForwardBackwardTask'):
        assert names_from(new_imports)[name].__module__.startswith('gluoncv_hard')
        assert names_from(import_lines(hunks, new=False))[name].__module__.startswith('gluoncv.')


def upstream_script():
    repo = os.environ.get('GLUONCV_REPO')
    if not repo:
        pytest.skip('set GLUONCV_REPO to a clone (or bare copy) of dmlc/gluon-cv to check the '
                    'diff against its train_faster_rcnn.py')
    done = subprocess.run(['git', '-C', repo, 'show', '{}:{}'.format(UPSTREAM_TAG, UPSTREAM_PATH)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_diff_applies_to_gluoncvs_script():
    patched = apply_diff(upstream_script(), parse_hunks(doc_diff()))
    compile(patched, UPSTREAM_PATH, 'exec')
    assert 'from gluoncv_hard.engine.step import ForwardBackwardTask' in patched


# --- demo data as the script reads it ------------------------------------------------------------

@pytest.fixture(scope='module')
def lst(tmp_path_factory):
    """Demo training scenes (4 hard boxes among 15) as a width-6 ``.lst``; ``(path, root)``."""
    from gluoncv_hard.demo.generate import generate_demo_dataset
    root = str(tmp_path_factory.mktemp('upstream') / 'demo')
    generate_demo_dataset(root, seed=1, n_train=6, n_val=3, n_negatives_pool=0,
                          n_negatives_test=0, progress=False)
    log = ProblemLog()
    out = os.path.join(os.path.dirname(root), 'lst', 'train.lst')
    result = convert_to_lst([voc_source(root, ['train'], log)], out, log=log, progress=False)
    return out, result.image_root


def script_args(lst, **changes):
    """The script's parsed flags: its defaults (CPU values) and the doc's ``--lst-*`` flags."""
    parser = argparse.ArgumentParser()
    block = added_block(parse_hunks(doc_diff()),
                        "parser.add_argument('--lst-train', type=str, default='',")
    exec(textwrap.dedent('\n'.join(block)), {'parser': parser})  # the doc's added flags
    args = parser.parse_args(['--lst-train', lst[0], '--lst-val', lst[0], '--lst-root', lst[1]])
    defaults = dict(dataset='lst', use_fpn=False, num_workers=0, horovod=False, amp=False,
                    executor_threads=1, mixup=False, epochs=1, no_mixup_epochs=0,
                    disable_hybridization=False, static_alloc=False, lr=0.01, wd=5e-4,
                    momentum=0.9, kv_store='local', rpn_smoothl1_rho=1. / 9.,
                    rcnn_smoothl1_rho=1., batch_size=1)
    return SimpleNamespace(**dict(defaults, **vars(args), **changes))


def script_dataset(args):
    """The doc's ``lst`` branch of ``get_dataset``, run; then the script's mixup wrap."""
    block = added_block(parse_hunks(doc_diff()), "elif dataset.lower() == 'lst':")
    namespace = {'gdata': gdata, 'os': os, 'VOC07MApMetric': VOC07MApMetric, 'args': args,
                 'dataset': args.dataset}
    exec(textwrap.dedent('\n'.join(block[1:])), namespace)
    train_dataset = namespace['train_dataset']
    if args.mixup:
        train_dataset = MixupDetection(train_dataset)
    return train_dataset


def script_network(names, args, network='tiny', **extra):
    """The doc's network lines, run for resnet50_v1b; then the doc's ``get_model`` builds
    ``network`` (the tiny one: the ResNet takes seconds per iteration) with their kwargs, and
    the script's initialization."""
    block = added_block(parse_hunks(doc_diff()), "if args.dataset == 'lst':")
    namespace = {'args': args, 'kwargs': {},
                 'net_name': '_'.join(('faster_rcnn', 'resnet50_v1b', args.dataset))}
    exec(textwrap.dedent('\n'.join(block)), namespace)
    assert namespace['net_name'] == 'faster_rcnn_resnet50_v1b_custom'
    net = names['get_model'](network, per_device_batch_size=args.batch_size,
                             **dict(namespace['kwargs'], **extra))
    for param in net.collect_params().values():
        if param._data is not None:
            continue
        param.initialize()
    net.collect_params().reset_ctx([mx.cpu()])
    return net


def split_and_load(batch, ctx_list):
    """The script's ``split_and_load``, verbatim."""
    new_batch = []
    for i, data in enumerate(batch):  # noqa: B007 -- GluonCV's code, as it is
        if isinstance(data, (list, tuple)):
            new_data = [x.as_in_context(ctx) for x, ctx in zip(data, ctx_list)]
        else:
            new_data = [data.as_in_context(ctx_list[0])]
        new_batch.append(new_data)
    return new_batch


def script_epoch(names, net, train_dataset, args):
    """One epoch as the script's ``get_dataloader`` and ``train`` run it (no horovod, no
    validation). Returns ``(metrics, seen)``: the script's metric values by name, and per
    iteration ``(label, rois, samples, matches)`` of the first device."""
    ctx = [mx.cpu()]
    FasterRCNNDefaultTrainTransform = names['FasterRCNNDefaultTrainTransform']
    ForwardBackwardTask = names['ForwardBackwardTask']
    batch_size = args.batch_size
    # get_dataloader
    train_bfn = FasterRCNNTrainBatchify(net, len(ctx))
    if hasattr(train_dataset, 'get_im_aspect_ratio'):
        im_aspect_ratio = train_dataset.get_im_aspect_ratio()
    else:
        im_aspect_ratio = [1.] * len(train_dataset)
    train_sampler = gcv.data.sampler.SplitSortedBucketSampler(
        im_aspect_ratio, batch_size, num_parts=1, part_index=0, shuffle=True)
    train_data = mx.gluon.data.DataLoader(train_dataset.transform(
        FasterRCNNDefaultTrainTransform(net.short, net.max_size, net, ashape=net.ashape,
                                        multi_stage=args.use_fpn)),
        batch_sampler=train_sampler, batchify_fn=train_bfn, num_workers=args.num_workers)
    # train
    kv = mx.kvstore.create(args.kv_store)
    net.collect_params().setattr('grad_req', 'null')
    net.collect_train_params().setattr('grad_req', 'write')
    optimizer_params = {'learning_rate': args.lr, 'wd': args.wd, 'momentum': args.momentum}
    trainer = gluon.Trainer(net.collect_train_params(), 'sgd', optimizer_params,
                            update_on_kvstore=(False if args.amp else None), kvstore=kv)
    rpn_cls_loss = mx.gluon.loss.SigmoidBinaryCrossEntropyLoss(from_sigmoid=False)
    rpn_box_loss = mx.gluon.loss.HuberLoss(rho=args.rpn_smoothl1_rho)  # == smoothl1
    rcnn_cls_loss = mx.gluon.loss.SoftmaxCrossEntropyLoss()
    rcnn_box_loss = mx.gluon.loss.HuberLoss(rho=args.rcnn_smoothl1_rho)  # == smoothl1
    metrics = [mx.metric.Loss('RPN_Conf'), mx.metric.Loss('RPN_SmoothL1'),
               mx.metric.Loss('RCNN_CrossEntropy'), mx.metric.Loss('RCNN_SmoothL1')]
    metrics2 = [RPNAccMetric(), RPNL1LossMetric(), RCNNAccMetric(), RCNNL1LossMetric()]

    seen, outputs = [], []
    hook = net.register_forward_hook(lambda block, inputs, out: outputs.append(
        tuple(out[k].asnumpy() for k in (2, 3, 4))))
    try:
        rcnn_task = ForwardBackwardTask(net, trainer, rpn_cls_loss, rpn_box_loss, rcnn_cls_loss,
                                        rcnn_box_loss, mix_ratio=1.0, amp_enabled=args.amp)
        executor = Parallel(args.executor_threads, rcnn_task)
        mix_ratio = 1.0
        if not args.disable_hybridization:
            with warnings.catch_warnings():  # our hook is on the top block: it does fire
                warnings.filterwarnings('ignore', message='(?s).*while still having forward hook')
                net.hybridize(static_alloc=args.static_alloc)
        if args.mixup:
            train_data._dataset._data.set_mixup(np.random.uniform, 0.5, 0.5)
            mix_ratio = 0.5
        for metric in metrics:
            metric.reset()
        rcnn_task.mix_ratio = mix_ratio
        for batch in train_data:
            batch = split_and_load(batch, ctx_list=ctx)  # noqa: PLW2901 -- GluonCV's loop
            metric_losses = [[] for _ in metrics]
            add_losses = [[] for _ in metrics2]
            for data in zip(*batch):
                executor.put(data)
            for _ in range(len(ctx)):
                result = executor.get()
                for k in range(len(metric_losses)):
                    metric_losses[k].append(result[k])
                for k in range(len(add_losses)):
                    add_losses[k].append(result[len(metric_losses) + k])
            trainer.step(batch_size)
            for metric, record in zip(metrics, metric_losses):
                metric.update(0, record)
            for metric, records in zip(metrics2, add_losses):
                for pred in records:
                    metric.update(pred[0], pred[1])
            seen.append((batch[1][0].asnumpy(),) + outputs[-1])
        del executor  # stops its thread
    finally:
        hook.detach()
    return dict(metric.get() for metric in metrics + metrics2), seen


def foreground_on_hard(seen):
    """``(foreground RoIs matched to a hard box, foreground RoIs that are a hard box itself,
    all foreground RoIs, hard boxes)`` of ``(label, rois, samples, matches)`` batches."""
    on_hard = appended = foreground = hard_boxes = 0
    for label, rois, samples, matches in seen:
        for image_label, image_rois, image_samples, image_matches in zip(label, rois, samples,
                                                                         matches):
            hard = schema.is_hard(image_label[:, schema.HARD])
            fg = image_samples == 1
            on_hard += int(hard[image_matches[fg].astype(int)].sum())
            for box in image_label[hard, :4]:
                appended += int((np.abs(image_rois[fg] - box).max(axis=1) < 1e-3).sum())
            foreground += int(fg.sum())
            hard_boxes += int(hard.sum())
    return on_hard, appended, foreground, hard_boxes


# --- the training step with and without the change ---------------------------------------------

@pytest.mark.parametrize('mixup', [False, pytest.param(True, marks=pytest.mark.slow)])
def test_the_scripts_step_with_the_change_trains_no_foreground_on_hard_boxes(lst, mixup):
    mx.random.seed(0)
    np.random.seed(0)
    names = names_from(import_lines(parse_hunks(doc_diff()), new=True))
    args = script_args(lst, mixup=mixup)
    train_dataset = script_dataset(args)
    net = script_network(names, args)
    assert isinstance(net, gluoncv_hard.HardFasterRCNN) and net.classes == ['face']
    with warnings.catch_warnings():
        warnings.simplefilter('error', MissingHardFlagsWarning)
        metrics, seen = script_epoch(names, net, train_dataset, args)
    on_hard, appended, foreground, hard_boxes = foreground_on_hard(seen)
    assert len(seen) == 6 and hard_boxes >= 4
    assert foreground > 0 and on_hard == appended == 0
    labels = [label for label, *_ in seen]
    assert all(label.shape[-1] == (7 if mixup else 6) for label in labels)
    if mixup:  # the script mixes every image half and half: the weight column survives
        weights = np.concatenate([label[0, :, 6] for label in labels])
        assert set(weights[weights != schema.PAD_VALUE].tolist()) == {0.5}
    assert set(metrics) == {'RPN_Conf', 'RPN_SmoothL1', 'RCNN_CrossEntropy', 'RCNN_SmoothL1',
                            'RPNAcc', 'RPNL1Loss', 'RCNNAcc', 'RCNNL1Loss'}
    assert all(np.isfinite(value) for value in metrics.values())


def test_without_the_change_the_network_warns_and_trains_foreground_on_hard_boxes(lst):
    """The issue's "original patch": our transform and get_model, GluonCV's step."""
    mx.random.seed(0)
    np.random.seed(0)
    hunks = parse_hunks(doc_diff())
    names = names_from(import_lines(hunks, new=True))
    names['ForwardBackwardTask'] = names_from(import_lines(hunks, new=False))[
        'ForwardBackwardTask']
    assert names['ForwardBackwardTask'] is data_parallel.ForwardBackwardTask
    args = script_args(lst)
    train_dataset = script_dataset(args)
    net = script_network(names, args)
    with pytest.warns(MissingHardFlagsWarning) as caught:
        _, seen = script_epoch(names, net, train_dataset, args)
    (warning,) = [w for w in caught if w.category is MissingHardFlagsWarning]
    message = str(warning.message)
    assert "hard_policy='ignore'" in message and 'label_parts' in message
    assert 'gluoncv_hard.engine.step.ForwardBackwardTask' in message
    on_hard, appended, _, hard_boxes = foreground_on_hard(seen)
    # Every hard box is appended to the proposals, and trains as foreground.
    assert on_hard >= appended > 0 and hard_boxes >= 4


@pytest.mark.slow
def test_the_docs_network_name_builds_a_hard_resnet(lst):
    names = names_from(import_lines(parse_hunks(doc_diff()), new=True))
    args = script_args(lst)
    script_dataset(args)  # sets args.classes from the .classes.txt
    net = script_network(names, args, network='faster_rcnn_resnet50_v1b_custom',
                         pretrained_base=False)
    assert isinstance(net, gluoncv_hard.HardFasterRCNN) and net.classes == ['face']


# --- our ForwardBackwardTask against GluonCV's -------------------------------------------------

RNG = np.random.default_rng(0)
IMAGES = [mx.nd.array(RNG.integers(0, 255, (240, 320, 3)), dtype='uint8') for _ in range(2)]
LABELS = [np.array([[20, 30, 80, 100, 0, 0], [200, 60, 280, 160, 0, 1],
                    [120, 150, 170, 200, 0, 0]], np.float32),
          np.array([[40, 40, 150, 120, 0, 1], [180, 100, 260, 200, 0, 0]], np.float32)]


def gluoncv_losses():
    return (mx.gluon.loss.SigmoidBinaryCrossEntropyLoss(from_sigmoid=False),
            mx.gluon.loss.HuberLoss(rho=1. / 9.), mx.gluon.loss.SoftmaxCrossEntropyLoss(),
            mx.gluon.loss.HuberLoss(rho=1.))


def one_batch(net, labels):
    transform = FasterRCNNDefaultTrainTransform(net.short, net.max_size, net, ashape=net.ashape,
                                                flip_p=0.0, rng=0)
    batch = FasterRCNNTrainBatchify(net, 1)([transform(image, label)
                                             for image, label in zip(IMAGES, labels)])
    return [batch[0], batch[1]] + [t[0] for t in batch[2:]]


def run_task(task_class, net, batch, mix_ratio=1.0):
    """``(losses, metric inputs, (label, rois, samples, matches))`` of one forward_backward."""
    trainer = gluon.Trainer(net.collect_train_params(), 'sgd', {'learning_rate': 0.01})
    task = task_class(net, trainer, *gluoncv_losses(), mix_ratio=mix_ratio, amp_enabled=False)
    net.sampler.reseed(5)
    outputs = []
    hook = net.register_forward_hook(lambda block, inputs, out: outputs.append(
        tuple(out[k].asnumpy() for k in (2, 3, 4))))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', MissingHardFlagsWarning)
            result = task.forward_backward(batch)
    finally:
        hook.detach()
    losses = [value.asscalar() for value in result[:4]]
    metric_inputs = [[a.asnumpy() for group in metric for a in group] for metric in result[4:]]
    return losses, metric_inputs, (batch[1].asnumpy(),) + outputs[0]


@pytest.mark.parametrize('policy, hard_column', [('ignore', 'zeros'), ('positive', 'flags')])
def test_our_task_gives_gluoncvs_losses_when_nothing_is_lost(make_tiny_net, policy, hard_column):
    net = make_tiny_net('tiny', per_device_batch_size=2, hard_policy=policy)
    labels = [label * np.array([1, 1, 1, 1, 1, hard_column == 'flags'], np.float32)
              for label in LABELS]
    batch = one_batch(net, labels)
    assert (batch[1].asnumpy()[..., schema.HARD] == 1).any() == (hard_column == 'flags')
    # mix_ratio 0.5 (the script's under --mixup) scales every loss, in both.
    theirs = run_task(data_parallel.ForwardBackwardTask, net, batch, mix_ratio=0.5)
    ours = run_task(ForwardBackwardTask, net, batch, mix_ratio=0.5)
    np.testing.assert_allclose(ours[0], theirs[0], rtol=1e-5)
    assert np.isfinite(ours[0]).all() and ours[0][2] > 0
    for our_metric, their_metric in zip(ours[1], theirs[1]):
        for a, b in zip(our_metric, their_metric):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_our_task_in_gluoncvs_signature_passes_the_hard_flags(make_tiny_net):
    net = make_tiny_net('tiny', per_device_batch_size=2)
    batch = one_batch(net, LABELS)
    theirs = run_task(data_parallel.ForwardBackwardTask, net, batch)
    ours = run_task(ForwardBackwardTask, net, batch)
    assert foreground_on_hard([ours[2]])[:2] == (0, 0)
    assert foreground_on_hard([theirs[2]])[1] == 2  # both hard boxes, as foreground RoIs
    assert ours[0][:2] == pytest.approx(theirs[0][:2], rel=1e-5)  # the RPN targets are shared


def test_task_signatures(make_tiny_net):
    net = make_tiny_net('tiny')
    trainer = gluon.Trainer(net.collect_train_params(), 'sgd', {'learning_rate': 0.01})
    task = ForwardBackwardTask(net, trainer, *gluoncv_losses(), 0.5, False)
    assert task.mix_ratio == 0.5 and task._optimizer is trainer and not task.amp_enabled
    keywords = dict(zip(('rpn_cls_loss', 'rpn_box_loss', 'rcnn_cls_loss', 'rcnn_box_loss'),
                        gluoncv_losses()))
    task = ForwardBackwardTask(net=net, optimizer=trainer, mix_ratio=1.0, amp_enabled=False,
                               **keywords)
    assert task.rpn_cls_loss is keywords['rpn_cls_loss']
    assert ForwardBackwardTask(net).losses is not None  # ours
    with pytest.raises(TypeError, match="GluonCV's signature takes eight arguments"):
        ForwardBackwardTask(net, trainer)
    with pytest.raises(TypeError, match='mix_ratio, amp_enabled'):
        ForwardBackwardTask(net, trainer, *gluoncv_losses())


# --- the warning -------------------------------------------------------------------------------

def train_forward(net, with_hard):
    gt_box, gt_label, gt_hard = label_parts(mx.nd.array(np.stack([LABELS[0]])))
    with mx.autograd.record():
        if with_hard:
            net(mx.nd.zeros((1, 3, 128, 160)), gt_box, gt_label, gt_hard)
        else:
            net(mx.nd.zeros((1, 3, 128, 160)), gt_box, gt_label)


def test_the_warning_fires_once_per_network_and_only_when_flags_are_lost(make_tiny_net):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        first, second = make_tiny_net('tiny'), make_tiny_net('tiny', hard_policy='drop')
        for _ in range(3):
            train_forward(first, with_hard=False)
        train_forward(second, with_hard=False)
        train_forward(make_tiny_net('tiny'), with_hard=True)
        train_forward(make_tiny_net('tiny', hard_policy='positive'), with_hard=False)
        first(mx.nd.zeros((1, 3, 128, 160)))  # inference takes no labels
    missing = [w for w in caught if w.category is MissingHardFlagsWarning]
    assert [str(w.message).split(')', 1)[0] for w in missing] == [
        "HardFasterRCNN (hard_policy='ignore'", "HardFasterRCNN (hard_policy='drop'"]
    # It points at the line that called the network, not into MXNet.
    assert all(w.filename == __file__ for w in missing)


# --- mixup labels in the transform ---------------------------------------------------------------

def test_mixup_label_keeps_hard_flag_and_weight(tiny_c4_net):
    def transform(image, label):  # flip_p=1 and a fixed sampler seed: two calls agree
        return FasterRCNNDefaultTrainTransform(320, 512, tiny_c4_net, ashape=tiny_c4_net.ashape,
                                               flip_p=1.0, rng=0)(image, label)

    label = np.concatenate([LABELS[0], np.array([[0.3], [0.3], [1.0]], np.float32)], axis=1)
    _, out, cls_targets, _, _ = transform(IMAGES[0], label)
    assert out.shape == (3, 7) and out.dtype == np.float32
    np.testing.assert_array_equal(out[:, 5:], label[:, 5:])
    reference = transform(IMAGES[0], LABELS[0])
    np.testing.assert_allclose(out[:, :6], reference[1])
    np.testing.assert_array_equal(cls_targets[0], reference[2][0])  # the hard box is ignored
    _, empty, *_ = transform(IMAGES[0], np.zeros((0, 7), np.float32))
    np.testing.assert_array_equal(empty, np.full((1, 7), schema.PAD_VALUE, np.float32))
    bad = label.copy()
    bad[1, 6] = 1.5
    with pytest.raises(InputError, match="box 1 has 1.5 in column 6.*MixupDetection weight"):
        transform(IMAGES[0], bad)


def test_mixup_of_a_five_column_label_is_refused_with_the_reason(tiny_c4_net):
    five_columns = gluon.data.SimpleDataset([(IMAGES[0], LABELS[0][:, :5]),
                                             (IMAGES[1], LABELS[1][:, :5])])
    mixed = MixupDetection(five_columns)
    mixed.set_mixup(np.random.uniform, 0.5, 0.5)
    img, label = mixed[0]
    assert label.shape == (5, 6) and set(label[:, 5].tolist()) == {0.5}
    transform = FasterRCNNDefaultTrainTransform(320, 512, tiny_c4_net, ashape=tiny_c4_net.ashape)
    with pytest.raises(InputError, match=r'has hard flag 0\.5.*MixupDetection.*5-column label'):
        transform(img, label)
