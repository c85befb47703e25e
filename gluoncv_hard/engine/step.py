"""The per-device forward/backward step of Faster R-CNN training; it passes the hard flags to
the network.

:class:`ForwardBackwardTask` takes two signatures: ours (``net, losses, trainer, amp_enabled``;
what :func:`gluoncv_hard.engine.trainer.train` uses) and GluonCV's
(``gluoncv.model_zoo.rcnn.faster_rcnn.data_parallel.ForwardBackwardTask``: ``net, optimizer,
rpn_cls_loss, rpn_box_loss, rcnn_cls_loss, rcnn_box_loss, mix_ratio, amp_enabled``), so that it
replaces GluonCV's in GluonCV's ``train_faster_rcnn.py`` with one import line
(docs/upstream_script.md).
"""
import inspect

from gluoncv.utils.parallel import Parallelizable
from mxnet import autograd, gluon

from gluoncv_hard import schema
from gluoncv_hard.core.codes import RPN_TARGET_IGNORE, TARGET_IGNORE
from gluoncv_hard.modeling.faster_rcnn import label_parts
from gluoncv_hard.modeling.losses import LOSS_NAMES, FasterRCNNLosses

__all__ = ['ForwardBackwardTask']


def _ours(net, losses=None, trainer=None, amp_enabled=False):
    """Our signature (only its parameters matter: it is bound, never called)."""


def _gluoncv(net, optimizer, rpn_cls_loss, rpn_box_loss, rcnn_cls_loss, rcnn_box_loss, mix_ratio,
             amp_enabled):
    """GluonCV 0.10's ``ForwardBackwardTask.__init__`` signature (bound, never called)."""


def _bind(net, args, kwargs):
    """``('ours' or 'gluoncv', {parameter: value})`` for the constructor's arguments."""
    for kind, signature in (('ours', _ours), ('gluoncv', _gluoncv)):
        try:
            bound = inspect.signature(signature).bind(net, *args, **kwargs)
        except TypeError:
            continue
        bound.apply_defaults()
        return kind, bound.arguments
    raise TypeError(
        'ForwardBackwardTask takes (net, losses=None, trainer=None, amp_enabled=False) or '
        "GluonCV's (net, optimizer, rpn_cls_loss, rpn_box_loss, rcnn_cls_loss, rcnn_box_loss, "
        'mix_ratio, amp_enabled); got {} positional and keyword arguments {}'.format(
            1 + len(args), sorted(kwargs)))


class ForwardBackwardTask(Parallelizable):
    """Forward and backward of one device's shard (thread-safe across devices).

    ``ForwardBackwardTask(net, losses=None, trainer=None, amp_enabled=False)``: ``losses`` a
    :class:`gluoncv_hard.modeling.losses.FasterRCNNLosses` (default: GluonCV's losses),
    ``trainer`` the ``gluon.Trainer`` (needed only with ``amp_enabled``).
    ``forward_backward((data, label, rpn_cls_targets, rpn_box_targets, rpn_box_masks))`` returns
    ``(loss_means, accuracies)``: the per-loss means (NDArray scalars, :data:`LOSS_NAMES` order)
    and ``(correct, counted)`` NDArray pairs for RPN and RCNN classification over the samples
    that are not ignored.

    ``ForwardBackwardTask(net, optimizer, rpn_cls_loss, rpn_box_loss, rcnn_cls_loss,
    rcnn_box_loss, mix_ratio, amp_enabled)``: GluonCV's signature, for GluonCV's training script.
    ``forward_backward`` then computes and returns what GluonCV's does (the four loss metrics
    scaled by ``mix_ratio``, then ``rpn_acc, rpn_l1_loss, rcnn_acc, rcnn_l1_loss`` metric inputs),
    except that the network gets ``gt_hard`` (label column ``schema.HARD``). With nothing hard,
    or ``hard_policy='positive'``, its losses equal GluonCV's.

    In both, ``label`` is ``(B, M, 6)`` (``xmin, ymin, xmax, ymax, cls, hard``; more columns,
    such as a mixup weight, are ignored); ``data`` is ``(B, 3, H, W)``.
    """

    def __init__(self, net, *args, **kwargs):
        kind, arguments = _bind(net, args, kwargs)
        self.net = net
        # The RCNN target generator holds constants; every device needs a copy.
        contexts = list(net.collect_params().values())[0].list_ctx()
        net.target_generator.collect_params().reset_ctx(contexts)
        self._gluoncv_outputs = kind == 'gluoncv'
        if self._gluoncv_outputs:
            # GluonCV's attribute names: its script sets ``task.mix_ratio`` every epoch.
            self._optimizer = arguments['optimizer']
            for name in ('rpn_cls_loss', 'rpn_box_loss', 'rcnn_cls_loss', 'rcnn_box_loss',
                         'mix_ratio', 'amp_enabled'):
                setattr(self, name, arguments[name])
            return
        losses = arguments['losses']
        if isinstance(losses, gluon.Trainer):
            raise TypeError('ForwardBackwardTask(net, losses, trainer, amp_enabled): the second '
                            "argument is a Trainer; GluonCV's signature takes eight arguments "
                            '(net, optimizer, rpn_cls_loss, rpn_box_loss, rcnn_cls_loss, '
                            'rcnn_box_loss, mix_ratio, amp_enabled)')
        self.losses = losses or FasterRCNNLosses()
        self._trainer = arguments['trainer']
        self._amp_enabled = arguments['amp_enabled']

    def forward_backward(self, x):
        if self._gluoncv_outputs:
            return self._gluoncv_forward_backward(x)
        data, label, rpn_cls_targets, rpn_box_targets, rpn_box_masks = x
        gt_box, gt_label, gt_hard = label_parts(label)
        with autograd.record():
            outputs = self.net(data, gt_box, gt_label, gt_hard)
            losses = self.losses(outputs, rpn_cls_targets, rpn_box_targets, rpn_box_masks)
            total = sum(loss.sum() for loss in losses.values())
            if self._amp_enabled:
                from mxnet.contrib import amp
                with amp.scale_loss(total, self._trainer) as scaled:
                    autograd.backward(scaled)
            else:
                total.backward()
        rpn_score, cls_pred, cls_targets = outputs[5].squeeze(axis=-1), outputs[0], outputs[8]
        rpn_counted = rpn_cls_targets != RPN_TARGET_IGNORE
        rcnn_counted = cls_targets != TARGET_IGNORE
        # A logit >= 0 predicts "object": 1 = RPN_TARGET_POSITIVE, 0 = RPN_TARGET_NEGATIVE.
        accuracies = (
            (((rpn_score >= 0) == rpn_cls_targets) * rpn_counted).sum(), rpn_counted.sum(),
            ((cls_pred.argmax(axis=-1) == cls_targets) * rcnn_counted).sum(), rcnn_counted.sum())
        return [losses[name].mean() for name in LOSS_NAMES], accuracies

    def _gluoncv_forward_backward(self, x):
        """GluonCV 0.10.5's ``ForwardBackwardTask.forward_backward``, operation for operation
        (so its numbers are GluonCV's), with ``gt_hard`` passed to the network."""
        data, label, rpn_cls_targets, rpn_box_targets, rpn_box_masks = x
        with autograd.record():
            gt_label = label[:, :, schema.CLASS_ID:schema.CLASS_ID + 1]
            gt_box = label[:, :, schema.XMIN:schema.YMAX + 1]
            # A label without the hard column (GluonCV's own transform) cannot say what is hard;
            # the network then warns that it trains without gt_hard.
            gt_hard = label[:, :, schema.HARD:schema.HARD + 1] \
                if label.shape[-1] > schema.HARD else None
            cls_pred, box_pred, _, _, _, rpn_score, rpn_box, _, cls_targets, \
                box_targets, box_masks, _ = self.net(data, gt_box, gt_label, gt_hard)
            # losses of rpn
            rpn_score = rpn_score.squeeze(axis=-1)
            num_rpn_pos = (rpn_cls_targets >= 0).sum()
            rpn_loss1 = self.rpn_cls_loss(rpn_score, rpn_cls_targets, rpn_cls_targets >= 0) * \
                rpn_cls_targets.size / num_rpn_pos
            rpn_loss2 = self.rpn_box_loss(rpn_box, rpn_box_targets,
                                          rpn_box_masks) * rpn_box.size / num_rpn_pos
            # rpn overall loss, use sum rather than average
            rpn_loss = rpn_loss1 + rpn_loss2
            # losses of rcnn
            num_rcnn_pos = (cls_targets >= 0).sum()
            rcnn_loss1 = self.rcnn_cls_loss(
                cls_pred, cls_targets, cls_targets.expand_dims(-1) >= 0) * cls_targets.size / \
                num_rcnn_pos
            rcnn_loss2 = self.rcnn_box_loss(box_pred, box_targets, box_masks) * box_pred.size / \
                num_rcnn_pos
            rcnn_loss = rcnn_loss1 + rcnn_loss2
            # overall losses
            total_loss = rpn_loss.sum() * self.mix_ratio + rcnn_loss.sum() * self.mix_ratio

            rpn_loss1_metric = rpn_loss1.mean() * self.mix_ratio
            rpn_loss2_metric = rpn_loss2.mean() * self.mix_ratio
            rcnn_loss1_metric = rcnn_loss1.mean() * self.mix_ratio
            rcnn_loss2_metric = rcnn_loss2.mean() * self.mix_ratio
            rpn_acc_metric = [[rpn_cls_targets, rpn_cls_targets >= 0], [rpn_score]]
            rpn_l1_loss_metric = [[rpn_box_targets, rpn_box_masks], [rpn_box]]
            rcnn_acc_metric = [[cls_targets], [cls_pred]]
            rcnn_l1_loss_metric = [[box_targets, box_masks], [box_pred]]

            if self.amp_enabled:
                from mxnet.contrib import amp
                with amp.scale_loss(total_loss, self._optimizer) as scaled_losses:
                    autograd.backward(scaled_losses)
            else:
                total_loss.backward()

        return rpn_loss1_metric, rpn_loss2_metric, rcnn_loss1_metric, rcnn_loss2_metric, \
            rpn_acc_metric, rpn_l1_loss_metric, rcnn_acc_metric, rcnn_l1_loss_metric
