"""Random crops that keep hard flags, and mark boxes the crop cuts too much as hard.

Why crop at all (dlib's lesson): a detector sees far more background than objects, and the RPN
and RCNN samplers can only rebalance within one image. Training on crops smaller than the image
changes the mix: a crop around an object is mostly object and its surroundings, a crop elsewhere
is pure background (a valid negative image). ``object_prob`` sets the proportion.

Why a cut box becomes hard: a crop that leaves a sliver of an object (half a face) would
otherwise teach "this sliver is a whole object". Such a box is neither clearly object nor clearly
background, which is exactly what the hard flag means; training then ignores anchors and
proposals near it (under ``hard_policy='ignore'``) instead of calling them positive.

Apply the crop before the training transform (which resizes)::

    crop = RandomCropWithHard(384, cut_thresh=0.5)
    train_transform = FasterRCNNDefaultTrainTransform(net.short, net.max_size, net, ...)
    dataset.transform(lambda img, label: train_transform(*crop(img, label)))
"""
import mxnet as mx
import numpy as np

from gluoncv_hard import schema
from gluoncv_hard.core.sampling import as_generator
from gluoncv_hard.errors import InputError

__all__ = ['RandomCropWithHard', 'crop_label', 'choose_window']


def crop_label(label, window, cut_thresh=0.5, min_visible_px=2):
    """The label of a crop: boxes clipped and shifted into ``window``.

    Parameters
    ----------
    label : (N, 5) or (N, 6) float array
        ``xmin, ymin, xmax, ymax, cls[, hard]`` in pixels of the full image
        (:mod:`gluoncv_hard.schema`); padding rows are dropped.
    window : (x0, y0, width, height)
        The crop in pixels of the full image.
    cut_thresh : float in [0, 1]
        A kept box whose visible area is less than ``1 - cut_thresh`` of its area becomes hard
        (``0``: any cut makes a box hard; ``1``: cuts never do).
    min_visible_px : float >= 0
        Boxes narrower or shorter than this after clipping are removed, as are boxes entirely
        outside the window.

    Returns
    -------
    (N', 6) float32 array in window coordinates, kept boxes in their original order, hard flags
    kept (a box hard before is hard after); ``(0, 6)`` when nothing remains.
    """
    label = schema.validate_label(label, 'crop_label').astype(np.float64)
    x0, y0, width, height = (float(v) for v in window)
    boxes = label[:, schema.BOX] - (x0, y0, x0, y0)
    clipped = np.clip(boxes, 0, (width, height, width, height))
    clipped_w = clipped[:, 2] - clipped[:, 0]
    clipped_h = clipped[:, 3] - clipped[:, 1]
    keep = ((clipped_w > 0) & (clipped_h > 0)
            & (clipped_w >= min_visible_px) & (clipped_h >= min_visible_px))
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    visible = clipped_w * clipped_h / area
    out = label[keep].copy()
    out[:, schema.BOX] = clipped[keep]
    cut = visible[keep] < 1 - cut_thresh
    out[cut, schema.HARD] = schema.HARD_FLAG
    return out.astype(np.float32) if len(out) else schema.empty_label()


def choose_window(image_width, image_height, size, centre=None, rng=None):
    """A ``size x size`` crop window inside the image, ``(x0, y0, width, height)`` integers.

    Parameters
    ----------
    image_width, image_height : int
    size : int
        Side of the window; an image smaller than ``size`` on an axis is taken whole on that
        axis (the crop is then narrower or shorter than ``size``; it is never padded).
    centre : (x, y) or None
        Place the window so that this point falls in the middle half of the window on each
        axis (uniformly), as far as the image borders allow; None: anywhere, uniformly.
    rng : numpy Generator, see :func:`gluoncv_hard.core.sampling.as_generator`
    """
    rng = as_generator(rng)
    width, height = min(size, image_width), min(size, image_height)
    offsets = []
    for extent, side, point in ((image_width, width, None if centre is None else centre[0]),
                                (image_height, height, None if centre is None else centre[1])):
        slack = extent - side
        if point is None:
            offset = int(rng.integers(0, slack + 1))
        else:
            offset = int(np.floor(point - rng.uniform(side / 4, 3 * side / 4)))
        offsets.append(min(max(offset, 0), slack))
    return offsets[0], offsets[1], width, height


def _crop_image(img, window):
    x0, y0, width, height = window
    if isinstance(img, mx.nd.NDArray):
        return mx.nd.slice(img, begin=(y0, x0), end=(y0 + height, x0 + width))
    return np.ascontiguousarray(img[y0:y0 + height, x0:x0 + width])


class RandomCropWithHard:
    """Random square crop of an image and its label, hard-aware.

    Parameters
    ----------
    size : int
        Side of the crop in pixels (before the training transform resizes). On an axis where the
        image is smaller than ``size`` the whole image is kept (no padding), so small images pass
        through unchanged.
    cut_thresh : float in [0, 1], default 0.5
        A box that loses more than this fraction of its area to the crop becomes hard (precisely:
        visible area < ``(1 - cut_thresh)`` x area). Boxes that were hard stay hard.
    object_prob : float in [0, 1], default 0.5
        Probability of a crop placed around a random *normal* (non-hard) box (the box centre
        lands in the middle half of the window); otherwise, and always for images without normal
        boxes, the window is placed uniformly anywhere (most often a background crop).
    min_visible_px : float >= 0, default 2
        Boxes narrower or shorter than this after clipping are removed (as are boxes entirely
        outside the crop).
    rng : None, int, numpy Generator or RandomState
        None (default) draws from NumPy's global state on every call, so ``np.random.seed``
        (the train script's ``--seed``) makes crops repeatable; otherwise this generator is used.

    Call with ``(img, label)``: ``img`` an ``(H, W, C)`` ``mxnet.nd.NDArray`` or NumPy array,
    ``label`` ``(N, 5)`` or ``(N, 6)`` in pixels. Returns ``(img, label)``: the crop (same type as
    the input) and a float32 ``(N', 6)`` label in crop coordinates, ``(0, 6)`` when no box
    remains (a negative crop; the training transform accepts it).

    Notes
    -----
    With a multi-process data loader each worker process starts from a copy of the parent's
    NumPy state (and of this object's generator). The train script therefore reseeds NumPy per
    image from ``(seed, epoch, index)`` before calling it (``rng=None``); do the same, or pass
    ``rng``, in your own loops.
    """

    def __init__(self, size, cut_thresh=0.5, object_prob=0.5, min_visible_px=2, rng=None):
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
            raise InputError('size={!r} must be a positive integer (pixels)'.format(size),
                             param='size')
        for name, value in (('cut_thresh', cut_thresh), ('object_prob', object_prob)):
            if not 0 <= value <= 1:
                raise InputError('{}={!r} must be in [0, 1]'.format(name, value), param=name)
        if min_visible_px < 0:
            raise InputError('min_visible_px={!r} must be >= 0'.format(min_visible_px),
                             param='min_visible_px')
        self.size = int(size)
        self.cut_thresh = float(cut_thresh)
        self.object_prob = float(object_prob)
        self.min_visible_px = float(min_visible_px)
        self._rng = None if rng is None else as_generator(rng)

    def __repr__(self):
        return '{}(size={}, cut_thresh={}, object_prob={}, min_visible_px={})'.format(
            type(self).__name__, self.size, self.cut_thresh, self.object_prob,
            self.min_visible_px)

    def window(self, image_width, image_height, label, rng=None):
        """Draw a crop window ``(x0, y0, width, height)`` for an image and its validated label."""
        rng = as_generator(rng if rng is not None else self._rng)
        normal = label[~schema.is_hard(label[:, schema.HARD])]
        centre = None
        if len(normal) and rng.uniform() < self.object_prob:
            box = normal[int(rng.integers(len(normal))), schema.BOX]
            centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        return choose_window(image_width, image_height, self.size, centre, rng)

    def __call__(self, img, label):
        label = schema.validate_label(
            label.asnumpy() if isinstance(label, mx.nd.NDArray) else label, 'RandomCropWithHard')
        height, width = img.shape[:2]
        window = self.window(width, height, label)
        return (_crop_image(img, window),
                crop_label(label, window, self.cut_thresh, self.min_visible_px))
