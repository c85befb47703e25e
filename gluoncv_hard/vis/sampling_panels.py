"""Pictures and counts of sampling views (:mod:`gluoncv_hard.vis.sampling_views`).

One panel per hard config: a title naming the config, the image at network input size with the
candidates drawn by kind (negative blue, ignored near a hard box violet, positive yellow, GT on
top: normal solid green, hard dashed red), and a legend with the counts. With RoIs, the RCNN
panel follows below the RPN one. :func:`draw_sampling` runs views and panels for a list of
configs, as ``gluoncv-hard-visualize-sampling`` does.
"""
from typing import NamedTuple

import numpy as np

from gluoncv_hard import schema
from gluoncv_hard.core.codes import NEGATIVE, POSITIVE
from gluoncv_hard.core.matching import near_hard_mask
from gluoncv_hard.core.sampling import as_generator, choose
from gluoncv_hard.vis import draw as visualize
from gluoncv_hard.vis.sampling_views import anchor_view, roi_view

__all__ = ['COMPARED_POLICIES', 'DEFAULT_MAX_NEGATIVES', 'SamplingPicture', 'policy_title',
           'negatives_to_draw', 'anchors_to_draw', 'rois_to_draw', 'render_view',
           'render_comparison', 'summary_lines', 'draw_sampling']

# The order of the compared panels: the two baselines, then the policy under test.
COMPARED_POLICIES = ('positive', 'drop', 'ignore')
# Negative anchors / background RoIs drawn per panel: all of them would hide the image.
DEFAULT_MAX_NEGATIVES = 40
RCNN_NOTE = 'RCNN stage not shown (needs trained --params)'


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
    rng : see :func:`gluoncv_hard.core.sampling.as_generator`

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


def _hard_boxes(view):
    return view.label[schema.is_hard(view.label[:, schema.HARD]), schema.BOX]


def anchors_to_draw(view, max_negatives=DEFAULT_MAX_NEGATIVES, seed=0):
    """Indices into ``view.anchors`` that :func:`render_view` draws, by kind.

    Returns
    -------
    dict with ``positive``, ``negative``, ``ignored_near_hard`` (int64 index arrays) and
    ``negative_over_hard`` (int): all positives and ignored anchors, negatives as chosen by
    :func:`negatives_to_draw`.
    """
    neg, over_hard = negatives_to_draw(view.anchors, view.negative, _hard_boxes(view),
                                       view.config, max_negatives, seed)
    return dict(positive=np.flatnonzero(view.positive), negative=neg,
                ignored_near_hard=np.flatnonzero(view.ignored_near_hard),
                negative_over_hard=over_hard)


def rois_to_draw(view, rois, max_negatives=DEFAULT_MAX_NEGATIVES, seed=0):
    """Like :func:`anchors_to_draw` for the RCNN stage: ``foreground`` and ``background``
    index ``rois.rois``, ``ignored_near_hard`` indexes ``rois.proposals``."""
    bg, over_hard = negatives_to_draw(rois.rois, rois.samples == NEGATIVE, _hard_boxes(view),
                                      view.config, max_negatives, seed)
    return dict(foreground=np.flatnonzero(rois.samples == POSITIVE), background=bg,
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
                rcnn_note=RCNN_NOTE):
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


class SamplingPicture(NamedTuple):
    """What :func:`draw_sampling` made: the ``picture`` (RGB uint8), one ``views`` and ``rois``
    entry per config (``rois`` entries None without the RCNN stage) and the summary ``lines``."""
    picture: np.ndarray
    views: list
    rois: list
    lines: list


def draw_sampling(image, label, net, configs, class_names=None, rcnn=False,
                  max_negatives=DEFAULT_MAX_NEGATIVES, seed=0):
    """Views of one image under each hard config, drawn as one picture.

    Parameters
    ----------
    image : (H, W, 3) uint8, RGB, NumPy array or NDArray
    label : (M, 5) or (M, 6) float array, pixels of ``image``
    net : HardFasterRCNN
    configs : non-empty list of HardConfig -- one panel each, side by side
    class_names : sequence of str, optional, for the GT captions
    rcnn : bool -- also the RCNN stage (needs trained parameters in ``net``)
    max_negatives, seed : see :func:`render_view`; ``seed`` also seeds the subsampling

    Returns
    -------
    SamplingPicture
    """
    panels, views, roi_views, lines = [], [], [], []
    for config in configs:
        view = anchor_view(image, label, net, config, seed=seed)
        rois = roi_view(net, view, seed=seed) if rcnn else None
        panels.append(render_view(view, rois, class_names, max_negatives, seed))
        lines += summary_lines(view, rois)
        views.append(view)
        roi_views.append(rois)
    picture = panels[0] if len(panels) == 1 else render_comparison(panels)
    return SamplingPicture(picture, views, roi_views, lines)
