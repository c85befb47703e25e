"""Online hard negative selection (SSD's 3:1 rule) and the sigmoid focal loss.

Both work on per-sample losses computed by the network for the candidates the samplers labelled,
with the loss-target codes of :mod:`gluoncv_hard.core.codes`: above ``TARGET_BACKGROUND`` (0)
positive (RPN: 1, RCNN: class id + 1), ``TARGET_BACKGROUND`` negative, ``TARGET_IGNORE`` (-1)
ignored (which includes everything neutralized by hard boxes, and is never selected).
:func:`hard_negative_mask_np` is the NumPy reference; :func:`hard_negative_mask` is the same rule
with MXNet operators, run on the training device.
"""
import numpy as np

from gluoncv_hard.core.codes import TARGET_BACKGROUND

__all__ = ['hard_negative_mask_np', 'hard_negative_mask', 'sigmoid_focal_loss',
           'softmax_ce_per_sample', 'sigmoid_bce_per_sample']


def hard_negative_mask_np(loss, target, neg_pos_ratio, min_neg):
    """Which samples to train on: every positive and the highest-loss negatives.

    Parameters
    ----------
    loss : (B, N) float array, per-sample loss
    target : (B, N) array, > 0 positive, 0 negative, < 0 ignored
    neg_pos_ratio : float
        Negatives kept per positive, per image (SSD uses 3).
    min_neg : int
        Negatives kept at least (an image without positives still teaches background).

    Returns
    -------
    (B, N) bool: positives, plus for each image the ``max(ratio * num_pos, min_neg)``
    negatives with the highest loss (fewer if it has fewer). Ties keep the lower index.
    """
    loss = np.asarray(loss, dtype=np.float64)
    target = np.asarray(target)
    mask = target > TARGET_BACKGROUND
    for i in range(len(loss)):
        negatives = np.flatnonzero(target[i] == TARGET_BACKGROUND)
        k = int(max(neg_pos_ratio * mask[i].sum(), min_neg))
        order = negatives[np.argsort(-loss[i, negatives], kind='stable')]
        mask[i, order[:k]] = True
    return mask


def hard_negative_mask(F, loss, target, neg_pos_ratio, min_neg):
    """:func:`hard_negative_mask_np` with MXNet operators (``F`` = ``mx.nd`` or ``mx.sym``).

    Returns a float (B, N) mask (1 = train on it). Use under ``autograd.pause()``.
    """
    positive = target > TARGET_BACKGROUND
    negative = target == TARGET_BACKGROUND
    # Rank negatives by loss, highest first; everything else sorts after them.
    neg_loss = F.where(negative, loss, F.ones_like(loss) * -np.inf)
    order = F.argsort(neg_loss, axis=1, is_ascend=False)
    rank = F.argsort(order, axis=1)
    num_pos = F.sum(positive, axis=1, keepdims=True)
    k = F.maximum(num_pos * neg_pos_ratio, F.ones_like(num_pos) * min_neg)
    return positive + negative * F.broadcast_lesser(rank, k)


def sigmoid_bce_per_sample(F, logit, target):
    """Binary cross-entropy with logits, per sample (target 1 / 0; others are masked later)."""
    target = F.maximum(target, F.zeros_like(target))  # ignored -> background, masked later
    return F.relu(logit) - logit * target + F.Activation(-F.abs(logit), act_type='softrelu')


def softmax_ce_per_sample(F, logits, target):
    """Softmax cross-entropy per sample; ``logits (B, N, C)``, ``target (B, N)`` class ids
    (negative targets are clamped to 0 and must be masked out by the caller)."""
    return -F.pick(F.log_softmax(logits, axis=-1), F.maximum(target, F.zeros_like(target)),
                   axis=-1)


def sigmoid_focal_loss(F, logit, target, gamma=2.0, alpha=0.25):
    """Focal loss (Lin et al.) per sample: ``-alpha_t (1 - p_t)^gamma log(p_t)``.

    ``target`` 1 / 0; ignored samples (-1) must be masked out by the caller.
    """
    target = F.maximum(target, F.zeros_like(target))
    p = F.sigmoid(logit)
    p_t = p * target + (1 - p) * (1 - target)
    alpha_t = alpha * target + (1 - alpha) * (1 - target)
    return alpha_t * (1 - p_t) ** gamma * sigmoid_bce_per_sample(F, logit, target)
