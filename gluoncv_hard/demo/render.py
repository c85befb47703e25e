"""Compose one demo scene: a background crop with LFW faces and non-faces pasted in.

Design choices that keep the detector from learning a trivial cue
------------------------------------------------------------------
* **Colour.** The LFW crops are grayscale. On a colour background "gray patch" would mark every
  pasted patch, so scenes are composed in grayscale and only *afterwards* replicated to three
  channels, optionally with one mild global tint (per-channel gains applied to the whole image,
  pasted patches included). Colour therefore carries no information about where a patch is.
* **Faces vs. pasted things.** Non-face crops are pasted with exactly the same pipeline (sizes,
  flips, intensity jitter and the same hard-looking styles), unlabelled. "Something was pasted
  here" is not a face cue; the detector must tell faces from non-faces.
* **Seams.** Every patch is blended with a feathered, rounded alpha mask (``feather_alpha``), so no
  hard rectangle edge or corner marks it. Sensor-like noise is added to the finished scene,
  so upsampled (smooth) patches and the sharper background share the same noise.

Hard by construction
--------------------
A face is *hard* when it is rendered in one of ``HARD_REASONS`` (the numbers are the module
constants named in brackets):

``tiny``
    8-14 px on its longer side (``TINY_SIZE``).
``blur``
    20-64 px, Gaussian blur with sigma 7-12 % of its size (``BLUR_SIZE``,
    ``BLUR_SIGMA_PER_PIXEL``): only a ghost of the face layout is left.
``low_contrast``
    16-64 px, gain 0.08-0.15 instead of 0.7-1.3 (``LOW_CONTRAST_GAIN``), mean equal to the
    background under it.
``truncated``
    24-80 px, placed across one image border so that only 20-45 % of it is visible
    (``TRUNCATED_SIZE``, ``TRUNCATED_VISIBLE``).

Other faces are 16-96 px (``NORMAL_SIZE``) with normal contrast; 8 % of them are cut by a border
so that 70-90 % stays visible (``truncated`` but not ``difficult``).

Coordinates
-----------
A patch occupies pixel columns ``x0 .. x0 + w - 1`` and rows ``y0 .. y0 + h - 1`` (0-based,
possibly outside the image). Its box is that rectangle clipped to the image, written as
0-based **inclusive** pixel indices ``xmin, ymin, xmax, ymax``; the VOC file adds 1 to each.
"""
import math

import cv2
import numpy as np

__all__ = [
    'STYLE_NORMAL', 'HARD_REASONS', 'STYLES', 'SCENE_WIDTH_RANGE', 'SCENE_ASPECT',
    'sample_scene_size', 'crop_background', 'sample_style', 'render_patch', 'feather_alpha',
    'place_patch', 'paste', 'finish_scene', 'compose_scene',
]

STYLE_NORMAL = 'normal'
HARD_REASONS = ('tiny', 'blur', 'low_contrast', 'truncated')
STYLES = (STYLE_NORMAL,) + HARD_REASONS

# Scene geometry.
SCENE_WIDTH_RANGE = (320, 480)
SCENE_ASPECT = 0.75           # height / width
SCENE_ASPECT_JITTER = 0.05
# Background crops are rescaled by at least this factor and at most BG_SCALE_SPREAD times it, so
# large photos are shrunk to show more content but small ones are not blown up further.
BG_MIN_SCALE = 0.6
BG_SCALE_SPREAD = 1.4
# Retina has a black surround and cell/clock large flat areas: crops flatter than this are redrawn.
BG_MIN_STD = 6.0
BG_CROP_TRIES = 10

# Patch sizes (pixels, longer side), sampled log-uniformly.
NORMAL_SIZE = (16, 96)
TINY_SIZE = (8, 14)
BLUR_SIZE = (20, 64)
LOW_CONTRAST_SIZE = (16, 64)
TRUNCATED_SIZE = (24, 80)
PATCH_ASPECT = (0.95, 1.15)   # height / width; LFW crops are square, faces a little taller

# Intensity: value = mean + gain * 255 * (patch - patch.mean()).
NORMAL_GAIN = (0.7, 1.3)
LOW_CONTRAST_GAIN = (0.08, 0.15)
PATCH_MEAN = (70.0, 185.0)
BLUR_SIGMA_PER_PIXEL = (0.07, 0.12)

# Truncation: the visible fraction along the axis that crosses the border.
TRUNCATED_VISIBLE = (0.20, 0.45)
LIGHT_TRUNCATION_PROB = 0.08
LIGHT_TRUNCATED_VISIBLE = (0.70, 0.90)

# Patch mask: a superellipse |u|^p + |v|^p = 1 with a smooth ramp over this fraction of each
# half side (p = 4 is a rounded square).
FEATHER_FRACTION = 0.15
SUPERELLIPSE_POWER = 4.0
PLACEMENT_GAP = 2             # free pixels kept between pasted patches
PLACEMENT_TRIES = 60
NOISE_SIGMA = (1.5, 4.5)
TINT_PROB = 0.5
TINT_GAIN = 0.08              # per-channel gains in 1 +- TINT_GAIN


def _log_uniform(rng, low, high):
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def _round(value, digits=4):
    return float(round(float(value), digits))


def sample_scene_size(rng):
    """Draw a scene size.

    Returns
    -------
    (int, int)
        ``width, height``: width in ``SCENE_WIDTH_RANGE``, height about 3/4 of it.
    """
    width = int(rng.integers(SCENE_WIDTH_RANGE[0], SCENE_WIDTH_RANGE[1] + 1))
    aspect = SCENE_ASPECT + rng.uniform(-SCENE_ASPECT_JITTER, SCENE_ASPECT_JITTER)
    return width, int(round(width * aspect))


def crop_background(rng, backgrounds, width, height):
    """Cut a randomly placed, lightly rescaled, maybe mirrored crop from one background.

    Parameters
    ----------
    rng : numpy.random.Generator
    backgrounds : dict
        ``name -> uint8 (H, W)`` grayscale images, e.g. ``sources.load_backgrounds()``.
    width, height : int
        Output size.

    Returns
    -------
    scene : numpy.ndarray, float32, shape (height, width)
    info : dict
        ``background`` (name), ``scale``, ``crop`` (x, y, w, h in the source), ``flip``.
    """
    names = sorted(backgrounds)
    for _ in range(BG_CROP_TRIES):
        name = names[int(rng.integers(len(names)))]
        source = backgrounds[name]
        src_h, src_w = source.shape
        low = max(width / src_w, height / src_h, BG_MIN_SCALE)
        scale = rng.uniform(low, low * BG_SCALE_SPREAD)
        crop_w = min(src_w, int(math.ceil(width / scale)))
        crop_h = min(src_h, int(math.ceil(height / scale)))
        x = int(rng.integers(src_w - crop_w + 1))
        y = int(rng.integers(src_h - crop_h + 1))
        flip = bool(rng.random() < 0.5)
        crop = source[y:y + crop_h, x:x + crop_w]
        interpolation = cv2.INTER_AREA if crop_w > width else cv2.INTER_LINEAR
        scene = cv2.resize(crop, (width, height), interpolation=interpolation)
        if flip:
            scene = scene[:, ::-1]
        if scene.std() >= BG_MIN_STD:
            break
    info = {'background': name, 'scale': _round(scale), 'crop': [x, y, crop_w, crop_h],
            'flip': flip}
    return np.ascontiguousarray(scene, dtype=np.float32), info


def sample_style(rng, hard_fraction):
    """Draw how one patch will look.

    Parameters
    ----------
    rng : numpy.random.Generator
    hard_fraction : float
        Probability that the patch is rendered in one of ``HARD_REASONS`` (chosen uniformly).

    Returns
    -------
    dict
        ``style``, ``width``, ``height``, ``flip``, ``gain``, ``mean`` (None: match the background
        under the patch), ``blur_sigma``, ``visible`` (fraction along the truncated axis, 1.0 if
        the patch is fully inside).
    """
    if rng.random() < hard_fraction:
        style = HARD_REASONS[int(rng.integers(len(HARD_REASONS)))]
    else:
        style = STYLE_NORMAL
    size_range = {STYLE_NORMAL: NORMAL_SIZE, 'tiny': TINY_SIZE, 'blur': BLUR_SIZE,
                  'low_contrast': LOW_CONTRAST_SIZE, 'truncated': TRUNCATED_SIZE}[style]
    # ``size`` is the longer side; the other follows from the aspect ratio (height / width).
    size = _log_uniform(rng, *size_range)
    aspect = rng.uniform(*PATCH_ASPECT)
    longer = int(round(size))
    shorter = int(round(size / aspect if aspect >= 1.0 else size * aspect))
    height, width = (longer, shorter) if aspect >= 1.0 else (shorter, longer)
    flip = bool(rng.random() < 0.5)
    gain = rng.uniform(*(LOW_CONTRAST_GAIN if style == 'low_contrast' else NORMAL_GAIN))
    mean = None if style == 'low_contrast' else rng.uniform(*PATCH_MEAN)
    blur_sigma = size * rng.uniform(*BLUR_SIGMA_PER_PIXEL) if style == 'blur' else 0.0
    if style == 'truncated':
        visible = rng.uniform(*TRUNCATED_VISIBLE)
    elif style == STYLE_NORMAL and rng.random() < LIGHT_TRUNCATION_PROB:
        visible = rng.uniform(*LIGHT_TRUNCATED_VISIBLE)
    else:
        visible = 1.0
    return {'style': style, 'width': width, 'height': height, 'flip': flip, 'gain': _round(gain),
            'mean': None if mean is None else _round(mean), 'blur_sigma': _round(blur_sigma),
            'visible': _round(visible)}


def feather_alpha(height, width, fraction=FEATHER_FRACTION):
    """Opacity of a pasted patch: a soft-edged rounded rectangle (superellipse).

    Opacity is 1 in the middle and falls smoothly to ~0 over the outer ``fraction`` of each half
    side, more so in the corners. Faces and non-faces get the same mask, so its shape carries no
    class information; the rounding hides the corners of the LFW crops, where the straight
    crop edges would otherwise show.

    Returns
    -------
    numpy.ndarray, float32, shape (height, width), values in [0, 1]
    """
    def coordinate(n):
        # Pixel centres mapped to [-1, 1] (the rectangle's edges are at +-1 - 1/n).
        return (np.arange(n) + 0.5) / n * 2.0 - 1.0
    u = np.abs(coordinate(width))[None, :]
    v = np.abs(coordinate(height))[:, None]
    radius = (u ** SUPERELLIPSE_POWER + v ** SUPERELLIPSE_POWER) ** (1.0 / SUPERELLIPSE_POWER)
    # At least one pixel of ramp, so tiny patches are not hard-edged either.
    feather = max(2.0 * fraction, 2.0 / min(height, width))
    t = np.clip((1.0 - radius) / feather, 0.0, 1.0)
    return (t * t * (3.0 - 2.0 * t)).astype(np.float32)


def render_patch(source, style):
    """Resize, flip and blur one 25 x 25 crop; the intensity mapping is done by ``paste``.

    Parameters
    ----------
    source : numpy.ndarray, float, shape (25, 25), values in [0, 1]
    style : dict
        From ``sample_style``.

    Returns
    -------
    numpy.ndarray, float32, shape (style['height'], style['width']), values in [0, 1]
    """
    src = np.asarray(source, dtype=np.float32)
    size = (style['width'], style['height'])
    shrinking = style['width'] < src.shape[1] or style['height'] < src.shape[0]
    patch = cv2.resize(src, size, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)
    if style['flip']:
        patch = patch[:, ::-1]
    if style['blur_sigma'] > 0:
        patch = cv2.GaussianBlur(np.ascontiguousarray(patch), (0, 0), style['blur_sigma'],
                                 borderType=cv2.BORDER_REFLECT)
    return np.ascontiguousarray(np.clip(patch, 0.0, 1.0), dtype=np.float32)


def _visible_rect(rect, width, height):
    x0, y0, w, h = rect
    return max(x0, 0), max(y0, 0), min(x0 + w, width) - 1, min(y0 + h, height) - 1


def _overlaps(box, occupied):
    xmin, ymin, xmax, ymax = box
    for oxmin, oymin, oxmax, oymax in occupied:
        if (xmin <= oxmax + PLACEMENT_GAP and oxmin <= xmax + PLACEMENT_GAP
                and ymin <= oymax + PLACEMENT_GAP and oymin <= ymax + PLACEMENT_GAP):
            return True
    return False


def place_patch(rng, style, width, height, occupied):
    """Find a position for a patch that overlaps none already placed.

    A patch with ``style['visible'] < 1`` is placed across one image border (chosen at random)
    so that exactly that fraction of it, along the crossing axis, is inside the image.

    Parameters
    ----------
    rng : numpy.random.Generator
    style : dict
        From ``sample_style``.
    width, height : int
        Scene size.
    occupied : list of tuple
        Visible boxes ``(xmin, ymin, xmax, ymax)`` (inclusive) already placed.

    Returns
    -------
    tuple or None
        ``(x0, y0, w, h)`` of the whole patch (may extend past the image), or None when no free
        spot was found in ``PLACEMENT_TRIES`` attempts.
    """
    w, h = style['width'], style['height']
    if w > width or h > height:
        return None
    for _ in range(PLACEMENT_TRIES):
        x0 = int(rng.integers(width - w + 1))
        y0 = int(rng.integers(height - h + 1))
        if style['visible'] < 1.0:
            side = ('left', 'right', 'top', 'bottom')[int(rng.integers(4))]
            if side in ('left', 'right'):
                shown = max(2, int(round(w * style['visible'])))
                x0 = shown - w if side == 'left' else width - shown
            else:
                shown = max(2, int(round(h * style['visible'])))
                y0 = shown - h if side == 'top' else height - shown
        rect = (x0, y0, w, h)
        if not _overlaps(_visible_rect(rect, width, height), occupied):
            return rect
    return None


def paste(scene, patch, style, rect):
    """Blend ``patch`` into ``scene`` in place, with its intensity mapping and feathered alpha.

    Parameters
    ----------
    scene : numpy.ndarray, float32, shape (H, W)
    patch : numpy.ndarray, float32, shape (h, w)
        From ``render_patch``.
    style : dict
        From ``sample_style``. A ``mean`` of None is replaced by the background mean under the
        visible part (that is what makes ``low_contrast`` patches melt into their surroundings).
    rect : tuple
        ``(x0, y0, w, h)`` from ``place_patch``.

    Returns
    -------
    float
        The patch mean that was used.
    """
    height, width = scene.shape
    x0, y0, w, h = rect
    xmin, ymin, xmax, ymax = _visible_rect(rect, width, height)
    region = scene[ymin:ymax + 1, xmin:xmax + 1]
    mean = float(region.mean()) if style['mean'] is None else style['mean']
    values = mean + style['gain'] * 255.0 * (patch - patch.mean())
    values = np.clip(values, 0.0, 255.0)[ymin - y0:ymax - y0 + 1, xmin - x0:xmax - x0 + 1]
    alpha = feather_alpha(h, w)[ymin - y0:ymax - y0 + 1, xmin - x0:xmax - x0 + 1]
    region += alpha * (values - region)
    return mean


def finish_scene(rng, scene):
    """Add sensor noise, replicate to 3 channels with an optional global tint, quantize.

    Parameters
    ----------
    rng : numpy.random.Generator
    scene : numpy.ndarray, float32, shape (H, W)

    Returns
    -------
    image : numpy.ndarray, uint8, shape (H, W, 3), BGR (OpenCV order)
    info : dict
        ``noise_sigma`` and ``tint`` (B, G, R gains).
    """
    noise_sigma = rng.uniform(*NOISE_SIGMA)
    noise = rng.standard_normal(scene.shape, dtype=np.float32)
    gray = np.clip(scene + np.float32(noise_sigma) * noise, 0.0, 255.0)
    if rng.random() < TINT_PROB:
        tint = 1.0 + rng.uniform(-TINT_GAIN, TINT_GAIN, size=3)
    else:
        tint = np.ones(3)
    # convertScaleAbs rounds to nearest and saturates at 255; gray is already >= 0.
    image = cv2.merge([cv2.convertScaleAbs(gray, alpha=float(gain)) for gain in tint])
    return image, {'noise_sigma': _round(noise_sigma), 'tint': [_round(t) for t in tint]}


def _paste_group(rng, scene, patches, indices, count, kind, hard_fraction, occupied):
    height, width = scene.shape
    placed = []
    for _ in range(count):
        index = int(indices[int(rng.integers(len(indices)))])
        style = sample_style(rng, hard_fraction)
        rect = place_patch(rng, style, width, height, occupied)
        if rect is None:
            continue
        mean = paste(scene, render_patch(patches[index], style), style, rect)
        box = _visible_rect(rect, width, height)
        occupied.append(box)
        visible = (box[2] - box[0] + 1) * (box[3] - box[1] + 1) / float(rect[2] * rect[3])
        placed.append({
            'kind': kind, 'lfw_index': index, 'style': style['style'],
            'difficult': kind == 'face' and style['style'] in HARD_REASONS,
            'truncated': visible < 1.0, 'visible_fraction': _round(visible),
            'rect': list(rect), 'box': list(box), 'flip': style['flip'], 'gain': style['gain'],
            'mean': _round(mean), 'blur_sigma': style['blur_sigma'],
        })
    return placed


def compose_scene(rng, backgrounds, patches, face_indices, nonface_indices, n_faces,
                  n_distractors, hard_fraction):
    """Build one scene.

    Parameters
    ----------
    rng : numpy.random.Generator
        The scene's own generator; the scene depends on nothing else.
    backgrounds : dict
        ``name -> uint8 (H, W)``, from ``sources.load_backgrounds()``.
    patches : numpy.ndarray, float, shape (200, 25, 25)
        From ``sources.load_lfw_patches()``.
    face_indices, nonface_indices : sequence of int
        The pool this scene may draw from.
    n_faces, n_distractors : int
        How many faces / non-faces to try to paste. Faces are placed first; a patch that finds
        no free spot is dropped, except that the first face always fits an empty scene.
    hard_fraction : float
        Probability for each patch (face or not) to get a hard style.

    Returns
    -------
    image : numpy.ndarray, uint8, shape (H, W, 3), BGR
    record : dict
        ``width``, ``height``, background info, ``noise_sigma``, ``tint``, ``faces`` and
        ``distractors`` (lists of per-patch dicts with ``lfw_index``, ``style``, ``difficult``,
        ``truncated``, ``rect`` and ``box`` as 0-based inclusive ``xmin, ymin, xmax, ymax``).
    """
    width, height = sample_scene_size(rng)
    scene, bg_info = crop_background(rng, backgrounds, width, height)
    occupied = []
    faces = _paste_group(rng, scene, patches, face_indices, n_faces, 'face', hard_fraction,
                         occupied)
    distractors = _paste_group(rng, scene, patches, nonface_indices, n_distractors, 'nonface',
                               hard_fraction, occupied)
    image, finish_info = finish_scene(rng, scene)
    record = {'width': width, 'height': height}
    record.update(bg_info)
    record.update(finish_info)
    record['faces'] = faces
    record['distractors'] = distractors
    return image, record
