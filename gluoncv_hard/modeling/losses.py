"""Faster R-CNN training losses.

The losses are those of GluonCV's training script (sigmoid BCE + smooth L1 for the RPN, softmax CE
+ smooth L1 for the RCNN head, each normalized by the number of non-ignored samples).
"""
from mxnet import autograd, gluon, nd

from gluoncv_hard.core.codes import RPN_TARGET_IGNORE, RPN_TARGET_POSITIVE, TARGET_IGNORE
from gluoncv_hard.errors import InputError
from gluoncv_hard.modeling.ohem import (
    hard_negative_mask,
    sigmoid_bce_per_sample,
    sigmoid_focal_loss,
    softmax_ce_per_sample,
)

__all__ = ['FasterRCNNLosses', 'LOSS_NAMES', 'RPN_LOSSES', 'NEG_MININGS']

LOSS_NAMES = ('rpn_cls', 'rpn_box', 'rcnn_cls', 'rcnn_box')

RPN_LOSSES = ('bce', 'focal')
NEG_MININGS = ('random', 'ohem')


class FasterRCNNLosses:
    """The four training losses from a ``HardFasterRCNN`` training forward.

    ``__call__(outputs, rpn_cls_targets, rpn_box_targets, rpn_box_masks)`` returns a dict of
    ``(B,)`` NDArrays named by :data:`LOSS_NAMES`. Ignored anchors (``RPN_TARGET_IGNORE``) and
    ignored RoIs (RCNN class target ``TARGET_IGNORE``), which include everything neutralized by
    hard boxes, add nothing (see :mod:`gluoncv_hard.core.codes`).

    Parameters
    ----------
    rpn_loss : {'bce', 'focal'}
        Objectness loss: GluonCV's binary cross-entropy over the sampled anchors, or the focal
        loss over every labelled anchor (normalized by the number of positives).
    rpn_neg_mining, rcnn_sampler : {'random', 'ohem'}
        ``random``: the samplers' random negatives (GluonCV). ``ohem``: of the labelled
        negatives, only the ``max(neg_pos_ratio * positives, min_neg)`` with the highest loss
        count (:mod:`gluoncv_hard.modeling.ohem`); the RPN transform must then label every negative
        (``keep_all_negatives``) and the RCNN sampler return a larger pool.
    neg_pos_ratio, min_neg : float, int
    focal_gamma, focal_alpha : float
    """

    def __init__(self, rpn_loss='bce', rpn_neg_mining='random', rcnn_sampler='random',
                 neg_pos_ratio=3.0, min_neg=16, focal_gamma=2.0, focal_alpha=0.25):
        for name, value, allowed in (('rpn_loss', rpn_loss, RPN_LOSSES),
                                     ('rpn_neg_mining', rpn_neg_mining, NEG_MININGS),
                                     ('rcnn_sampler', rcnn_sampler, NEG_MININGS)):
            if value not in allowed:
                raise InputError('{}={!r}; choose one of: {}'.format(name, value,
                                                                   ', '.join(allowed)),
                                 param=name)
        if rpn_loss == 'focal' and rpn_neg_mining == 'ohem':
            raise InputError('the focal loss already down-weights easy negatives; use it '
                             'without RPN hard negative mining', param='rpn_neg_mining')
        if neg_pos_ratio <= 0:
            raise InputError('neg_pos_ratio must be > 0 and min_neg >= 0',
                             param='neg_pos_ratio')
        if min_neg < 0:
            raise InputError('neg_pos_ratio must be > 0 and min_neg >= 0', param='min_neg')
        self.rpn_loss, self.rpn_neg_mining, self.rcnn_sampler = (rpn_loss, rpn_neg_mining,
                                                                 rcnn_sampler)
        self.neg_pos_ratio, self.min_neg = neg_pos_ratio, min_neg
        self.focal_gamma, self.focal_alpha = focal_gamma, focal_alpha
        self.rpn_cls_loss = gluon.loss.SigmoidBinaryCrossEntropyLoss(from_sigmoid=False)
        self.rpn_box_loss = gluon.loss.HuberLoss(rho=1. / 9.)
        self.rcnn_cls_loss = gluon.loss.SoftmaxCrossEntropyLoss()
        self.rcnn_box_loss = gluon.loss.HuberLoss()

    @property
    def rpn_needs_all_negatives(self):
        """Whether the RPN targets must label every negative anchor."""
        return self.rpn_loss == 'focal' or self.rpn_neg_mining == 'ohem'

    def _mined(self, per_sample, target):
        with autograd.pause():
            return hard_negative_mask(nd, per_sample, target, self.neg_pos_ratio,
                                      self.min_neg)

    def _rpn(self, rpn_score, rpn_box, cls_t, box_t, box_m):
        batch = rpn_score.shape[0]
        if self.rpn_loss == 'focal':
            per_anchor = sigmoid_focal_loss(nd, rpn_score, cls_t, self.focal_gamma,
                                            self.focal_alpha)
            norm = nd.maximum((cls_t == RPN_TARGET_POSITIVE).sum(), nd.ones((1,), cls_t.context))
            cls = (per_anchor * (cls_t != RPN_TARGET_IGNORE)).sum(axis=1) * batch / norm
        elif self.rpn_neg_mining == 'ohem':
            per_anchor = sigmoid_bce_per_sample(nd, rpn_score, cls_t)
            weight = self._mined(per_anchor, cls_t)
            norm = weight.sum()
            cls = (per_anchor * weight).sum(axis=1) * batch / norm
        else:
            valid = cls_t != RPN_TARGET_IGNORE
            norm = valid.sum()
            cls = self.rpn_cls_loss(rpn_score, cls_t, valid) * cls_t.size / norm
        return cls, self.rpn_box_loss(rpn_box, box_t, box_m) * rpn_box.size / norm

    def _rcnn(self, cls_pred, box_pred, cls_t, box_t, box_m):
        if self.rcnn_sampler == 'ohem':
            per_roi = softmax_ce_per_sample(nd, cls_pred, cls_t)
            weight = self._mined(per_roi, cls_t)
            norm = weight.sum()
            cls = (per_roi * weight).sum(axis=1) * cls_pred.shape[0] / norm
        else:
            valid = cls_t != TARGET_IGNORE
            norm = valid.sum()
            cls = self.rcnn_cls_loss(cls_pred, cls_t, valid.expand_dims(-1)) * cls_t.size / norm
        return cls, self.rcnn_box_loss(box_pred, box_t, box_m) * box_pred.size / norm

    def __call__(self, outputs, rpn_cls_targets, rpn_box_targets, rpn_box_masks):
        (cls_pred, box_pred, _, _, _, rpn_score, rpn_box, _, cls_targets, box_targets,
         box_masks) = outputs[:11]
        rpn_cls, rpn_box_loss = self._rpn(rpn_score.squeeze(axis=-1), rpn_box, rpn_cls_targets,
                                          rpn_box_targets, rpn_box_masks)
        rcnn_cls, rcnn_box = self._rcnn(cls_pred, box_pred, cls_targets, box_targets, box_masks)
        return {'rpn_cls': rpn_cls, 'rpn_box': rpn_box_loss, 'rcnn_cls': rcnn_cls,
                'rcnn_box': rcnn_box}
