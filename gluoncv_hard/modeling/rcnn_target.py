"""Hard-aware second-stage (RCNN) proposal sampling.

GluonCV's ``RCNNTargetSampler`` runs inside the network: it appends every GT box to the RPN
proposals, calls IoU >= ``pos_iou_thresh`` foreground and everything else background. Here the same
sampling is one NumPy function, :func:`sample_rois`, built on :mod:`gluoncv_hard.core.matching`,
and :class:`RCNNTargetSampler` runs it inside the (hybridizable) network as an MXNet custom
operator.

Under ``ignore`` a hard box is not appended as a proposal, never matched, and proposals near it
are sampled neither as foreground nor as background (sample 0; the RCNN target generator turns that
into class target -1, which GluonCV's training loss masks out).
"""
import itertools
import json
import threading

import mxnet as mx
import numpy as np
from gluoncv.model_zoo.rcnn.faster_rcnn import rcnn_target as gluoncv_rcnn_target
from mxnet import autograd, gluon

from gluoncv_hard import schema
from gluoncv_hard.core.codes import IGNORE, NEGATIVE, POSITIVE
from gluoncv_hard.core.config import HardConfig, check_count, check_fraction, pop_hard_config
from gluoncv_hard.core.inputs import as_boxes, as_flags
from gluoncv_hard.core.matching import assign_boxes
from gluoncv_hard.core.sampling import as_generator, choose, sample_indices
from gluoncv_hard.errors import InputError

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
    rois : (P, 4) float array, RPN proposals (corner encoded); P may be 0
    scores : (P,) float array (any shape of P elements), proposal scores; negative means "not a
        proposal" (padding)
    gt_boxes : (M, 4) float array; rows equal to ``schema.PAD_VALUE`` are padding
    gt_hard : (M,) float array of 0/1 (any shape of M elements; padding rows may hold anything)
    num_sample : int, RoIs returned
    max_pos : int, at most this many foreground RoIs
    pos_iou_thresh : float, IoU >= this with a normal box is foreground, below is background
    config : HardConfig
    rng : see :func:`gluoncv_hard.core.sampling.as_generator`

    Returns
    -------
    rois : (num_sample, 4) float32, positives first, then negatives, then ignored fill (zero
        boxes when there is no candidate at all)
    samples : (num_sample,) float32, POSITIVE (1) foreground, NEGATIVE (-1) background, IGNORE
        (0) ignored
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
            if not len(candidates):  # nothing to repeat: one zero box, ignored
                candidates = np.zeros((1, 4), np.float32)
            extra = np.concatenate([extra, rng.choice(len(candidates), fill - len(extra))])
        order = np.concatenate([order, extra])
    samples = np.full(num_sample, IGNORE, np.float32)
    samples[:len(pos)] = POSITIVE
    samples[len(pos):len(pos) + len(neg)] = NEGATIVE
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
    rois = as_boxes(rois, 'rois')
    scores = as_flags(scores, len(rois), 'scores', what='proposals', dtype=np.float32,
                      noun='scores')
    # A diverging network proposes NaN/inf boxes; passed on, they crash ROIAlign. Zeroed and
    # never sampled as fg/bg, they let the loss turn NaN and the training loop stop cleanly.
    finite = np.isfinite(rois).all(axis=1)
    rois = np.where(finite[:, None], rois, 0)
    gt_boxes = as_boxes(gt_boxes, 'gt_boxes')
    gt_idx = np.flatnonzero(~schema.is_padding_row(gt_boxes))
    hard = schema.is_hard(as_flags(gt_hard, len(gt_boxes), 'gt_hard', dtype=np.float32)[gt_idx])
    # GT boxes join the proposals so every normal box has at least one perfect foreground RoI.
    appended = gt_boxes[gt_idx[config.normal_columns(hard)]]
    candidates = np.concatenate([rois, appended])
    valid = np.concatenate([(scores >= 0) & finite, np.ones(len(appended), bool)])
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
            per_image = [sample_rois(rois[i], scores[i], gt[i, :, schema.BOX],
                                     gt[i, :, schema.GT_BOX_HARD], *self._args, rng=rng)
                         for i in range(len(rois))]
        for k, out in enumerate(out_data):
            self.assign(out, req[k], np.stack([result[k] for result in per_image]))

    def backward(self, req, out_grad, in_data, out_data, in_grad, aux):
        for grad, r in zip(in_grad, req):
            self.assign(grad, r, 0)


@mx.operator.register(CUSTOM_OP_TYPE)
class _SamplerOpProp(mx.operator.CustomOpProp):
    # Custom-op arguments arrive as strings; the HardConfig travels as the JSON of its keyword
    # form, so a new option needs no change here.
    def __init__(self, num_sample, max_pos, pos_iou_thresh, hard_config, rng_key):
        super().__init__(need_top_grad=False)
        self._rng_key = int(rng_key)
        self._num_sample = int(num_sample)
        self._max_pos = int(max_pos)
        self._pos_iou_thresh = float(pos_iou_thresh)
        self._config = HardConfig.from_options(json.loads(hard_config))

    def list_arguments(self):
        # gt_boxes_and_hard: (B, M, schema.GT_BOX_WIDTH), the hard flag as the last column.
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
    num_sample : int >= 1, default 128
        RoIs per image passed to the RCNN head.
    pos_iou_thresh : float in (0, 1], default 0.5
    pos_ratio : float in (0, 1], default 0.25
        At most ``round(num_sample * pos_ratio)`` foreground RoIs.
    hard_config : gluoncv_hard.HardConfig, optional
        Default ``HardConfig()``; or pass the five keyword arguments ``hard_policy``,
        ``hard_overlap``, ``hard_thresh``, ``hard_precedence``, ``hard_cover_thresh`` (as for
        :class:`gluoncv_hard.RPNTargetSampler`).
    seed : int, optional
        Seed of this sampler's random generator; by default drawn from NumPy's global state
        when the sampler is built (so ``np.random.seed`` before building the network repeats a
        run).
    **kwargs
        ``prefix``, ``params`` of ``gluon.HybridBlock``.

    Bad values raise :class:`gluoncv_hard.errors.InputError` naming the parameter.

    Call as ``sampler(rois (B, P, 4), scores (B, P, 1), gt_boxes (B, M, 4), gt_hard (B, M, 1))``,
    or with ``gt_boxes`` of shape ``(B, M, 5)`` holding the hard flag last
    (``schema.GT_BOX_HARD``) and no ``gt_hard`` (how :class:`gluoncv_hard.HardFasterRCNN` calls
    it). Returns ``rois (B, S, 4)``, ``samples (B, S)`` (POSITIVE / NEGATIVE / IGNORE) and
    ``matches (B, S)`` like GluonCV's.
    """

    def __init__(self, num_sample=128, pos_iou_thresh=0.5, pos_ratio=0.25, *, hard_config=None,
                 seed=None, **kwargs):
        config = pop_hard_config(kwargs, hard_config)
        check_count('num_sample', num_sample)
        check_fraction('pos_iou_thresh', pos_iou_thresh)
        check_fraction('pos_ratio', pos_ratio)
        # Subclassing GluonCV's sampler lets it replace ``net.sampler`` (gluon refuses a child of
        # another type), but none of the stock constructor's fixed-shape settings are needed.
        gluon.HybridBlock.__init__(self, **kwargs)
        self.hard_config = config
        self._op_kwargs = dict(
            num_sample=num_sample, max_pos=int(round(num_sample * pos_ratio)),
            pos_iou_thresh=pos_iou_thresh, hard_config=json.dumps(config.as_options()),
            rng_key=next(_NEXT_KEY))
        # GluonCV's networks read these two.
        self._num_sample = num_sample
        self._max_pos = self._op_kwargs['max_pos']
        self.reseed(np.random.randint(0, 2 ** 31 - 1) if seed is None else seed)

    def reseed(self, seed):
        """Restart this sampler's random generator from ``seed``."""
        with _GENERATORS_LOCK:
            _GENERATORS[self._op_kwargs['rng_key']] = np.random.default_rng(seed)
        self._seed = seed

    @property
    def seed(self):
        """The seed this sampler's generator was last (re)started from."""
        return self._seed

    def get_rng_state(self):
        """The current state of this sampler's generator: a JSON-able dict (NumPy's
        ``bit_generator.state``), for checkpoints; :meth:`set_rng_state` continues from it."""
        # The operator runs asynchronously, on MXNet's engine threads: let every pending draw
        # happen first.
        mx.nd.waitall()
        with _GENERATORS_LOCK:
            return dict(_GENERATORS[self._op_kwargs['rng_key']].bit_generator.state)

    def set_rng_state(self, state):
        """Continue this sampler's random stream from :meth:`get_rng_state`'s ``state``.

        Raises ``InputError`` (param ``rng_state``) when ``state`` is not a state of NumPy's
        default generator (PCG64), e.g. from a damaged checkpoint sidecar.
        """
        generator = np.random.default_rng(0)
        try:
            if not (isinstance(state, dict) and state.get('bit_generator') ==
                    type(generator.bit_generator).__name__):
                raise TypeError('not a {} state'.format(type(generator.bit_generator).__name__))
            generator.bit_generator.state = state
        except (TypeError, ValueError, KeyError, OverflowError) as e:
            raise InputError('rng_state is not a state of the RCNN sampler\'s random generator '
                             '({}): {!r:.200}'.format(e, state), param='rng_state') from None
        mx.nd.waitall()  # pending draws belong to the old stream
        with _GENERATORS_LOCK:
            _GENERATORS[self._op_kwargs['rng_key']] = generator

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

        It keeps this sampler's hard config, seed and random stream: its generator continues
        from this one's current state.
        """
        check_count('num_sample', num_sample)
        if num_sample < self._max_pos:
            raise InputError('num_sample {} is below the {} positives allowed'.format(
                num_sample, self._max_pos), param='num_sample')
        sampler = RCNNTargetSampler(num_sample, self.pos_iou_thresh, hard_config=self.hard_config,
                                    seed=self._seed)
        # The cap is copied, not recomputed from a ratio (which could round to another count).
        sampler._max_pos = sampler._op_kwargs['max_pos'] = self._max_pos
        with _GENERATORS_LOCK:
            state = _GENERATORS[self._op_kwargs['rng_key']].bit_generator.state
            _GENERATORS[sampler._op_kwargs['rng_key']].bit_generator.state = state
        return sampler

    def hybrid_forward(self, F, rois, scores, gt_boxes, gt_hard=None):
        if gt_hard is not None:
            gt_boxes = F.concat(gt_boxes, gt_hard, dim=-1)
        with autograd.pause():
            return F.Custom(F.stop_gradient(rois), F.stop_gradient(scores), gt_boxes,
                            op_type=CUSTOM_OP_TYPE, **self._op_kwargs)
