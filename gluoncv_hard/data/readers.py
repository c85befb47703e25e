"""Data sets that return ``(image, label)`` with the hard column, including images without boxes.

Every reader returns ``img`` as an ``mxnet.nd.NDArray`` (H, W, 3) uint8 and ``label`` as a
float32 ``numpy.ndarray`` of shape (N, 6), rows ``xmin, ymin, xmax, ymax, cls, hard`` in pixels
(``gluoncv_hard.schema``). An image without boxes gives ``schema.empty_label()``, shape (0, 6).

GluonCV's ``LstDetection``/``RecordFileDetection`` reject records without boxes (their
``_transform_label`` requires at least one box after the header). Ours parse the header with
``records.parse_record_label``: a record whose label is only ``A, B, W, H`` is an image without
boxes. Records with ``B = 5`` (no hard field) read as hard = 0.

Every reader checks its whole input when it is created and reports every problem at once
(``DataError``, file and line or record): malformed records, class ids outside the class list,
coordinates outside the image, image paths leading out of the root, missing images and image
headers that do not read or state another size than the record (the boxes would belong to
another version of the image). What is left for ``__getitem__`` (an image whose data is damaged
after a good header, unless ``image_check='decode'``) is an ``InputError`` naming the record.
"""
import functools
import io
import os
import warnings

import mxnet as mx
import numpy as np
from gluoncv import data as gdata
from mxnet.gluon.data import Dataset

from gluoncv_hard import schema
from gluoncv_hard.data.classes import read_class_names
from gluoncv_hard.data.coco import coco_source
from gluoncv_hard.data.imagesize import ImageHeaderError, read_image_info, read_image_info_from
from gluoncv_hard.data.manifest import check_manifest
from gluoncv_hard.data.negatives import negatives_source
from gluoncv_hard.data.problems import ProblemLog
from gluoncv_hard.data.recordio import RecordFileError, read_header
from gluoncv_hard.data.records import (
    RecordFormatError,
    check_record_id,
    checked_label,
    label_to_pixels,
    lst_lines,
    open_rec_records,
    parse_lst_line,
    parse_record_label,
    rec_index_path,
    rec_record_where,
)
from gluoncv_hard.data.validation import validate_items
from gluoncv_hard.data.voc import voc_source
from gluoncv_hard.errors import InputError, InputNotFoundError

__all__ = ['IMAGE_CHECKS', 'LstDetection', 'RecordFileDetection', 'SourceDetection',
           'VOCDetection', 'COCODetection', 'NegativeDetection', 'ConcatDetection',
           'ClassMappedDetection']

# What the readers check of every image when they are created: ``'header'`` reads the file
# header (the size, and that it is a JPEG/PNG/... at all: about 20 us per image), ``'decode'``
# decodes every image once (slow, but also finds damage after the header), ``'none'`` nothing.
IMAGE_CHECKS = ('header', 'decode', 'none')


def _check_choice(image_check, allowed=IMAGE_CHECKS):
    if image_check not in allowed:
        raise InputError('image_check must be one of {}, not {!r}'.format(
            ', '.join(allowed), image_check), param='image_check')


def _size_mismatch(width, height, decoded_width, decoded_height):
    return ('the record says the image is {}x{} but it decodes as {}x{}; its boxes were made for '
            'another version of the image (or one with an EXIF rotation): re-create the record '
            'from the current image'.format(width, height, decoded_width, decoded_height))


def _check_decoded_size(img, width, height, where):
    decoded_height, decoded_width = img.shape[:2]
    if width and (decoded_width, decoded_height) != (width, height):
        raise InputError('{}: {}'.format(where, _size_mismatch(width, height, decoded_width,
                                                               decoded_height)))


def _decode_error(where, error):
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return InputError('{}: the image cannot be decoded ({}); re-export it or remove its record '
                      '(image_check=\'decode\' finds such images before training)'.format(
                          where, lines[-1][:200] if lines else 'MXNet gives no reason'))


def _imread(path, flag, where):
    """``mx.image.imread``, with a file that does not decode as an ``InputError`` naming it."""
    try:
        img = mx.image.imread(path, flag)
        # MXNet decodes asynchronously: without waiting, a failed decode raises later, in
        # whatever reads the array first, as a bare MXNetError naming no file.
        img.wait_to_read()
        return img
    except mx.base.MXNetError as e:
        raise _decode_error(where, e) from None


def _imdecode(data, flag, where):
    """``mx.image.imdecode`` of bytes, with a failure as an ``InputError`` naming ``where``."""
    try:
        img = mx.image.imdecode(data, flag)
        img.wait_to_read()
        return img
    except mx.base.MXNetError as e:
        raise _decode_error(where, e) from None


def _scaled(label, img, coord_normalized):
    if not coord_normalized:
        return label.copy()
    height, width = img.shape[:2]
    return label_to_pixels(label, width, height)


def _check_image_info(info_of, decode, width, height, where, log):
    """Check one image when a data set is created; problems go to ``log``.

    ``info_of()`` returns its ``ImageInfo`` (header check), ``decode()`` decodes it (for
    ``image_check='decode'``, else None); ``width``/``height`` are what the record says.
    """
    try:
        info = info_of()
    except ImageHeaderError as e:
        log.error(where, 'unreadable image: ' + e.reason)
        return
    if not info.complete:
        log.warn(where, '{} does not end with its end marker: the file may be truncated and '
                 'decode with missing rows'.format(info.format.upper()),
                 'check the image, or copy/export it again')
    if width and (info.width, info.height) != (width, height):
        log.error(where, _size_mismatch(width, height, info.width, info.height))
        return
    if decode is not None:
        try:
            decode()
        except InputError as e:
            log.error(where, str(e)[len(where) + 2:])


def _outside(path, root):
    """True for a path that climbs out of ``root`` with ``..``, or is absolute while a root is
    given (with ``root=''`` paths are used as written, and an absolute one says which file)."""
    if os.path.isabs(path):
        return root != ''
    return os.path.normpath(path).split(os.sep)[0] == os.pardir


def _num_classes(classes):
    if classes is None:
        return None
    if isinstance(classes, (str, os.PathLike)):
        classes = read_class_names(classes)
    return len(classes)


def _warn(log):
    if log.warnings:
        warnings.warn(log.format_warnings(), stacklevel=3)


class LstDetection(gdata.LstDetection):
    """Detection data set from a ``.lst`` file and image files, with the hard column.

    Parameters
    ----------
    filename : str
        The ``.lst`` file. Every line is parsed and checked when the data set is created, and
        every image header read; all problems are reported together in one ``DataError`` (file
        and line number).
    root : str
        Folder the image paths in the ``.lst`` are relative to (as in GluonCV: ``''`` means
        the current directory). ``gluoncv-hard-convert`` prints the root to use.
    flag : int
        1 for color (3 channels), 0 for gray, as in GluonCV.
    coord_normalized : bool
        Whether the record coordinates are normalized to [0, 1] (the converter writes them
        so); if so they are scaled by the decoded image size.
    classes : sequence of str or str, optional
        The class list (or its file): class ids must be below its length. None checks only
        that ids are integers >= 0.
    image_check : {'header', 'decode', 'none'}
        What is checked of every image at creation (``IMAGE_CHECKS``).
    allow_outside_root : bool
        Accept image paths that climb out of ``root`` with ``..``, or are absolute while a
        ``root`` is given (refused by default: a ``.lst`` reads only below its root; with
        ``root=''`` absolute paths are accepted, as written).
    root_name : str
        How messages name ``root`` (callers that call it otherwise, e.g. ``'data_root'``).

    Raises
    ------
    DataError
        Listing every bad line and image; ``param`` is ``root`` (``root_name``) when images are
        missing.
    """

    def __init__(self, filename, root='', flag=1, coord_normalized=True, classes=None,
                 image_check='header', allow_outside_root=False, root_name='root'):
        # GluonCV's __init__ is not called: its parser turns any line into a float array and
        # only fails later, without a line number, on records without boxes.
        _check_choice(image_check)
        self._flag = flag
        self._coord_normalized = coord_normalized
        self._items, self._labels, self._records, self._where, self._ids = [], [], [], [], []
        num_classes = _num_classes(classes)
        filename = os.path.expanduser(filename)
        check_manifest(filename, ('lst',), {'lst': filename})
        log, missing = ProblemLog(), 0
        for line_number, line in lst_lines(filename):
            if not line.strip():
                continue
            where = '{}:{}'.format(filename, line_number)
            try:
                parsed = parse_lst_line(line, where)
                label = checked_label(parsed.record, where, num_classes, coord_normalized)
            except RecordFormatError as e:
                log.error(where, str(e).replace(where + ': ', '', 1))
                continue
            if not parsed.path.strip():
                log.error(where, 'the image path (last field) is empty')
                continue
            if '\0' in parsed.path:
                log.error(where, 'the image path {!r} holds a NUL byte'.format(parsed.path))
                continue
            if _outside(parsed.path, root) and not allow_outside_root:
                log.error(where, 'image path {!r} leads outside {} ({!r})'.format(
                    parsed.path, root_name, root), '.lst image paths are relative to {} and '
                    'stay below it (no .. out of it, no absolute path unless {} is empty): '
                    're-create the .lst with gluoncv-hard-convert (--image-root)'.format(
                        root_name, root_name))
                continue
            path = os.path.join(root, parsed.path)
            if image_check != 'none':
                if not os.path.isfile(path):
                    missing += 1
                    log.error(where, 'image {} does not exist'.format(path),
                              '.lst image paths are relative to {} ({!r}): is it the folder '
                              'gluoncv-hard-convert printed?'.format(root_name, root))
                    continue
                _check_image_info(
                    functools.partial(read_image_info, path),
                    functools.partial(_imread, path, flag, where)
                    if image_check == 'decode' else None,
                    parsed.record.width, parsed.record.height, where, log)
            self._items.append(path)
            self._labels.append(label)
            self._records.append(parsed.record)
            self._where.append(where)
            self._ids.append(parsed.path)
        _warn(log)
        log.raise_if_errors(param=root_name if missing else None)

    def image_path(self, idx):
        """Path of image ``idx`` (``root`` joined with the path in the ``.lst``)."""
        return self._items[idx]

    def image_id(self, idx):
        """Id of image ``idx``: its path as written in the ``.lst``."""
        return self._ids[idx]

    def num_boxes(self, idx):
        """Number of boxes of record ``idx`` (without reading the image)."""
        return len(self._labels[idx])

    def annotation(self, idx):
        """The ``(N, 6)`` label of record ``idx`` as the file holds it (normalized coordinates
        for a normalized ``.lst``), without reading the image."""
        return self._labels[idx]

    def __len__(self):
        return len(self._items)

    def __getitem__(self, idx):
        path = self._items[idx]
        if not os.path.isfile(path):
            raise InputNotFoundError('{}: image {} does not exist (it did when the data set was '
                                     'created)'.format(self._where[idx], path))
        img = _imread(path, self._flag, self._where[idx])
        record = self._records[idx]
        _check_decoded_size(img, record.width, record.height, self._where[idx])
        return img, _scaled(self._labels[idx], img, self._coord_normalized)


class _RecordImage:
    """A read-only file object over the image bytes of one single-chunk ``.rec`` record."""

    def __init__(self, reader, span, start):
        data_offset, length = span.chunks[0]
        self._reader, self._base, self._size, self._pos = reader, data_offset + start, \
            length - start, 0

    def read(self, count=-1):
        if count is None or count < 0:
            count = self._size - self._pos
        count = max(0, min(count, self._size - self._pos))
        data = self._reader.read_at(self._base + self._pos, count)
        self._pos += len(data)
        return data

    def seek(self, offset, whence=0):
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self):
        return self._pos


class RecordFileDetection(gdata.RecordFileDetection):
    """Detection data set from a ``.rec``/``.idx`` pair, with the hard column.

    Parameters
    ----------
    filename : str
        The ``.rec`` file; the ``.idx`` file must be beside it with the same name.
    coord_normalized : bool
        Whether the record coordinates are normalized to [0, 1] (the converter writes them so).
    classes : sequence of str or str, optional
        As for :class:`LstDetection`.
    image_check : {'header', 'decode', 'none'}
        As for :class:`LstDetection`.
    flag : int
        1 for color, 0 for gray.

    Notes
    -----
    When the data set is created the ``.idx`` is checked against the ``.rec`` (every offset
    the start of a record, every record listed once, the ``.rec`` not truncated, each record's
    id its key; a manifest beside them, if any, matching), then every record's label and image
    header; all problems are reported together. Reads share no file position (``os.pread``):
    the data set can be read from any number of data-loader threads or processes.
    """

    def __init__(self, filename, coord_normalized=True, classes=None, image_check='header',
                 flag=1):
        # GluonCV's __init__ is not called: it opens MXNet's RecordIO handle, whose single read
        # position data-loader threads would share.
        _check_choice(image_check)
        self.filename, self.idx_file = filename, rec_index_path(filename)
        self._flag, self._transform = flag, None
        self._coord_normalized = coord_normalized
        num_classes = _num_classes(classes)
        self._reader, records = open_rec_records(filename, self.idx_file)
        check_manifest(filename, ('rec', 'idx'), {'rec': filename, 'idx': self.idx_file})
        self._spans, self._image_starts, self._ids, self._records, self._labels = \
            [], [], [], [], []
        log = ProblemLog()
        for position, (entry, span) in enumerate(records):
            where = rec_record_where(filename, position)
            try:
                values, record_id, image_start = read_header(self._reader, span, where)
                check_record_id(entry, record_id, filename, where)
                record = parse_record_label(values, where)
                label = checked_label(record, where, num_classes, coord_normalized)
            except (RecordFormatError, RecordFileError) as e:
                log.error(where, str(e).replace(where + ': ', '', 1))
                continue
            if image_check != 'none':
                self._check_image(span, image_start, record, where, image_check, log)
            self._spans.append(span)
            self._image_starts.append(image_start)
            self._ids.append(record_id)
            self._records.append(record)
            self._labels.append(label)
        _warn(log)
        log.raise_if_errors()

    def _check_image(self, span, image_start, record, where, image_check, log):
        def info_of():
            if len(span.chunks) == 1:
                image = _RecordImage(self._reader, span, image_start)
            else:
                image = io.BytesIO(self._image_bytes_of(span, image_start))
            return read_image_info_from(image, where)

        def decode():
            return _imdecode(self._image_bytes_of(span, image_start), self._flag, where)
        _check_image_info(info_of, decode if image_check == 'decode' else None, record.width,
                          record.height, where, log)

    def _image_bytes_of(self, span, image_start):
        return self._reader.payload(span, image_start)

    def __len__(self):
        return len(self._spans)

    def image_id(self, idx):
        """Id of record ``idx``: the id stored in its header (the ``.lst`` index)."""
        return self._ids[idx]

    def num_boxes(self, idx):
        """Number of boxes of record ``idx`` (without reading the image)."""
        return len(self._labels[idx])

    def annotation(self, idx):
        """The ``(N, 6)`` label of record ``idx`` as the file holds it, without the image."""
        return self._labels[idx]

    def __getitem__(self, idx):
        where = rec_record_where(self.filename, idx)
        img = _imdecode(self._image_bytes_of(self._spans[idx], self._image_starts[idx]),
                        self._flag, where)
        record = self._records[idx]
        _check_decoded_size(img, record.width, record.height, where)
        return img, _scaled(self._labels[idx], img, self._coord_normalized)


class SourceDetection(Dataset):
    """Images and boxes from annotation sources (the converter's parsers), validated up front.

    Parameters
    ----------
    make_sources : callable
        ``make_sources(log) -> [Source, ...]``; the parsers report problems to ``log``.
    name : str
        Shown by ``str()``.
    classes : sequence of str or str, optional
        Class names in id order, or the path of a class file (one name per line). A box of
        another class is an error. None infers the sorted names used.
    clip : bool
        Clip boxes that extend past the image instead of raising (a warning is issued).
    image_check : {'header', 'decode'}
        ``'decode'`` also decodes every image once at creation (``IMAGE_CHECKS``).

    Notes
    -----
    Every annotation is parsed and every image header is read when the data set is created, so
    missing images, corrupt files, bad boxes and unknown classes are all reported at once in one
    ``DataError``.
    """

    def __init__(self, make_sources, name, classes=None, clip=False, image_check='header'):
        super().__init__()
        _check_choice(image_check, ('header', 'decode'))
        if isinstance(classes, (str, os.PathLike)):
            classes = read_class_names(classes)
        log = ProblemLog()
        result = validate_items(make_sources(log), log, class_names=classes, clip=clip)
        if image_check == 'decode':
            for record in result.records:
                try:
                    _imread(record.image_path, 1, record.image_path)
                except InputError as e:
                    log.error(record.image_path, str(e)[len(record.image_path) + 2:])
        log.raise_if_errors()
        if log.warnings:
            warnings.warn(log.format_warnings(), stacklevel=2)
        self._name = name
        self._records = result.records
        self._classes = tuple(result.class_names)

    def __str__(self):
        return '{}({})'.format(type(self).__name__, self._name)

    @property
    def classes(self):
        """Class names; class id ``i`` is ``classes[i]``."""
        return self._classes

    @property
    def num_class(self):
        """Number of classes."""
        return len(self._classes)

    def image_path(self, idx):
        """Path of image ``idx``."""
        return self._records[idx].image_path

    def image_id(self, idx):
        """Id of image ``idx``: the annotation's id, or ``<folder>/<file>`` for a negative."""
        return self._records[idx].image_id

    def __len__(self):
        return len(self._records)

    def num_boxes(self, idx):
        """Number of boxes of image ``idx`` (without reading it)."""
        return len(self._records[idx].label)

    def annotation(self, idx):
        """The ``(N, 6)`` label of image ``idx`` in pixels, without reading the image."""
        return self._records[idx].label

    def __getitem__(self, idx):
        record = self._records[idx]
        img = _imread(record.image_path, 1, record.image_path)
        _check_decoded_size(img, record.width, record.height, record.image_path)
        return img, record.label.copy()


class VOCDetection(SourceDetection):
    """A VOC-layout folder (plus optional folders of negatives) with ``difficult`` as hard.

    Parameters
    ----------
    root : str
        Folder with ``Annotations/ID.xml``, ``JPEGImages/ID.jpg`` and
        ``ImageSets/Main/SPLIT.txt``, e.g. ``VOCdevkit/VOC2007``.
    splits : str or sequence of str
        Image sets to read, in order, e.g. ``('trainval',)``.
    classes, clip, image_check
        See :class:`SourceDetection`.
    negatives : sequence of str
        Folders whose images are added (after the VOC images) without boxes.
    """

    def __init__(self, root, splits=('train',), classes=None, negatives=(), clip=False,
                 image_check='header'):
        splits = (splits,) if isinstance(splits, str) else tuple(splits)
        super().__init__(
            lambda log: [voc_source(root, splits, log)]
            + [negatives_source(folder, log) for folder in negatives],
            '{}, {}'.format(root, ','.join(splits)), classes, clip, image_check)


class COCODetection(SourceDetection):
    """A COCO annotation file and its image folder; ``iscrowd=1`` or ``ignore=1`` is hard.

    Parameters
    ----------
    annotation : str
        The COCO ``instances_*.json``.
    image_dir : str
        Folder the ``file_name`` of each image is relative to.
    classes, clip, image_check
        See :class:`SourceDetection`; by default the categories declared in the file, sorted.
    negatives : sequence of str
        Folders whose images are added without boxes.
    """

    def __init__(self, annotation, image_dir, classes=None, negatives=(), clip=False,
                 image_check='header'):
        super().__init__(
            lambda log: [coco_source(annotation, image_dir, log)]
            + [negatives_source(folder, log) for folder in negatives],
            annotation, classes, clip, image_check)


class NegativeDetection(SourceDetection):
    """Folders of images that contain no object: every image has a ``(0, 6)`` label."""

    def __init__(self, folders, image_check='header'):
        folders = (folders,) if isinstance(folders, (str, os.PathLike)) else tuple(folders)
        super().__init__(lambda log: [negatives_source(folder, log) for folder in folders],
                         ', '.join(map(str, folders)), classes=(), image_check=image_check)


class ConcatDetection(Dataset):
    """Several detection data sets one after the other (e.g. training images then negatives).

    ``image_path``/``image_id`` are forwarded to the data set that holds the item.
    """

    def __init__(self, datasets):
        super().__init__()
        self._datasets = [d for d in datasets if d is not None]
        self._ends = np.cumsum([len(d) for d in self._datasets])

    def _locate(self, idx):
        if not 0 <= idx < len(self):
            raise IndexError('index {} out of range for {} items'.format(idx, len(self)))
        part = int(np.searchsorted(self._ends, idx, side='right'))
        return self._datasets[part], idx - (self._ends[part - 1] if part else 0)

    def __len__(self):
        return int(self._ends[-1]) if len(self._ends) else 0

    def __getitem__(self, idx):
        dataset, local = self._locate(idx)
        return dataset[local]

    def image_path(self, idx):
        dataset, local = self._locate(idx)
        return dataset.image_path(local)

    def image_id(self, idx):
        dataset, local = self._locate(idx)
        return dataset.image_id(local)

    def num_boxes(self, idx):
        dataset, local = self._locate(idx)
        return dataset.num_boxes(local)

    def annotation(self, idx):
        dataset, local = self._locate(idx)
        return dataset.annotation(local)


class ClassMappedDetection(Dataset):
    """A detection data set whose class ids are renumbered (e.g. to the training set's list).

    Parameters
    ----------
    dataset : detection data set
        Returns ``(img, label)`` with ``label`` ``(N, 6)``.
    mapping : sequence of int
        ``mapping[i]`` is the new id of the data set's class ``i``.
    classes : sequence of str
        The class names the new ids refer to.
    """

    def __init__(self, dataset, mapping, classes):
        super().__init__()
        self._dataset = dataset
        self._mapping = np.asarray(mapping, dtype=np.float32)
        self.classes = tuple(classes)

    def _mapped(self, label):
        label = np.array(label, dtype=np.float32)
        if len(label):
            label[:, schema.CLASS_ID] = self._mapping[label[:, schema.CLASS_ID].astype(int)]
        return label

    def __len__(self):
        return len(self._dataset)

    def __getitem__(self, idx):
        img, label = self._dataset[idx]
        return img, self._mapped(label)

    def image_path(self, idx):
        return self._dataset.image_path(idx)

    def image_id(self, idx):
        return self._dataset.image_id(idx)

    def num_boxes(self, idx):
        return self._dataset.num_boxes(idx)

    def annotation(self, idx):
        return self._mapped(self._dataset.annotation(idx))
