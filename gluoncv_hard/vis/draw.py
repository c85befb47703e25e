"""Drawing primitives shared by every tool that draws boxes, and the colours they use.

Conventions, the same in every picture the project produces:

- images are RGB ``uint8`` arrays of shape ``(H, W, 3)`` and colours are RGB triples;
- normal ground truth is a solid rectangle, **hard ground truth a dashed one**;
- detections are thin rectangles with their score written on them.

Drawing functions return a copy; the input image is never modified. Lines are drawn without
anti-aliasing, so every pixel of an outline has exactly the requested colour (tests rely on it).
"""
import cv2
import numpy as np

from gluoncv_hard import schema
from gluoncv_hard.errors import InputError
from gluoncv_hard.utils.atomic import write_bytes_atomic

__all__ = ['NORMAL_GT', 'HARD_GT', 'POSITIVE', 'NEGATIVE', 'IGNORED', 'DETECTION', 'FALSE_ALARM',
           'MISS', 'UNLABELLED', 'BACKGROUND', 'TEXT', 'read_rgb', 'to_bgr', 'box_caption',
           'draw_boxes', 'draw_label', 'text_panel', 'legend_panel', 'stack_vertical',
           'contact_sheet', 'encode_png', 'save_png']

# RGB. One place for every colour, so that a hard box looks the same in all tools.
NORMAL_GT = (0, 200, 0)         # green
HARD_GT = (255, 0, 0)           # red
POSITIVE = (255, 215, 0)        # yellow: anchors / RoIs trained as object
NEGATIVE = (30, 144, 255)       # blue: anchors / RoIs trained as background
IGNORED = (200, 0, 255)         # violet: left out of the loss (near a hard box)
DETECTION = (0, 230, 230)       # cyan
FALSE_ALARM = (255, 140, 0)     # orange
MISS = (255, 0, 160)            # pink: a normal GT box nothing detected
UNLABELLED = (0, 128, 255)      # azure: objects deliberately left unlabelled (demo distractors)
BACKGROUND = (255, 255, 255)    # contact sheets, caption and legend strips
TEXT = (0, 0, 0)

FONT = cv2.FONT_HERSHEY_SIMPLEX
FONT_SCALE = 0.4
DASH_PX = 5
GAP_PX = 3
# zlib's default level: about half the size of OpenCV's default PNG output for photos, at
# ~0.1 s per megapixel.
PNG_COMPRESSION = 6


def read_rgb(path):
    """The image file at ``path`` as an RGB uint8 array (H, W, 3); InputError if unreadable."""
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise InputError('{}: OpenCV cannot read this image'.format(path))
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def to_bgr(colour):
    """An RGB colour as OpenCV's BGR order (for drawing on images read by ``cv2.imread``)."""
    return tuple(reversed(colour))


def box_caption(class_name=None, score=None):
    """Text for a box: ``'face'``, ``'0.87'``, ``'face 0.87'`` or ``''``."""
    parts = []
    if class_name is not None:
        parts.append(str(class_name))
    if score is not None:
        parts.append('{:.2f}'.format(float(score)))
    return ' '.join(parts)


def _corners(box):
    x1, y1, x2, y2 = (int(round(float(v))) for v in box[:4])
    return x1, y1, x2, y2


def _dashed_line(image, start, end, colour, thickness):
    """Dashes from ``start`` towards ``end``; ``start`` itself is always drawn."""
    (x0, y0), (x1, y1) = start, end
    length = max(abs(x1 - x0), abs(y1 - y0))
    if length == 0:
        cv2.line(image, start, start, colour, thickness, cv2.LINE_8)
        return
    for a in range(0, length + 1, DASH_PX + GAP_PX):
        b = min(a + DASH_PX - 1, length)
        p = (x0 + (x1 - x0) * a // length, y0 + (y1 - y0) * a // length)
        q = (x0 + (x1 - x0) * b // length, y0 + (y1 - y0) * b // length)
        cv2.line(image, p, q, colour, thickness, cv2.LINE_8)


def _rectangle(image, box, colour, thickness, dashed):
    x1, y1, x2, y2 = _corners(box)
    if not dashed:
        cv2.rectangle(image, (x1, y1), (x2, y2), colour, thickness, cv2.LINE_8)
        return
    # Clockwise, each side starting at a corner: every corner is drawn, so a dashed box is
    # located as precisely as a solid one.
    corners = [(x1, y1), (x2, y1), (x2, y2), (x1, y2)]
    for i, start in enumerate(corners):
        _dashed_line(image, start, corners[(i + 1) % 4], colour, thickness)


def _readable_text_colour(background):
    r, g, b = background
    return (0, 0, 0) if 0.299 * r + 0.587 * g + 0.114 * b > 140 else (255, 255, 255)


def _caption(image, box, text, colour, thickness):
    """Text on a filled rectangle of the box colour, above the box (below it when there is no
    room above, inside it when there is room neither above nor below)."""
    (text_w, text_h), baseline = cv2.getTextSize(text, FONT, FONT_SCALE, 1)
    x1, y1, _, y2 = _corners(box)
    height = text_h + baseline + 2
    top = y1 - thickness // 2 - height
    if top < 0:
        top = y2 + thickness // 2 + 1
        if top + height > image.shape[0]:
            top = max(0, y1 + thickness // 2 + 1)
    left = min(max(0, x1 - thickness // 2), max(0, image.shape[1] - text_w - 2))
    cv2.rectangle(image, (left, top), (left + text_w + 1, top + height - 1), colour, cv2.FILLED)
    cv2.putText(image, text, (left + 1, top + text_h + 1), FONT, FONT_SCALE,
                _readable_text_colour(colour), 1, cv2.LINE_AA)


def draw_boxes(image, boxes, colour, thickness=1, dashed=False, texts=None):
    """Draw rectangles on a copy of ``image``.

    Parameters
    ----------
    image : (H, W, 3) uint8 array, RGB
    boxes : (N, >=4) float array
        ``xmin, ymin, xmax, ymax`` in pixels (further columns are ignored); rounded to integers.
    colour : RGB triple
    thickness : int
        Line width in pixels.
    dashed : bool
        Dashed outline (how hard boxes are drawn); solid otherwise.
    texts : sequence of str, optional
        One caption per box (``''`` or None for none), e.g. from :func:`box_caption`, drawn on a
        filled background of the box colour in black or white, whichever reads better.

    Returns
    -------
    (H, W, 3) uint8 array, a new image
    """
    out = np.ascontiguousarray(image, dtype=np.uint8).copy()
    if out.ndim != 3 or out.shape[2] != 3:
        raise ValueError('expected an (H, W, 3) image, got shape {}'.format(out.shape))
    boxes = np.asarray(boxes, dtype=np.float64)
    boxes = boxes.reshape(0, 4) if boxes.size == 0 else boxes
    if boxes.ndim != 2 or boxes.shape[1] < 4:
        raise ValueError('expected boxes of shape (N, >=4), got {}'.format(boxes.shape))
    if texts is not None and len(texts) != len(boxes):
        raise ValueError('{} texts for {} boxes'.format(len(texts), len(boxes)))
    colour = tuple(int(c) for c in colour)
    for box in boxes:
        _rectangle(out, box, colour, thickness, dashed)
    # Captions last, so that no outline crosses a caption.
    for box, text in zip(boxes, texts or ()):
        if text:
            _caption(out, box, text, colour, thickness)
    return out


def draw_label(image, label, class_names=None, thickness=1, captions=True):
    """Draw a ground-truth label: normal boxes solid ``NORMAL_GT``, hard boxes dashed ``HARD_GT``.

    Parameters
    ----------
    image : (H, W, 3) uint8 array, RGB
    label : (N, 5) or (N, 6) float array, see :mod:`gluoncv_hard.schema`
    class_names : sequence of str, optional
        Captions show ``class_names[cls]`` (the class id when not given or out of range),
        followed by ``(hard)`` for hard boxes.
    captions : bool
        Write the captions at all.

    Returns
    -------
    (H, W, 3) uint8 array, a new image
    """
    boxes, cls, hard = schema.split_label(schema.validate_label(label, 'draw_label'))
    out = image
    for is_hard, colour in ((False, NORMAL_GT), (True, HARD_GT)):
        rows = np.flatnonzero(hard == is_hard)
        texts = None
        if captions:
            texts = [_class_text(int(cls[i]), class_names) + (' (hard)' if is_hard else '')
                     for i in rows]
        out = draw_boxes(out, boxes[rows], colour, thickness, dashed=is_hard, texts=texts)
    return out


def _class_text(class_id, class_names):
    if class_names is not None and 0 <= class_id < len(class_names):
        return str(class_names[class_id])
    return str(class_id)


def _wrap(text, max_width):
    """Greedy word wrap of ``text`` to lines at most ``max_width`` pixels wide (a single word
    longer than that gets a line of its own)."""
    lines, current = [], ''
    for word in text.split(' '):
        candidate = word if not current else current + ' ' + word
        if current and cv2.getTextSize(candidate, FONT, FONT_SCALE, 1)[0][0] > max_width:
            lines.append(current)
            candidate = word
        current = candidate
    return lines + [current]


def text_panel(lines, width, swatches=None):
    """A white strip with text, e.g. a title or a legend; long lines wrap.

    Parameters
    ----------
    lines : sequence of str
    width : int
        Width of the strip in pixels.
    swatches : sequence of (colour, dashed) or None, optional
        One per line (None: no swatch): a short sample line in that colour and style is drawn
        before the text, so the legend shows exactly how the picture draws each kind of box.

    Returns
    -------
    (H, width, 3) uint8 array
    """
    (_, text_h), baseline = cv2.getTextSize('Ag', FONT, FONT_SCALE, 1)
    line_h = text_h + baseline + 4
    swatches = swatches or [None] * len(lines)
    rows = []  # (text, x, swatch or None)
    for line, swatch in zip(lines, swatches):
        x = 4 if swatch is None else 32
        for k, part in enumerate(_wrap(line, width - x - 4)):
            rows.append((part, x, swatch if k == 0 else None))
    strip = np.full((line_h * len(rows) + 4, width, 3), BACKGROUND, np.uint8)
    for i, (text, x, swatch) in enumerate(rows):
        y = 2 + i * line_h
        if swatch is not None:
            colour, dashed = swatch
            strip = draw_boxes(strip, [(4, y + 2, 26, y + line_h - 4)], colour, thickness=2,
                               dashed=dashed)
        cv2.putText(strip, text, (x, y + text_h + 1), FONT, FONT_SCALE, TEXT, 1, cv2.LINE_AA)
    return strip


def legend_panel(entries, width):
    """:func:`text_panel` from ``[(text, colour, dashed), ...]`` (colour None: text only)."""
    return text_panel([text for text, _, _ in entries], width,
                      [None if colour is None else (colour, dashed)
                       for _, colour, dashed in entries])


def stack_vertical(images, pad=0):
    """Stack images top to bottom, left aligned, on a white background."""
    width = max(im.shape[1] for im in images)
    height = sum(im.shape[0] for im in images) + pad * (len(images) - 1)
    out = np.full((height, width, 3), BACKGROUND, np.uint8)
    y = 0
    for im in images:
        out[y:y + im.shape[0], :im.shape[1]] = im
        y += im.shape[0] + pad
    return out


def contact_sheet(images, columns=2, pad=4):
    """Tile images of different sizes into one, row by row, on a white canvas.

    Parameters
    ----------
    images : non-empty sequence of (H_i, W_i, 3) uint8 arrays
    columns : int, images per row
    pad : int, white pixels after each cell (right and below)

    Returns
    -------
    (rows * (max H + pad), columns * (max W + pad), 3) uint8 array; image ``i`` has its top-left
    corner at row ``i // columns``, column ``i % columns`` of that grid.
    """
    if not len(images):
        raise ValueError('contact_sheet needs at least one image')
    if columns < 1:
        raise ValueError('columns={} must be >= 1'.format(columns))
    rows = [images[i:i + columns] for i in range(0, len(images), columns)]
    cell_w = max(im.shape[1] for im in images) + pad
    cell_h = max(im.shape[0] for im in images) + pad
    sheet = np.full((cell_h * len(rows), cell_w * columns, 3), BACKGROUND, np.uint8)
    for r, row in enumerate(rows):
        for c, im in enumerate(row):
            sheet[r * cell_h:r * cell_h + im.shape[0], c * cell_w:c * cell_w + im.shape[1]] = im
    return sheet


def encode_png(rgb_image):
    """An RGB ``uint8`` image ``(H, W, 3)`` as PNG file bytes (``PNG_COMPRESSION``).

    Every PNG the project writes is encoded here, so all of them have the same settings.
    """
    image = np.asarray(rgb_image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError('a PNG needs an (H, W, 3) uint8 RGB image, got {} {}'.format(
            image.dtype, image.shape))
    ok, png = cv2.imencode('.png', cv2.cvtColor(image, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESSION])
    if not ok:
        raise ValueError('OpenCV could not encode a {} image as PNG'.format(image.shape))
    return png.tobytes()


def save_png(path, rgb_image):
    """Write an RGB ``uint8`` image as PNG (:func:`encode_png`), atomically (complete file or
    none)."""
    write_bytes_atomic(path, encode_png(rgb_image))
