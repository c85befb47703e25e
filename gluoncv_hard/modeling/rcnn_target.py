"""Hard-aware second-stage (RCNN) proposal sampling.

GluonCV's ``RCNNTargetSampler`` runs inside the network: it appends every GT box to the RPN
proposals, calls IoU >= ``pos_iou_thresh`` foreground and everything else background. Here the same
sampling is one NumPy function, :func:`sample_rois`, built on :mod:`gluoncv_hard.matching`, and
:class:`RCNNTargetSampler` runs it inside the (hybridizable) network as an MXNet custom operator.

Under ``ignore`` a hard box is not appended as a proposal, never matched, and proposals near it
are sampled neither as foreground nor as background (sample 0; the RCNN target generator turns that
into class target -1, which GluonCV's training loss masks out).
"""
import itertools
import threading

import mxnet as mx
import numpy as np
from gluoncv.model_zoo.rcnn.faster_rcnn import rcnn_target as gluoncv_rcnn_target
from mxnet import autograd, gluon

from gluoncv_hard import schema
from gluoncv_hard.core.matching import IGNORE, HardConfig, assign_boxes
from gluoncv_hard.core.sampling import as_generator, choose, sample_indices

__all__ = ['match_rois', 'sample_rois', 'RCNNTargetSampler', 'CUSTOM_OP_TYPE']

CUSTOM_OP_TYPE = 'gluoncv_hard_rcnn_sampler'

# Each sampler block owns a random generator. Custom-op arguments are strings, so the operator
# finds it by key; it outlives re-hybridization (which recreates the operator), and it is not
# the global NumPy state, which data-loader code may reseed.
_GENERATORS = {}
_GENERATORS_LOCK = threading.Lock()
_NEXT_KEY = itertools.count()


def sample_rois(rois, scores, gt_boxes, gt_hard, num_sample, max_pos, pos_iou_thresh, config,
                rng=None):
    """Sample the RoIs of one image for the RCNN head.

    Parameters
    ----------
    rois : (P, 4) float array, RPN proposals (corner encoded)
    scores : (P,) float array, proposal scores; negative means "not a proposal" (padding)
    gt_boxes : (M, 4) float array; rows equal to ``schema.PAD_VALUE`` are padding
    gt_hard : (M,) float array of 0/1 (padding rows may hold anything)
    num_sample : int, RoIs returned
    max_pos : int, at most this many foreground RoIs
    pos_iou_thresh : float, IoU >= this with a normal box is foreground, below is background
    config : HardConfig
    rng : see :func:`gluoncv_hard.sampling.as_generator`

    Returns
    -------
    rois : (num_sample, 4) float32, positives first, then negatives, then ignored fill
    samples : (num_sample,) float32, 1 foreground, -1 background, 0 ignored
    matches : (num_sample,) float32, index into ``gt_boxes`` of the matched (normal) box; 0 for
        RoIs that are not foreground
    """
    rng = as_generator(rng)
    candidates, _, assignment, gt_idx = match_rois(rois, scores, gt_boxes, gt_hard,
                                                   pos_iou_thresh, config)
    pos, neg = sample_indices(assignment.labels, num_sample, max_pos, rng)
    order = np.concatenate([pos, neg])
    fill = num_sample - len(order)
    if fill:
        # Fixed output size: pad with RoIs that the loss will ignore.
        unused = np.setdiff1d(np.arange(len(candidates)), order, assume_unique=True)
        extra = choose(unused, fill, rng)
        if len(extra) < fill:
            extra = np.concatenate([extra, rng.choice(len(candidates), fill - len(extra))])
        order = np.concatenate([order, extra])
    samples = np.full(num_sample, IGNORE, np.float32)
    samples[:len(pos)] = 1
    samples[len(pos):len(pos) + len(neg)] = -1
    matches = np.zeros(num_sample, np.float32)
    matches[:len(pos)] = gt_idx[assignment.matches[pos]]
    return candidates[order], samples, matches


def match_rois(rois, scores, gt_boxes, gt_hard, pos_iou_thresh, config):
    """The labels of the RCNN stage before sampling (the first half of :func:`sample_rois`).

    Parameters are those of :func:`sample_rois`.

    Returns
    -------
    candidates : (P + G, 4) float32, the proposals (non-finite ones zeroed), then the G appended
        normal GT boxes
    valid : (P + G,) bool, candidates that may be sampled
    assignment : Assignment of the candidates to the real GT boxes ``gt_boxes[gt_idx]``
    gt_idx : (M',) int64, the rows of ``gt_boxes`` that are not padding
    """
    rois = np.asarray(rois, np.float32).reshape(-1, 4)
    # A diverging network proposes NaN/inf boxes; passed on, they crash ROIAlign. Zeroed and
    # never sampled as fg/bg, they let the loss turn NaN and the training loop stop cleanly.
    finite = np.isfinite(rois).all(axis=1)
    rois = np.where(finite[:, None], rois, 0)
    gt_boxes = np.asarray(gt_boxes, np.float32).reshape(-1, 4)
    real = ~np.all(gt_boxes == schema.PAD_VALUE, axis=1)
    gt_idx = np.flatnonzero(real)
    hard = np.asarray(gt_hard, np.float32).reshape(-1)[gt_idx] > 0.5
    # GT boxes join the proposals so every normal box has at least one perfect foreground RoI.
    appended = gt_boxes[gt_idx[config.normal_columns(hard)]]
    candidates = np.concatenate([rois, appended])
    valid = np.concatenate([(np.asarray(scores).reshape(-1) >= 0) & finite,
                            np.ones(len(appended), bool)])
    # neg_thresh = pos_thresh: no in-between band; best_match_min_iou = pos_thresh: the
    # "best candidate" rule adds nothing, as in GluonCV's RCNN stage.
    assignment = assign_boxes(candidates, gt_boxes[gt_idx], hard, config,
                              pos_thresh=pos_iou_thresh, neg_thresh=pos_iou_thresh,
                              best_match_min_iou=pos_iou_thresh, valid=valid)
    return candidates, valid, assignment, gt_idx


class _SamplerOp(mx.operator.CustomOp):
    def __init__(self, num_sample, max_pos, pos_iou_thresh, config, rng_key):
        super().__init__()
        self._args = (num_sample, max_pos, pos_iou_thresh, config)
        self._rng_key = rng_key

    def forward(self, is_train, req, in_data, out_data, aux):
        rois, scores, gt = (x.asnumpy() for x in in_data)
        with _GENERATORS_LOCK:  # several devices may share one sampler block
            rng = _GENERATORS[self._rng_key]
            per_image = [sample_rois(rois[i], scores[i], gt[i, :, :4], gt[i, :, 4], *self._args,
                                     rng=rng) for i in range(len(rois))]
        for k, out in enumerate(out_data):
            self.assign(out, req[k], np.stack([result[k] for result in per_image]))

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        for grad, r in zip(in_grad, req):
            self.assign(grad, r, 0)


@mx.operator.register(CUSTOM_OP_TYPE)
class _SamplerOpProp(mx.operator.CustomOpProp):
    # Custom-op arguments arrive as strings.
    def __init__(self, num_sample, max_pos, pos_iou_thresh, policy, overlap, thresh, precedence,
                 cover_thresh, rng_key):
        super().__init__(need_top_grad=False)
        self._rng_key = int(rng_key)
        self._num_sample = int(num_sample)
        self._max_pos = int(max_pos)
        self._pos_iou_thresh = float(pos_iou_thresh)
        self._config = HardConfig(policy, overlap, float(thresh), precedence, float(cover_thresh))

    def list_arguments(self):
        # gt_boxes_and_hard: (B, M, 5), the hard flag as a fifth column.
        return ['rois', 'scores', 'gt_boxes_and_hard']

    def list_outputs(self):
        return ['sampled_rois', 'samples', 'matches']

    def infer_shape(self, in_shape):
        batch = in_shape[0][0]
        return in_shape, [[batch, self._num_sample, 4], [batch, self._num_sample],
                          [batch, self._num_sample]], []

    def create_operator(self, ctx, shapes, dtypes):
        return _SamplerOp(self._num_sample, self._max_pos, self._pos_iou_thresh, self._config,
                          self._rng_key)


class RCNNTargetSampler(gluoncv_rcnn_target.RCNNTargetSampler):
    """Hard-aware replacement of GluonCV's ``RCNNTargetSampler`` (works hybridized, any context).

    Parameters
    ----------
    num_sample : int, default 128
        RoIs per image passed to the RCNN head.
    pos_iou_thresh : float, default 0.5
    pos_ratio : float, default 0.25
        At most ``round(num_sample * pos_ratio)`` foreground RoIs.
    hard_policy, hard_overlap, hard_thresh, hard_precedence, hard_cover_thresh
        As for :class:`gluoncv_hard.RPNTargetSampler`.
    seed : int, optional
        Seed of this sampler's random generator; by default drawn from NumPy's global state
        when the sampler is built (so ``np.random.seed`` before building the network repeats a
        run).

    Call as ``sampler(rois (B, P, 4), scores (B, P, 1), gt_boxes (B, M, 4), gt_hard (B, M, 1))``,
    or with ``gt_boxes`` of shape ``(B, M, 5)`` holding the hard flag last and no ``gt_hard`` (how
    :class:`gluoncv_hard.HardFasterRCNN` calls it). Returns ``rois (B, S, 4)``, ``samples (B, S)``
    (1 / -1 / 0) and ``matches (B, S)`` like GluonCV's.
    """

    def __init__(self, num_sample=128, pos_iou_thresh=0.5, pos_ratio=0.25, hard_policy='ignore',
                 hard_overlap='iof', hard_thresh=0.5, hard_precedence='normal_wins',
                 hard_cover_thresh=0.95, seed=None, **kwargs):
        # Subclassing GluonCV's sampler lets it replace ``net.sampler`` (gluon refuses a child of
        # another type), but none of the stock constructor's fixed-shape settings are needed.
        gluon.HybridBlock.__init__(self, **kwargs)  # pylint: disable=non-parent-init-called
        config = HardConfig(hard_policy, hard_overlap, hard_thresh, hard_precedence,
                            hard_cover_thresh)
        self.hard_config = config
        rng_key = next(_NEXT_KEY)
        self._op_kwargs = dict(
            num_sample=num_sample, max_pos=int(round(num_sample * pos_ratio)),
            pos_iou_thresh=pos_iou_thresh, policy=config.policy, overlap=config.overlap,
            thresh=config.thresh, precedence=config.precedence, cover_thresh=config.cover_thresh,
            rng_key=rng_key)
        # GluonCV's networks read these two.
        self._num_sample = num_sample
        self._max_pos = self._op_kwargs['max_pos']
        self.reseed(np.random.randint(0, 2 ** 31 - 1) if seed is None else seed)

    def reseed(self, seed):
        """Restart this sampler's random generator from ``seed``."""
        with _GENERATORS_LOCK:
            _GENERATORS[self._op_kwargs['rng_key']] = np.random.default_rng(seed)

    @property
    def num_sample(self):
        """RoIs returned per image."""
        return self._num_sample

    @property
    def max_pos(self):
        """At most this many foreground RoIs per image."""
        return self._max_pos

    @property
    def pos_iou_thresh(self):
        """IoU with a normal box from which a RoI is foreground."""
        return self._op_kwargs['pos_iou_thresh']

    def resized(self, num_sample):
        """A sampler like this one that returns ``num_sample`` RoIs, with the same cap on
        positives (online hard example mining samples a larger pool for the loss to pick from).
        """
        if num_sample < self._max_pos:
            raise ValueError('num_sample {} is below the {} positives allowed'.format(
                num_sample, self._max_pos))
        config = self.hard_config
        return RCNNTargetSampler(num_sample, self.pos_iou_thresh,
                                 self._max_pos / num_sample, config.policy, config.overlap,
                                 config.thresh, config.precedence, config.cover_thresh)

    # pylint: disable=arguments-differ
    def hybrid_forward(self, F, rois, scores, gt_boxes, gt_hard=None):
        if gt_hard is not None:
            gt_boxes = F.concat(gt_boxes, gt_hard, dim=-1)
        with autograd.pause():
            return F.Custom(F.stop_gradient(rois), F.stop_gradient(scores), gt_boxes,
                            op_type=CUSTOM_OP_TYPE, **self._op_kwargs)
