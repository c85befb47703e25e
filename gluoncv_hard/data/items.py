"""The common form every annotation source produces, and the validated record it becomes.

Sources (VOC, COCO, CSV, negative folders) only parse their format into ``SourceItem``s with
pixel coordinates and class names. Everything else (image checks, class ids, clipping, hard
rules) happens once, in ``validation.validate_items``, which turns them into ``Record``s.
"""
from collections.abc import Sequence
from typing import NamedTuple, Optional

import numpy as np

__all__ = ['SourceObject', 'SourceItem', 'Source', 'Record']


class SourceObject(NamedTuple):
    """One annotated box as the source states it.

    Attributes
    ----------
    name : str
        Class name.
    xmin, ymin, xmax, ymax : float
        Pixel coordinates (0-based, xmax/ymax exclusive edge as in GluonCV).
    hard : float
        The source's hard flag (VOC ``difficult``, COCO ``iscrowd``/``ignore``, CSV ``hard``);
        validation requires 0 or 1.
    truncated : bool
        VOC ``truncated``; False where the format has no such attribute.
    where : str
        Names the object in messages (file and object number or line).
    """
    name: str
    xmin: float
    ymin: float
    xmax: float
    ymax: float
    hard: float
    truncated: bool
    where: str


class SourceItem(NamedTuple):
    """One image and its objects (an empty tuple for an image without objects).

    ``width``/``height`` are the size the annotation states, or None if it states none.
    """
    image_id: str
    image_path: str
    where: str
    width: Optional[int]
    height: Optional[int]
    objects: Sequence[SourceObject]


class Source(NamedTuple):
    """The items of one input, plus the class names it declares (COCO categories), if any, and
    the annotation files it read (``input_files``: the converter never writes over them)."""
    kind: str
    items: Sequence[SourceItem]
    declared_classes: Optional[Sequence[str]] = None
    input_files: Sequence[str] = ()


class Record(NamedTuple):
    """A validated image: what a ``.lst`` line or ``.rec`` entry is written from.

    Attributes
    ----------
    image_id : str
    image_path : str
        Path of the image file.
    width, height : int
        Image size as decoded, from the file header.
    label : numpy.ndarray, float32, shape (N, 6)
        ``xmin, ymin, xmax, ymax, cls, hard`` in pixels; ``(0, 6)`` for a negative image.
    """
    image_id: str
    image_path: str
    width: int
    height: int
    label: np.ndarray
