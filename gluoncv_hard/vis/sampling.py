"""What the samplers train on for one image: RPN anchors and RCNN RoIs, labelled and drawn.

The anchors come from the real training path: :class:`gluoncv_hard.FasterRCNNDefaultTrainTransform`
(no flip) computes the RPN targets of the image under a :class:`gluoncv_hard.HardConfig`, and its
``cls_targets`` are mapped back to the anchors with ``transform._anchors_for(h, w)``, the anchors in
target order. So a picture shows the anchors training sees *after* random subsampling:

- positive (cls target 1) and negative (cls target 0) anchors;
- anchors ignored *because of a hard box*: valid (inside the image) anchors that the matching
  labels IGNORE and that overlap a hard box above the threshold
  (:func:`gluoncv_hard.matching.assign_boxes`, same thresholds as the transform). Anchors ignored
  for other reasons (IoU between the two thresholds, crossing the border, not subsampled) are
  counted but not drawn.

The RCNN stage needs trained weights: the network's RPN (in training mode, i.e. with the training
pre/post-NMS counts) proposes RoIs for the image and :func:`gluoncv_hard.rcnn_target.sample_rois`
samples them with the same hard config. Foreground and background RoIs are the sampled ones;
ignored RoIs are the proposals the matching labels IGNORE near a hard box.

Coordinates: everything is drawn on the image **as the network sees it**, i.e. resized by the
transform (e.g. short side 320 for ``tiny``); boxes are not mapped back to the original image.
That way anchor sizes and strides appear at their true scale relative to the objects.
"""
from dataclasses import dataclass, field

import cv2
import mxnet as mx
import numpy as np
from mxnet import autograd

from gluoncv_hard import schema
from gluoncv_hard.core.matching import IGNORE, HardConfig, assign_boxes, near_hard_mask
from gluoncv_hard.core.sampling import as_generator, choose
from gluoncv_hard.data.transform import FasterRCNNDefaultTrainTransform
from gluoncv_hard.engine.checkpoint import read_sidecar
from gluoncv_hard.engine.networks import load_trained_network
from gluoncv_hard.modeling.rcnn_target import sample_rois
from gluoncv_hard.modeling.rpn_target import as_numpy
from gluoncv_hard.modeling.zoo import TINY_NETWORKS, get_model
from gluoncv_hard.vis import draw as visualize

__all__ = ['COMPARED_POLICIES', 'RPN_DEFAULTS', 'DEFAULT_MAX_NEGATIVES', 'AnchorView', 'RoiView',
           'build_network', 'anchor_view', 'roi_view', 'negatives_to_draw', 'anchors_to_draw',
           'rois_to_draw', 'render_view', 'render_comparison', 'policy_title', 'summary_lines']

# The order of the --compare panels: the two baselines, then the policy under test.
COMPARED_POLICIES = ('positive', 'drop', 'ignore')
# The training transform's RPN sampling defaults (GluonCV's).
RPN_DEFAULTS = dict(num_sample=256, pos_iou_thresh=0.7, neg_iou_thresh=0.3, pos_ratio=0.5)
# Negative anchors / background RoIs drawn per panel: all of them would hide the image.
DEFAULT_MAX_NEGATIVES = 40


@dataclass
class AnchorView:
    """The RPN sampling of one image under one hard config.

    Attributes
    ----------
    config : HardConfig
    image : (H, W, 3) uint8, RGB, the image at network input size
    label : (M, 6) float32, the GT at network input size (``(0, 6)`` for no boxes)
    anchors : (N, 4) float32, every anchor, in target order
    cls_target : (N,) float32, 1 positive, 0 negative, -1 ignored (as the RPN loss sees it)
    ignored_near_hard : (N,) bool, valid anchors left out because of a hard box
    net_input : (1, 3, H, W) NDArray, the normalized image the network takes
    """
    config: HardConfig
    image: np.ndarray
    label: np.ndarray
    anchors: np.ndarray
    cls_target: np.ndarray
    ignored_near_hard: np.ndarray
    net_input: mx.nd.NDArray = field(repr=False)

    @property
    def positive(self):
        """(N,) bool: anchors trained as object."""
        return self.cls_target == 1

    @property
    def negative(self):
        """(N,) bool: anchors trained as background."""
        return self.cls_target == 0

    def counts(self):
        """Dict of anchor counts: positive, negative, ignored_near_hard, ignored_other."""
        ignored = self.cls_target == -1
        return dict(positive=int(self.positive.sum()), negative=int(self.negative.sum()),
                    ignored_near_hard=int(self.ignored_near_hard.sum()),
                    ignored_other=int((ignored & ~self.ignored_near_hard).sum()))


@dataclass
class RoiView:
    """The RCNN sampling of one image under one hard config.

    Attributes
    ----------
    rois : (S, 4) float32, the RoIs the head is given (``sample_rois`` output order)
    samples : (S,) float32, 1 foreground, -1 background, 0 ignored fill
    proposals : (P, 4) float32, the RPN proposals (padding rows included)
    ignored_near_hard : (P,) bool, valid proposals left out because of a hard box
    """
    rois: np.ndarray
    samples: np.ndarray
    proposals: np.ndarray
    ignored_near_hard: np.ndarray

    def counts(self):
        """Dict of RoI counts: foreground, background, ignored_near_hard, proposals."""
        return dict(foreground=int((self.samples == 1).sum()),
                    background=int((self.samples == -1).sum()),
                    ignored_near_hard=int(self.ignored_near_hard.sum()),
                    proposals=len(self.proposals))


def build_network(name='tiny', classes=('object',), params=None):
    """A :class:`gluoncv_hard.HardFasterRCNN` for drawing samples (CPU).

    Parameters
    ----------
    name : str
        A name for :func:`gluoncv_hard.get_model`; GluonCV networks are built without
        downloading anything (``pretrained_base=False``).
    classes : sequence of str
        Class names; with ``params`` they must be those the network was trained with.
    params : str, optional
        A ``.params`` file saved with ``net.save_parameters``. Without it only the anchor
        generator is initialized: enough for the RPN stage, not for the RCNN stage. A checkpoint
        of the train script (with its ``.json`` sidecar) rebuilds its own network and classes.
    """
    if params is not None and read_sidecar(params):
        return load_trained_network(params, [mx.cpu()])[0]
    wants_classes = name in TINY_NETWORKS or name.endswith('_custom')
    net = get_model(name, classes=list(classes) if wants_classes else None,
                    pretrained_base=False)
    if params is None:
        net.rpn.anchor_generator.collect_params().initialize()
        return net
    try:
        net.load_parameters(params, ctx=mx.cpu())
    except (AssertionError, mx.base.MXNetError, ValueError) as error:
        raise ValueError(
            '{}: cannot load these parameters into network {!r} with {} classes ({}): check '
            'the network name and the class list the model was trained with. Loader said: {}'
            .format(params, name, len(classes), ', '.join(classes), error)) from error
    return net


def _transform(net, config, rpn_options, seed):
    return FasterRCNNDefaultTrainTransform(
        net.short, net.max_size, net, ashape=net.ashape, multi_stage=net.num_stages > 1,
        flip_p=0.0, hard_policy=config.policy, hard_overlap=config.overlap,
        hard_thresh=config.thresh, hard_precedence=config.precedence,
        hard_cover_thresh=config.cover_thresh, rng=seed, **rpn_options)


def _display_image(image, height, width):
    """The original image resized to the network input size, RGB uint8."""
    image = as_numpy(image, dtype=np.uint8)
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)


def anchor_view(image, label, net, config, seed=0, **rpn_options):
    """Run the training transform on one image and collect its RPN anchor labels.

    Parameters
    ----------
    image : (H, W, 3) uint8, RGB, NumPy array or NDArray
    label : (M, 5) or (M, 6) float array, pixels of ``image`` (``M`` may be 0)
    net : HardFasterRCNN (e.g. from :func:`build_network`)
    config : HardConfig
    seed : int or None
        Seed of the random subsampling (the same seed gives the same picture).
    **rpn_options
        ``num_sample``, ``pos_iou_thresh``, ``neg_iou_thresh``, ``pos_ratio`` of the transform
        (default :data:`RPN_DEFAULTS`).

    Returns
    -------
    AnchorView
    """
    options = dict(RPN_DEFAULTS, **rpn_options)
    unknown = set(options) - set(RPN_DEFAULTS)
    if unknown:
        raise TypeError('unknown RPN options {}; valid: {}'.format(
            sorted(unknown), ', '.join(RPN_DEFAULTS)))
    if not isinstance(image, mx.nd.NDArray):
        image = mx.nd.array(np.asarray(image), dtype='uint8')
    transform = _transform(net, config, options, seed)
    tensor, out_label, cls_targets, _, _ = transform(image, label)
    height, width = tensor.shape[1:]
    anchors, _ = transform._anchors_for(height, width)  # pylint: disable=protected-access
    cls_target = np.concatenate([c.reshape(-1) for c in cls_targets])
    out_label = out_label[~schema.is_padding_row(out_label)]

    boxes, _, hard = schema.split_label(out_label)
    # The RPN target generator's validity rule (allowed_border = 0).
    inside = ((anchors[:, 0] >= 0) & (anchors[:, 1] >= 0)
              & (anchors[:, 2] < width) & (anchors[:, 3] < height))
    assignment = assign_boxes(anchors, boxes, hard, config,
                              pos_thresh=options['pos_iou_thresh'],
                              neg_thresh=options['neg_iou_thresh'], valid=inside)
    ignored_near_hard = inside & assignment.near_hard & (assignment.labels == IGNORE)
    return AnchorView(config, _display_image(image, height, width), out_label, anchors,
                      cls_target, ignored_near_hard, tensor.expand_dims(0))


def roi_view(net, view, seed=0):
    """Propose RoIs with the network's RPN and sample them as the RCNN stage does.

    Parameters
    ----------
    net : HardFasterRCNN with trained (or at least initialized) parameters
    view : AnchorView of the same image (gives the input, the GT and the hard config)
    seed : int or None

    Returns
    -------
    RoiView
    """
    x = view.net_input
    features = net.features(x)
    features = features if isinstance(features, (list, tuple)) else [features]
    # Training mode: the proposals the RCNN sampler sees in training (train pre/post NMS).
    with autograd.train_mode():
        scores, proposals = net.rpn(mx.nd.zeros_like(x), *features)[:2]
    proposals = proposals[0].asnumpy()
    scores = scores[0, :, 0].asnumpy()
    boxes, _, hard = schema.split_label(view.label)
    sampler = net.sampler
    pos_iou_thresh = sampler.pos_iou_thresh
    rois, samples, _ = sample_rois(proposals, scores, boxes, hard.astype(np.float32),
                                   sampler.num_sample, sampler.max_pos, pos_iou_thresh,
                                   view.config, rng=seed)
    valid = scores >= 0
    # The thresholds sample_rois uses: no in-between band in the RCNN stage.
    assignment = assign_boxes(proposals, boxes, hard, view.config, pos_thresh=pos_iou_thresh,
                              neg_thresh=pos_iou_thresh, best_match_min_iou=pos_iou_thresh,
                              valid=valid)
    ignored = valid & assignment.near_hard & (assignment.labels == IGNORE)
    return RoiView(rois, samples, proposals, ignored)


def policy_title(config):
    """One line naming the hard config, e.g. ``hard_policy=ignore (iof > 0.5, normal_wins)``."""
    if config.policy == 'ignore':
        detail = '{} > {:g}'.format(config.overlap, config.thresh)
        if config.overlap == 'iou_or_iof':
            detail += ' or cover > {:g}'.format(config.cover_thresh)
        return 'hard_policy=ignore ({}, {})'.format(detail, config.precedence)
    if config.policy == 'drop':
        return 'hard_policy=drop (hard boxes removed)'
    return 'hard_policy=positive (hard boxes are ordinary GT)'


def negatives_to_draw(boxes, negative, hard_boxes, config, limit, rng=None):
    """Which negative candidates a picture shows.

    Every negative over a hard box (overlap as ``config`` measures it, whatever the policy) is
    shown, since those are what the hard policy is about; of the others at most ``limit``,
    chosen at random (None: all).

    Parameters
    ----------
    boxes : (N, 4) float array, candidates
    negative : (N,) bool
    hard_boxes : (K, 4) float array
    config : HardConfig
    limit : int or None
    rng : see :func:`gluoncv_hard.sampling.as_generator`

    Returns
    -------
    indices : sorted int64 array into ``boxes``
    over_hard : int, how many of them are over a hard box
    """
    neg = np.flatnonzero(negative)
    over_hard = near_hard_mask(boxes[neg], hard_boxes, config)
    others = neg[~over_hard]
    if limit is not None:
        others = choose(others, limit, as_generator(rng))
    return np.sort(np.concatenate([neg[over_hard], others])).astype(np.int64), int(over_hard.sum())


def anchors_to_draw(view, max_negatives=DEFAULT_MAX_NEGATIVES, seed=0):
    """Indices into ``view.anchors`` that :func:`render_view` draws, by kind.

    Returns
    -------
    dict with ``positive``, ``negative``, ``ignored_near_hard`` (int64 index arrays) and
    ``negative_over_hard`` (int): all positives and ignored anchors, negatives as chosen by
    :func:`negatives_to_draw`.
    """
    hard_boxes = view.label[view.label[:, schema.HARD] > 0.5, schema.BOX]
    neg, over_hard = negatives_to_draw(view.anchors, view.negative, hard_boxes, view.config,
                                       max_negatives, seed)
    return dict(positive=np.flatnonzero(view.positive), negative=neg,
                ignored_near_hard=np.flatnonzero(view.ignored_near_hard),
                negative_over_hard=over_hard)


def rois_to_draw(view, rois, max_negatives=DEFAULT_MAX_NEGATIVES, seed=0):
    """Like :func:`anchors_to_draw` for the RCNN stage: ``foreground`` and ``background``
    index ``rois.rois``, ``ignored_near_hard`` indexes ``rois.proposals``."""
    hard_boxes = view.label[view.label[:, schema.HARD] > 0.5, schema.BOX]
    bg, over_hard = negatives_to_draw(rois.rois, rois.samples == -1, hard_boxes, view.config,
                                      max_negatives, seed)
    return dict(foreground=np.flatnonzero(rois.samples == 1), background=bg,
                ignored_near_hard=np.flatnonzero(rois.ignored_near_hard),
                negative_over_hard=over_hard)


def _negatives_text(kind, drawn, total, over_hard):
    if drawn == total:
        return '{}: {}'.format(kind, total)
    text = '{}: {} (drawn: {} at random'.format(kind, total, drawn - over_hard)
    if over_hard:
        text += ', all {} over hard boxes'.format(over_hard)
    return text + ')'


def _panel(view, boxes_by_kind, title, class_names, note=None):
    """Image with candidate boxes (drawn in list order, GT last), a title and a legend."""
    image = view.image
    legend = []
    for text, boxes, colour in boxes_by_kind:
        image = visualize.draw_boxes(image, boxes, colour)
        legend.append((text, colour, False))
    image = visualize.draw_label(image, view.label, class_names)
    legend = [('GT', visualize.NORMAL_GT, False),
              ('hard GT', visualize.HARD_GT, True)] + legend
    if note:
        legend.append((note, None, False))
    width = image.shape[1]
    return visualize.stack_vertical([visualize.text_panel(title, width), image,
                                     visualize.legend_panel(legend, width)])


def render_view(view, rois=None, class_names=None, max_negatives=DEFAULT_MAX_NEGATIVES, seed=0,
                rcnn_note='RCNN stage not shown (needs trained --params)'):
    """Draw one hard config: the RPN panel, with the RCNN panel below it when ``rois`` is given.

    Parameters
    ----------
    view : AnchorView
    rois : RoiView, optional
    class_names : sequence of str, optional, for the GT captions
    max_negatives : int or None
        Negative anchors (and background RoIs) drawn at random, besides those over hard boxes,
        which are all drawn (see :func:`negatives_to_draw`); None draws all. Positives and
        ignored candidates are always all drawn.
    seed : int or None, for choosing the drawn negatives
    rcnn_note : str
        Legend line when ``rois`` is None ('' for none).

    Returns
    -------
    (H', W, 3) uint8 RGB image: title, picture, legend (with counts).
    """
    counts = view.counts()
    drawn = anchors_to_draw(view, max_negatives, seed)
    kinds = [(_negatives_text('negative anchors', len(drawn['negative']), counts['negative'],
                              drawn['negative_over_hard']),
              view.anchors[drawn['negative']], visualize.NEGATIVE),
             ('ignored near a hard box: {}'.format(counts['ignored_near_hard']),
              view.anchors[drawn['ignored_near_hard']], visualize.IGNORED),
             ('positive anchors: {}'.format(counts['positive']),
              view.anchors[drawn['positive']], visualize.POSITIVE)]
    title = ['RPN anchors, as sampled for training', policy_title(view.config)]
    rpn = _panel(view, kinds, title, class_names, None if rois is not None else rcnn_note)
    if rois is None:
        return rpn
    counts = rois.counts()
    drawn = rois_to_draw(view, rois, max_negatives, seed)
    kinds = [(_negatives_text('background RoIs', len(drawn['background']), counts['background'],
                              drawn['negative_over_hard']),
              rois.rois[drawn['background']], visualize.NEGATIVE),
             ('ignored near a hard box: {}'.format(counts['ignored_near_hard']),
              rois.proposals[drawn['ignored_near_hard']], visualize.IGNORED),
             ('foreground RoIs: {}'.format(counts['foreground']),
              rois.rois[drawn['foreground']], visualize.POSITIVE)]
    title = ['RCNN RoIs from {} RPN proposals, as sampled'.format(counts['proposals']),
             policy_title(view.config)]
    rcnn = _panel(view, kinds, title, class_names)
    return visualize.stack_vertical([rpn, rcnn], pad=6)


def render_comparison(panels, pad=8):
    """Panels (from :func:`render_view`) side by side, one per hard config."""
    return visualize.contact_sheet(panels, columns=len(panels), pad=pad)


def summary_lines(view, rois=None):
    """Printable counts for one hard config."""
    c = view.counts()
    lines = ['{}'.format(policy_title(view.config)),
             '  RPN anchors: {positive} positive, {negative} negative, {ignored_near_hard} '
             'ignored near a hard box, {ignored_other} ignored otherwise (IoU between the '
             'thresholds, crossing the border, or not subsampled)'.format(**c)]
    if rois is None:
        lines.append('  RCNN RoIs: not computed (needs --params)')
    else:
        lines.append('  RCNN RoIs: {foreground} foreground, {background} background, '
                     '{ignored_near_hard} of {proposals} proposals ignored near a hard box'
                     .format(**rois.counts()))
    return lines
