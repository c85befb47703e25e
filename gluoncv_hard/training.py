"""Faster R-CNN training losses and the per-device forward/backward step.

The losses are those of GluonCV's training script (sigmoid BCE + smooth L1 for the RPN, softmax CE
+ smooth L1 for the RCNN head, each normalized by the number of non-ignored samples); the step
passes the hard flags to the network.
"""
from mxnet import autograd, gluon

from . import schema

__all__ = ['label_parts', 'FasterRCNNLosses', 'ForwardBackwardTask', 'LOSS_NAMES']

LOSS_NAMES = ('rpn_cls', 'rpn_box', 'rcnn_cls', 'rcnn_box')


def label_parts(label):
    """Split a batched label ``(B, M, 6)`` into ``gt_box (B, M, 4)``, ``gt_label (B, M, 1)`` and
    ``gt_hard (B, M, 1)``, the network's training inputs."""
    return (label.slice_axis(axis=-1, begin=schema.XMIN, end=schema.YMAX + 1),
            label.slice_axis(axis=-1, begin=schema.CLASS_ID, end=schema.CLASS_ID + 1),
            label.slice_axis(axis=-1, begin=schema.HARD, end=schema.HARD + 1))


class FasterRCNNLosses:
    """The four training losses from a ``HardFasterRCNN`` training forward.

    ``__call__(outputs, rpn_cls_targets, rpn_box_targets, rpn_box_masks)`` returns a dict of
    ``(B,)`` NDArrays named by :data:`LOSS_NAMES`. Ignored anchors (RPN target -1) and ignored RoIs
    (RCNN class target -1), which include everything neutralized by hard boxes, add nothing.
    """

    def __init__(self):
        self.rpn_cls_loss = gluon.loss.SigmoidBinaryCrossEntropyLoss(from_sigmoid=False)
        self.rpn_box_loss = gluon.loss.HuberLoss(rho=1. / 9.)
        self.rcnn_cls_loss = gluon.loss.SoftmaxCrossEntropyLoss()
        self.rcnn_box_loss = gluon.loss.HuberLoss()

    def __call__(self, outputs, rpn_cls_targets, rpn_box_targets, rpn_box_masks):
        (cls_pred, box_pred, _, _, _, rpn_score, rpn_box, _, cls_targets, box_targets,
         box_masks) = outputs[:11]
        rpn_score = rpn_score.squeeze(axis=-1)
        rpn_valid = rpn_cls_targets >= 0
        num_rpn = rpn_valid.sum()
        rcnn_valid = cls_targets >= 0
        num_rcnn = rcnn_valid.sum()
        return {
            'rpn_cls': self.rpn_cls_loss(rpn_score, rpn_cls_targets, rpn_valid)
                       * rpn_cls_targets.size / num_rpn,
            'rpn_box': self.rpn_box_loss(rpn_box, rpn_box_targets, rpn_box_masks)
                       * rpn_box.size / num_rpn,
            'rcnn_cls': self.rcnn_cls_loss(cls_pred, cls_targets, rcnn_valid.expand_dims(-1))
                        * cls_targets.size / num_rcnn,
            'rcnn_box': self.rcnn_box_loss(box_pred, box_targets, box_masks)
                        * box_pred.size / num_rcnn,
        }


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
        rpn_counted = rpn_cls_targets >= 0
        rcnn_counted = cls_targets >= 0
        accuracies = (
            (((rpn_score >= 0) == rpn_cls_targets) * rpn_counted).sum(), rpn_counted.sum(),
            ((cls_pred.argmax(axis=-1) == cls_targets) * rcnn_counted).sum(), rcnn_counted.sum())
        return [losses[name].mean() for name in LOSS_NAMES], accuracies
