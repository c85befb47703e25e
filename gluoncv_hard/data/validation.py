"""Turn source items into validated records: the checks shared by every source and reader.

Per image: the file exists, its header is readable (``imagesize``), the size the annotation
states (if any) matches it, and no image is listed twice. Per box: a known class, a hard flag of
0 or 1, finite coordinates, positive area, inside the image (or clipped, when asked). Then the
optional hard rules mark more boxes hard. Every problem goes to a ``ProblemLog``; nothing stops
at the first one.
"""
import math
import os
from typing import NamedTuple

import numpy as np

from gluoncv_hard import schema
from gluoncv_hard.data.classes import class_name_problem, infer_class_names
from gluoncv_hard.data.imagesize import ImageHeaderError, read_image_info
from gluoncv_hard.data.items import Record
from gluoncv_hard.utils.progress import progress_bar

__all__ = ['ValidationResult', 'validate_items', 'HARD_REASONS']

# Why a box ended up hard, in the order the reasons are checked.
HARD_REASONS = ('annotation', 'smaller', 'truncated')
CLIP_HINT = 'fix the box, or enable clipping (--clip for the converter, clip=True for readers)'


class ValidationResult(NamedTuple):
    """What ``validate_items`` produced.

    Attributes
    ----------
    records : list of Record
        Valid images, in source order.
    class_names : list of str
        Class id ``i`` is ``class_names[i]``.
    clipped_boxes, dropped_boxes : int
        Boxes clipped to the image, and boxes dropped because nothing of them was inside it
        (both only with ``clip=True``; each also has a warning).
    hard_boxes_by_reason : dict
        ``HARD_REASONS`` -> number of boxes made hard for that reason (first reason that applies).
    """
    records: list[Record]
    class_names: list[str]
    clipped_boxes: int
    dropped_boxes: int
    hard_boxes_by_reason: dict[str, int]


def _image_where(item):
    if item.where == item.image_path:
        return item.where
    return '{} (image {})'.format(item.where, item.image_path)


def _check_image(item, log):
    """Return the decoded ``(width, height)`` of the item's image, or None after an error."""
    where = _image_where(item)
    if '\0' in item.image_path:
        log.error(where, 'the image path {!r} holds a NUL byte'.format(item.image_path),
                  'fix the file name in the annotation')
        return None
    if not os.path.isfile(item.image_path):
        log.error(where, 'image file is missing', 'add the image or remove its annotation')
        return None
    try:
        info = read_image_info(item.image_path)
    except ImageHeaderError as e:
        log.error(where, 'unreadable image: ' + e.reason)
        return None
    if not info.complete:
        log.warn(where, '{} does not end with its end marker: the file may be truncated and '
                 'decode with missing rows'.format(info.format.upper()),
                 'check the image, or copy/export it again')
    if item.width is not None and (item.width, item.height) != (info.width, info.height):
        hint = ''
        if (item.width, item.height) == (info.height, info.width):
            hint = ' (width and height swapped: the image may carry an EXIF rotation that ' \
                   'decoders apply)'
        log.error(where, 'annotation says the image is {}x{} but the file is {}x{}{}'.format(
            item.width, item.height, info.width, info.height, hint),
            'the boxes were probably drawn on a different version of the image: re-annotate or '
            'fix the stated size')
        return None
    return info.width, info.height


def _clip(box, width, height):
    xmin, ymin, xmax, ymax = (float(v) for v in box)
    return (min(max(xmin, 0.0), width), min(max(ymin, 0.0), height),
            min(max(xmax, 0.0), width), min(max(ymax, 0.0), height))


def _box_text(box):
    # Sources convert to 0-based pixels (VOC XML values are 1 higher): say which numbers these are.
    return '(xmin, ymin, xmax, ymax) = ({}) in 0-based pixels'.format(
        ', '.join('{:g}'.format(v) for v in box))


class _BoxChecker:
    """Checks one box at a time against its image and counts fixes and hard reasons."""

    def __init__(self, class_names, clip, hard_if_smaller, hard_if_truncated, log):
        self.class_names = class_names
        self.class_id = {name: i for i, name in enumerate(class_names)}
        self.clip = clip
        self.hard_if_smaller = hard_if_smaller
        self.hard_if_truncated = hard_if_truncated
        self.log = log
        self.clipped = self.dropped = 0
        self.hard_counts = dict.fromkeys(HARD_REASONS, 0)

    def row(self, obj, width, height):
        """The label row (list of ``LABEL_WIDTH`` floats) of ``obj``, or None if it is left out."""
        box = self._checked_box(obj, width, height)
        if box is None:
            return None
        reason = self._hard_reason(obj, box)
        if reason is not None:
            self.hard_counts[reason] += 1
        row = [0.0] * schema.LABEL_WIDTH
        row[schema.BOX] = box
        row[schema.CLASS_ID] = self.class_id[obj.name]
        row[schema.HARD] = 0.0 if reason is None else 1.0
        return row

    def _checked_box(self, obj, width, height):
        log, box = self.log, (obj.xmin, obj.ymin, obj.xmax, obj.ymax)
        problem = class_name_problem(obj.name)
        if problem:
            log.error(obj.where, problem, 'fix the class name in the annotation')
            return None
        if obj.name not in self.class_id:
            known = ', '.join(self.class_names[:10]) + (', ...' if len(self.class_names) > 10
                                                        else '')
            log.error(obj.where, 'unknown class {!r}'.format(obj.name),
                      'add it to the class list or correct the name (known: {})'.format(known))
            return None
        if obj.hard not in (0, 1):
            log.error(obj.where, 'hard flag is {!r}; it must be 0 or 1'.format(obj.hard),
                      'fix the annotation')
            return None
        if not all(math.isfinite(v) for v in box):
            log.error(obj.where, 'box {} has a non-finite coordinate'.format(_box_text(box)),
                      'fix the annotation')
            return None
        if box[2] <= box[0] or box[3] <= box[1]:
            log.error(obj.where, 'box {} is inverted or has zero area'.format(_box_text(box)),
                      'xmax must exceed xmin and ymax must exceed ymin')
            return None
        inside = _clip(box, width, height)
        if inside == box:
            return box
        if not self.clip:
            log.error(obj.where, 'box {} extends past the {}x{} image'.format(
                _box_text(box), width, height), CLIP_HINT)
            return None
        if inside[2] <= inside[0] or inside[3] <= inside[1]:
            log.warn(obj.where, 'box {} lies outside the {}x{} image: dropped'.format(
                _box_text(box), width, height))
            self.dropped += 1
            return None
        log.warn(obj.where, 'box {} clipped to the {}x{} image: ({})'.format(
            _box_text(box), width, height, ', '.join('{:g}'.format(v) for v in inside)))
        self.clipped += 1
        return inside

    def _hard_reason(self, obj, box):
        if obj.hard:
            return 'annotation'
        if self.hard_if_smaller is not None and \
                min(box[2] - box[0], box[3] - box[1]) < self.hard_if_smaller:
            return 'smaller'
        if self.hard_if_truncated and obj.truncated:
            return 'truncated'
        return None


def validate_items(sources, log, class_names=None, clip=False, hard_if_smaller=None,
                   hard_if_truncated=False, progress=None):
    """Validate the items of one or more sources.

    Parameters
    ----------
    sources : sequence of Source
        Items are taken in order, source after source.
    log : ProblemLog
        Receives every error and warning; the caller decides whether to raise.
    class_names : sequence of str, optional
        Fixed class list: a box of any other class is an error. None infers the sorted union of
        used and declared names.
    clip : bool
        Clip boxes that extend past the image (warning); drop boxes entirely outside (warning).
        Without it both are errors.
    hard_if_smaller : float, optional
        Mark a box hard when its shorter side (pixels, after clipping) is below this.
    hard_if_truncated : bool
        Mark a box hard when the source says it is truncated (VOC ``<truncated>1``).
    progress : bool, optional
        Show a progress bar (None: only on a terminal; ``utils.progress``).

    Returns
    -------
    ValidationResult
        Records of the images that could be read (boxes with errors left out); whether to
        use them is the caller's decision, from ``log.errors``.
    """
    items = [item for source in sources for item in source.items]
    if class_names is None:
        declared = [name for source in sources for name in (source.declared_classes or ())]
        class_names = infer_class_names((o.name for item in items for o in item.objects
                                         if not class_name_problem(o.name)), declared)
    class_names = list(class_names)
    for position, name in enumerate(class_names):
        problem = class_name_problem(name) or (
            'class {!r} is listed twice'.format(name) if name in class_names[:position] else None)
        if problem:
            log.error('class_names[{}]'.format(position), problem, 'fix the class list')
    boxes = _BoxChecker(list(class_names), clip, hard_if_smaller, hard_if_truncated, log)
    first_seen = {}
    records = []
    for item in progress_bar(items, enabled=progress, desc='checking images', unit='img'):
        real_path = os.path.realpath(item.image_path.replace('\0', '?'))
        if real_path in first_seen:
            log.error(_image_where(item), 'image is listed twice (first at {})'.format(
                first_seen[real_path]), 'remove the duplicate entry')
            continue
        first_seen[real_path] = item.where
        size = _check_image(item, log)
        if size is None:
            continue
        rows = [row for row in (boxes.row(obj, *size) for obj in item.objects) if row is not None]
        label = np.array(rows, dtype=np.float32) if rows else schema.empty_label()
        try:
            label = schema.validate_label(label, item.where)
        except ValueError as e:  # only float32 rounding of a sub-pixel box can get here
            log.error(item.where, str(e))
            continue
        records.append(Record(item.image_id, item.image_path, size[0], size[1], label))
    return ValidationResult(records, boxes.class_names, boxes.clipped, boxes.dropped,
                            boxes.hard_counts)
