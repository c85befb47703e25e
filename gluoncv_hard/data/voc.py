"""Pascal VOC annotations: parse one XML file, and list the items of a VOC-layout folder.

``parse_voc_xml`` is the single VOC parser: the converter and the ``VOCDetection`` reader both
use it. VOC XML coordinates are 1-based; like GluonCV's ``VOCDetection`` we subtract 1 from all
four to get 0-based pixel coordinates.
"""
import math
import os
import xml.etree.ElementTree as ET
from typing import NamedTuple

from gluoncv_hard.data.items import Source, SourceItem, SourceObject
from gluoncv_hard.data.negatives import IMAGE_EXTENSIONS
from gluoncv_hard.errors import InputError
from gluoncv_hard.utils.progress import progress_bar

__all__ = ['VocObject', 'VocParseError', 'parse_voc_xml', 'voc_source', 'VOC_COORDINATE_OFFSET']

# VOC pixel indices start at 1.
VOC_COORDINATE_OFFSET = 1.0
_BOX_TAGS = ('xmin', 'ymin', 'xmax', 'ymax')


class VocParseError(InputError):
    """A VOC XML file is malformed. ``where`` names the file (and object), ``what`` the problem."""

    def __init__(self, where, what):
        self.where, self.what = where, what
        super().__init__('{}: {}'.format(where, what))


class VocObject(NamedTuple):
    """One ``<object>``: class ``name``, 0-based pixel box, ``difficult`` and ``truncated`` (0/1
    as written; missing or empty means 0)."""
    name: str
    xmin: float
    ymin: float
    xmax: float
    ymax: float
    difficult: int
    truncated: int


def _text(element, tag):
    child = element.find(tag)
    return None if child is None or child.text is None else child.text.strip()


def _flag(element, tag, where):
    text = _text(element, tag)
    if not text:
        return 0
    try:
        value = float(text)
    except ValueError:
        raise VocParseError(where, '<{}> is {!r}; it must be 0 or 1'.format(tag, text)) from None
    return int(value) if value.is_integer() else value


def parse_voc_xml(path):
    """Parse a VOC annotation file.

    Parameters
    ----------
    path : str
        The XML file.

    Returns
    -------
    width, height : int or None
        From ``<size>``; None when ``<size>`` is missing or states 0 (some tools write 0).
    objects : list of VocObject
        In file order; coordinates are 0-based pixels (XML value - 1).

    Raises
    ------
    VocParseError
        For XML that does not parse, a root element other than ``<annotation>``, a ``<size>``
        that is not whole pixels, or an ``<object>`` without ``<name>`` or with a missing or
        non-numeric ``<bndbox>`` coordinate. The message names the file and object number.
    """
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise VocParseError(path, 'malformed XML ({}); fix the file or remove it from the image '
                                  'set'.format(e)) from None
    if root.tag != 'annotation':
        raise VocParseError(path, 'the root element is <{}>, not <annotation>: not a VOC '
                                  'annotation; fix the file or remove it from the image set'
                            .format(root.tag))
    width = height = None
    size = root.find('size')
    if size is not None:
        try:
            width, height = float(_text(size, 'width')), float(_text(size, 'height'))
        except (TypeError, ValueError):
            raise VocParseError(path, '<size> needs numeric <width> and <height>; fix them or '
                                      'remove <size>') from None
        if not (math.isfinite(width) and math.isfinite(height) and width.is_integer()
                and height.is_integer() and width >= 0 and height >= 0):
            raise VocParseError(path, '<size> gives width x height = {} x {}; both must be whole '
                                      'pixels (0 when unknown); fix them or remove <size>'
                                .format(_text(size, 'width'), _text(size, 'height')))
        width, height = int(width), int(height)
        if width == 0 or height == 0:
            width = height = None
    objects = []
    for number, element in enumerate(root.iter('object')):
        where = '{} object {}'.format(path, number)
        name = _text(element, 'name')
        if not name:
            raise VocParseError(where, '<object> has no <name>; add the class name')
        box = element.find('bndbox')
        if box is None:
            raise VocParseError('{} ({})'.format(where, name), '<object> has no <bndbox>; add '
                                'xmin, ymin, xmax, ymax or remove the object')
        coordinates = []
        for tag in _BOX_TAGS:
            text = _text(box, tag)
            try:
                coordinates.append(float(text) - VOC_COORDINATE_OFFSET)
            except (TypeError, ValueError):
                raise VocParseError('{} ({})'.format(where, name),
                                    '<bndbox><{}> is {!r}; it must be a number'.format(tag, text)
                                    ) from None
        objects.append(VocObject(name, *coordinates, difficult=_flag(element, 'difficult', where),
                                 truncated=_flag(element, 'truncated', where)))
    return width, height, objects


def _find_image(image_dir, image_id):
    # VOC images are ID.jpg; custom VOC-layout sets sometimes hold PNGs.
    for extension in IMAGE_EXTENSIONS:
        path = os.path.join(image_dir, image_id + extension)
        if os.path.exists(path):
            return path
    return os.path.join(image_dir, image_id + IMAGE_EXTENSIONS[0])


def _read_image_set(path, log):
    """Image ids of ``ImageSets/Main/SET.txt`` with the line each came from."""
    ids = []
    try:
        with open(path, encoding='utf-8') as f:
            for line_number, line in enumerate(f, 1):
                # Class-specific set files add a "1/-1/0" column; only the id matters here.
                tokens = line.split()
                if tokens:
                    ids.append((tokens[0], '{}:{}'.format(path, line_number)))
    except OSError as e:
        log.error(path, 'cannot read the image set ({})'.format(e.strerror),
                  'check the image set names and that ImageSets/Main/<set>.txt exists')
    return ids


def voc_source(root, sets, log, progress=None):
    """The items of a VOC-layout folder.

    Parameters
    ----------
    root : str
        Folder with ``Annotations/ID.xml``, ``JPEGImages/ID.jpg`` and ``ImageSets/Main/SET.txt``
        (e.g. ``VOCdevkit/VOC2007``).
    sets : sequence of str, optional
        Image sets to read, in order (e.g. ``('train', 'val')``). None reads every
        ``Annotations/*.xml``, sorted by name.
    log : ProblemLog
        Malformed XML and unreadable set files are reported here; such items are left out.
    progress : bool, optional
        Show a progress bar while parsing (None: only on a terminal; ``utils.progress``).

    Returns
    -------
    Source
        ``kind='voc'``; each object's ``hard`` is ``<difficult>``, ``truncated`` is
        ``<truncated>``.
        Images are ``JPEGImages/ID.jpg`` (or ``.jpeg``/``.png``... when no ``.jpg`` exists).
    """
    annotation_dir = os.path.join(root, 'Annotations')
    image_dir = os.path.join(root, 'JPEGImages')
    if sets is None:
        if not os.path.isdir(annotation_dir):
            log.error(root, 'no Annotations/ folder here', 'give the VOC-layout folder itself, '
                      'such as VOCdevkit/VOC2007')
            return Source('voc', [])
        ids = [(name[:-len('.xml')], os.path.join(annotation_dir, name))
               for name in sorted(os.listdir(annotation_dir)) if name.endswith('.xml')]
        inputs = []
    else:
        ids, inputs = [], []
        for image_set in sets:
            inputs.append(os.path.join(root, 'ImageSets', 'Main', image_set + '.txt'))
            ids += _read_image_set(inputs[-1], log)
    items = []
    for image_id, listed_at in progress_bar(ids, enabled=progress, desc='reading XML',
                                            unit='file'):
        if '\0' in image_id:
            log.error(listed_at, 'image id {!r} holds a NUL byte'.format(image_id))
            continue
        if os.path.isabs(image_id) or os.path.normpath(image_id).split(os.sep)[0] == os.pardir:
            log.error(listed_at, 'image id {!r} leads outside the VOC folder'.format(image_id),
                      'image set lines name files of Annotations/ and JPEGImages/ (no leading / '
                      'or ..)')
            continue
        xml_path = os.path.join(annotation_dir, image_id + '.xml')
        try:
            width, height, objects = parse_voc_xml(xml_path)
        except VocParseError as e:
            log.error(e.where, e.what)
            continue
        except OSError as e:
            log.error(listed_at, 'annotation {} cannot be read ({})'.format(xml_path, e.strerror),
                      'add the XML file or remove the id from the image set')
            continue
        source_objects = tuple(
            SourceObject(o.name, o.xmin, o.ymin, o.xmax, o.ymax, o.difficult, bool(o.truncated),
                         '{} object {} ({})'.format(xml_path, k, o.name))
            for k, o in enumerate(objects))
        items.append(SourceItem(image_id, _find_image(image_dir, image_id), xml_path,
                                width, height, source_objects))
        inputs.append(xml_path)
    return Source('voc', items, input_files=tuple(inputs))
