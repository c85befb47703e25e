"""Labelled windows for pretraining the tiny network's backbone offline: background, face or
non-face.

A window is cut from a scene composed as the demo's scenes are (:mod:`gluoncv_hard.demo.render`:
the same background crops, patch pipeline, feathered paste, noise, tint and JPEG quality), so its
pixels look like the detector's training images:

``background`` (0)
    no patch covers much of the window (see *context patches* below).
``face`` (1)
    a normal-style LFW face whose longer side is 35-80 % of the window side
    (``LABEL_SIDE_FRACTION``), anywhere inside the window.
``nonface`` (2)
    the same with a non-face LFW crop. Faces and non-faces share the pipeline, so "something
    was pasted here" tells the classes apart no better than it does in the scenes.

*Context patches*: up to ``MAX_CONTEXT_PATCHES`` more faces or non-faces, in any style (hard
ones with the demo's ``hard_fraction``), cut by the window's edges so that they cover at most
``CONTEXT_MAX_OVERLAP`` of the window or of themselves: a background window may show part of a
face, as the detector's background anchors do, and a face window is still about its face.

Only the **train** pool of identities is used (``sources.PATCH_POOLS['train']``: faces 0-69,
non-faces 100-169), never the validation ones, and the backgrounds of the mining scenario
(``sources.MINING_HELDOUT_BACKGROUNDS``) are left out by default. Window ``index`` of seed
``seed`` depends on nothing else: ``np.random.default_rng([seed, index])``.
"""
import cv2
import numpy as np

from gluoncv_hard.demo import render, sources
from gluoncv_hard.demo.generate import DEFAULT_HARD_FRACTION, JPEG_QUALITY
from gluoncv_hard.errors import InputError

__all__ = ['CLASS_NAMES', 'BACKGROUND', 'FACE', 'NONFACE', 'WINDOW_SIZE', 'PATCH_POOL',
           'LABEL_SIDE_FRACTION', 'MAX_CONTEXT_PATCHES', 'CONTEXT_MAX_OVERLAP',
           'window_backgrounds', 'PatchWindows']

CLASS_NAMES = ('background', 'face', 'nonface')
BACKGROUND, FACE, NONFACE = 0, 1, 2
WINDOW_SIZE = 64
# The identities the windows draw from: the train pool only, so validation faces stay unseen.
PATCH_POOL = 'train'
LABEL_SIDE_FRACTION = (0.35, 0.80)
MAX_CONTEXT_PATCHES = 2
# Of the smaller of the window and the patch: a 96 px face may not fill a 64 px window, nor may
# a tiny face sit wholly inside a background window.
CONTEXT_MAX_OVERLAP = 0.25
CONTEXT_TRIES = 20


def window_backgrounds(heldout_backgrounds=sources.MINING_HELDOUT_BACKGROUNDS):
    """The demo's backgrounds less ``heldout_backgrounds``.

    Returns
    -------
    dict
        ``name -> numpy.ndarray`` uint8, shape (H, W), as ``sources.load_backgrounds()``.

    Raises
    ------
    InputError
        (``param='heldout_backgrounds'``) for an unknown name, or when none would remain.
    """
    if isinstance(heldout_backgrounds, str):
        heldout_backgrounds = [heldout_backgrounds]
    heldout = set(heldout_backgrounds)
    unknown = sorted(heldout - set(sources.BACKGROUND_NAMES))
    if unknown:
        raise InputError('unknown background(s) {}; choose from {}'.format(
            ', '.join(unknown), ', '.join(sources.BACKGROUND_NAMES)), param='heldout_backgrounds')
    kept = {name: image for name, image in sources.load_backgrounds().items()
            if name not in heldout}
    if not kept:
        raise InputError('holding out every background leaves none to cut windows from',
                         param='heldout_backgrounds')
    return kept


def _overlap(rect, other):
    """Intersection area of two ``(x0, y0, w, h)`` rectangles."""
    width = min(rect[0] + rect[2], other[0] + other[2]) - max(rect[0], other[0])
    height = min(rect[1] + rect[3], other[1] + other[3]) - max(rect[1], other[1])
    return max(width, 0) * max(height, 0)


def _grown(rect, margin):
    return (rect[0] - margin, rect[1] - margin, rect[2] + 2 * margin, rect[3] + 2 * margin)


class PatchWindows:
    """Renders the labelled windows of one seed.

    Parameters
    ----------
    seed : int
        Non-negative; window ``index`` is drawn from ``np.random.default_rng([seed, index])``.
    heldout_backgrounds : sequence of str
        Backgrounds no window is cut from (default ``sources.MINING_HELDOUT_BACKGROUNDS``).
    size : int
        Window side in pixels, at least 16.

    Examples
    --------
    >>> windows = PatchWindows(seed=0)
    >>> image, label, record = windows.render(0)
    >>> image.shape, image.dtype, CLASS_NAMES[label] == record['class']
    ((64, 64, 3), dtype('uint8'), True)
    """

    def __init__(self, seed, heldout_backgrounds=sources.MINING_HELDOUT_BACKGROUNDS,
                 size=WINDOW_SIZE):
        if int(seed) != seed or seed < 0:
            raise InputError('seed must be a non-negative integer, got {!r}'.format(seed),
                             param='seed')
        if int(size) != size or size < 16:
            raise InputError('window size must be an integer of at least 16, got {!r}'.format(
                size), param='window_size')
        self.seed = int(seed)
        self.size = int(size)
        self.backgrounds = window_backgrounds(heldout_backgrounds)
        self.heldout_backgrounds = tuple(sorted(set(sources.BACKGROUND_NAMES)
                                                - set(self.backgrounds)))
        self.pool = sources.PATCH_POOLS[PATCH_POOL]
        self.patches = sources.load_lfw_patches()

    def render(self, index):
        """Window ``index``.

        Returns
        -------
        image : numpy.ndarray, uint8, shape (size, size, 3)
            RGB, as the detector reads its JPEG scenes.
        label : int
            ``BACKGROUND``, ``FACE`` or ``NONFACE``.
        record : dict
            ``class``, ``background``, ``window`` (``x0, y0, size`` in the scene), ``patch``
            (the label-defining patch: ``lfw_index`` and ``rect`` ``x0, y0, w, h`` in window
            coordinates; None for a background) and ``context`` (the other patches, alike,
            with their ``style``).
        """
        rng = np.random.default_rng([self.seed, int(index)])
        label = int(rng.integers(len(CLASS_NAMES)))
        width, height = render.sample_scene_size(rng)
        scene, background = render.crop_background(rng, self.backgrounds, width, height)
        size = self.size
        window = (int(rng.integers(width - size + 1)), int(rng.integers(height - size + 1)),
                  size, size)
        placed = []
        patch = None
        if label != BACKGROUND:
            rect, lfw_index = self._paste_label_patch(rng, scene, window, label)
            placed.append(rect)
            patch = {'lfw_index': lfw_index, 'rect': self._in_window(rect, window)}
        context = []
        for _ in range(int(rng.integers(MAX_CONTEXT_PATCHES + 1))):
            pasted = self._paste_context_patch(rng, scene, window, placed)
            if pasted is not None:
                rect, lfw_index, style = pasted
                placed.append(rect)
                context.append({'lfw_index': lfw_index, 'style': style,
                                'rect': self._in_window(rect, window)})
        x0, y0 = window[:2]
        # Noise and tint are per pixel and global, so finishing the window alone draws them as
        # finishing the whole scene would.
        bgr, _ = render.finish_scene(rng, np.ascontiguousarray(scene[y0:y0 + size,
                                                                     x0:x0 + size]))
        ok, encoded = cv2.imencode('.jpg', bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        if not ok:
            raise RuntimeError('OpenCV failed to encode window {}'.format(index))
        image = cv2.cvtColor(cv2.imdecode(encoded, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        record = {'class': CLASS_NAMES[label], 'background': background['background'],
                  'window': [x0, y0, size], 'patch': patch, 'context': context}
        return image, label, record

    @staticmethod
    def _in_window(rect, window):
        return [rect[0] - window[0], rect[1] - window[1], rect[2], rect[3]]

    def _paste_label_patch(self, rng, scene, window, label):
        indices = self.pool.faces if label == FACE else self.pool.nonfaces
        lfw_index = int(indices[int(rng.integers(len(indices)))])
        # A normal style (flip, contrast, brightness, aspect) resized to the window.
        style = render.sample_style(rng, hard_fraction=0.0)
        longer = int(round(self.size * rng.uniform(*LABEL_SIDE_FRACTION)))
        scale = longer / float(max(style['width'], style['height']))
        style['width'] = max(1, min(self.size, int(round(style['width'] * scale))))
        style['height'] = max(1, min(self.size, int(round(style['height'] * scale))))
        style['visible'] = 1.0
        rect = (window[0] + int(rng.integers(self.size - style['width'] + 1)),
                window[1] + int(rng.integers(self.size - style['height'] + 1)),
                style['width'], style['height'])
        render.paste(scene, render.render_patch(self.patches[lfw_index], style), style, rect)
        return rect, lfw_index

    def _paste_context_patch(self, rng, scene, window, placed):
        indices = self.pool.faces if rng.random() < 0.5 else self.pool.nonfaces
        lfw_index = int(indices[int(rng.integers(len(indices)))])
        style = render.sample_style(rng, DEFAULT_HARD_FRACTION)
        w, h = style['width'], style['height']
        x0, y0, size = window[0], window[1], self.size
        limit = CONTEXT_MAX_OVERLAP * min(w * h, size * size)
        for _ in range(CONTEXT_TRIES):
            # Positions where the patch meets the window at least in one pixel.
            rect = (int(rng.integers(x0 - w + 1, x0 + size)),
                    int(rng.integers(y0 - h + 1, y0 + size)), w, h)
            if _overlap(rect, window) > limit:
                continue
            if any(_overlap(_grown(rect, render.PLACEMENT_GAP), other) for other in placed):
                continue
            render.paste(scene, render.render_patch(self.patches[lfw_index], style), style,
                         rect)
            return rect, lfw_index, style['style']
        return None
