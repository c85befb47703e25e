"""The per-device forward/backward step of Faster R-CNN training; it passes the hard flags to
the network."""
from mxnet import autograd

from gluoncv_hard.core.codes import RPN_TARGET_IGNORE, TARGET_IGNORE
from gluoncv_hard.modeling.faster_rcnn import label_parts
from gluoncv_hard.modeling.losses import LOSS_NAMES, FasterRCNNLosses

__all__ = ['ForwardBackwardTask']


class ForwardBackwardTask:
    """Forward and backward of one device's shard (thread-safe across devices).

    ``forward_backward((data, label, rpn_cls_targets, rpn_box_targets, rpn_box_masks))`` returns
    ``(loss_means, accuracies)``: the per-loss means (NDArray scalars, :data:`LOSS_NAMES` order)
    and ``(correct, counted)`` NDArray pairs for RPN and RCNN classification over the samples
    that are not ignored.
    """

    def __init__(self, net, losses=None, trainer=None, amp_enabled=False):
        self.net = net
        # The RCNN target generator holds constants; every device needs a copy.
        contexts = list(net.collect_params().values())[0].list_ctx()
        net.target_generator.collect_params().reset_ctx(contexts)
        self.losses = losses or FasterRCNNLosses()
        self._trainer = trainer
        self._amp_enabled = amp_enabled

    def forward_backward(self, x):
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
