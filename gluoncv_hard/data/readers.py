"""Data sets that return ``(image, label)`` with the hard column, including images without boxes.

Every reader returns ``img`` as an ``mxnet.nd.NDArray`` (H, W, 3) uint8 and ``label`` as a
float32 ``numpy.ndarray`` of shape (N, 6), rows ``xmin, ymin, xmax, ymax, cls, hard`` in pixels
(``gluoncv_hard.schema``). An image without boxes gives ``schema.empty_label()``, shape (0, 6).

GluonCV's ``LstDetection``/``RecordFileDetection`` reject records without boxes (their
``_transform_label`` requires at least one box after the header). Ours parse the header with
``records.parse_record_label``: a record whose label is only ``A, B, W, H`` is an image without
boxes. Records with ``B = 5`` (no hard field) read as hard = 0.

Every reader also checks that the image decodes at the size the record/annotation states: a
mismatch means the boxes belong to another version of the image (or an EXIF rotation), which
would otherwise train on wrong boxes without any sign.
"""
import os
import warnings

import mxnet as mx
import numpy as np
from gluoncv import data as gdata
from mxnet.gluon.data import Dataset

from gluoncv_hard.data.classes import read_class_names
from gluoncv_hard.data.coco import coco_source
from gluoncv_hard.data.negatives import negatives_source
from gluoncv_hard.data.problems import ProblemLog
from gluoncv_hard.data.records import (
    RecordFormatError,
    checked_label,
    label_to_pixels,
    parse_lst_line,
    parse_record_label,
    require_rec_files,
    unpack_record,
)
from gluoncv_hard.data.validation import validate_items
from gluoncv_hard.data.voc import voc_source
from gluoncv_hard.errors import InputError, InputNotFoundError

__all__ = ['LstDetection', 'RecordFileDetection', 'SourceDetection', 'VOCDetection',
           'COCODetection', 'NegativeDetection', 'ConcatDetection']


def _check_decoded_size(img, width, height, where):
    decoded_height, decoded_width = img.shape[:2]
    if width and (decoded_width, decoded_height) != (width, height):
        raise InputError(
            '{}: the record says the image is {}x{} but it decodes as {}x{}; its boxes were made '
            'for another version of the image (or one with an EXIF rotation): re-create the '
            'record from the current image'.format(where, width, height, decoded_width,
                                                   decoded_height))


def _scaled(label, img, coord_normalized):
    if not coord_normalized:
        return label.copy()
    height, width = img.shape[:2]
    return label_to_pixels(label, width, height)


class LstDetection(gdata.LstDetection):
    """Detection data set from a ``.lst`` file and image files, with the hard column.

    Parameters
    ----------
    filename : str
        The ``.lst`` file. Every line is parsed and checked when the data set is created; all
        malformed lines are reported together in one ``DataError`` (file and line number).
    root : str
        Folder the image paths in the ``.lst`` are relative to (as in GluonCV: ``''`` means
        the current directory). ``gluoncv-hard-convert`` prints the root to use.
    flag : int
        1 for color (3 channels), 0 for gray, as in GluonCV.
    coord_normalized : bool
        Whether the record coordinates are normalized to [0, 1] (the converter writes them
        so); if so they are scaled by the decoded image size.
    """

    def __init__(self, filename, root='', flag=1, coord_normalized=True):
        # GluonCV's __init__ is not called: its parser turns any line into a float array and
        # only fails later, without a line number, on records without boxes.
        self._flag = flag
        self._coord_normalized = coord_normalized
        self._items, self._labels, self._records, self._where, self._ids = [], [], [], [], []
        log = ProblemLog()
        with open(os.path.expanduser(filename), encoding='utf-8') as f:
            for line_number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                where = '{}:{}'.format(filename, line_number)
                try:
                    parsed = parse_lst_line(line, where)
                    label = checked_label(parsed.record, where)
                except RecordFormatError as e:
                    log.error(where, str(e).replace(where + ': ', '', 1))
                    continue
                self._items.append(os.path.join(root, parsed.path))
                self._labels.append(label)
                self._records.append(parsed.record)
                self._where.append(where)
                self._ids.append(parsed.path)
        log.raise_if_errors()

    def image_path(self, idx):
        """Path of image ``idx`` (``root`` joined with the path in the ``.lst``)."""
        return self._items[idx]

    def image_id(self, idx):
        """Id of image ``idx``: its path as written in the ``.lst``."""
        return self._ids[idx]

    def num_boxes(self, idx):
        """Number of boxes of record ``idx`` (without reading the image)."""
        return len(self._labels[idx])

    def __getitem__(self, idx):
        path = self._items[idx]
        if not os.path.isfile(path):
            raise InputNotFoundError('{}: image {} does not exist; check the root argument ({})'
                                     .format(self._where[idx], path, 'LstDetection(..., root=)'))
        img = mx.image.imread(path, self._flag)
        record = self._records[idx]
        _check_decoded_size(img, record.width, record.height, self._where[idx])
        return img, _scaled(self._labels[idx], img, self._coord_normalized)


class RecordFileDetection(gdata.RecordFileDetection):
    """Detection data set from a ``.rec``/``.idx`` pair, with the hard column.

    Parameters
    ----------
    filename : str
        The ``.rec`` file; the ``.idx`` file must be beside it with the same name.
    coord_normalized : bool
        Whether the record coordinates are normalized to [0, 1] (the converter writes them so).

    Notes
    -----
    Records are parsed and checked when read (``__getitem__``); a malformed one raises a
    ``RecordFormatError`` (an ``InputError``) naming the file and record position.
    """

    def __init__(self, filename, coord_normalized=True):
        require_rec_files(filename)
        super().__init__(filename, coord_normalized)

    def _read(self, idx):
        return unpack_record(self._record.read_idx(self._record.keys[idx]))

    def image_id(self, idx):
        """Id of record ``idx``: the id stored in its header (the ``.lst`` index)."""
        return self._read(idx)[1]

    def __getitem__(self, idx):
        values, _, image_bytes = self._read(idx)
        where = '{} record {}'.format(self.filename, idx)
        record = parse_record_label(values, where)
        label = checked_label(record, where)
        img = mx.image.imdecode(image_bytes, self._flag)
        _check_decoded_size(img, record.width, record.height, where)
        return img, _scaled(label, img, self._coord_normalized)


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

    Notes
    -----
    Every annotation is parsed and every image header is read when the data set is created, so
    missing images, corrupt files, bad boxes and unknown classes are all reported at once in one
    ``DataError``.
    """

    def __init__(self, make_sources, name, classes=None, clip=False):
        super().__init__()
        if isinstance(classes, (str, os.PathLike)):
            classes = read_class_names(classes)
        log = ProblemLog()
        result = validate_items(make_sources(log), log, class_names=classes, clip=clip)
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

    def __getitem__(self, idx):
        record = self._records[idx]
        img = mx.image.imread(record.image_path, 1)
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
    classes, clip
        See :class:`SourceDetection`.
    negatives : sequence of str
        Folders whose images are added (after the VOC images) without boxes.
    """

    def __init__(self, root, splits=('train',), classes=None, negatives=(), clip=False):
        splits = (splits,) if isinstance(splits, str) else tuple(splits)
        super().__init__(
            lambda log: [voc_source(root, splits, log)]
            + [negatives_source(folder, log) for folder in negatives],
            '{}, {}'.format(root, ','.join(splits)), classes, clip)


class COCODetection(SourceDetection):
    """A COCO annotation file and its image folder; ``iscrowd=1`` or ``ignore=1`` is hard.

    Parameters
    ----------
    annotation : str
        The COCO ``instances_*.json``.
    image_dir : str
        Folder the ``file_name`` of each image is relative to.
    classes, clip
        See :class:`SourceDetection`; by default the categories declared in the file, sorted.
    negatives : sequence of str
        Folders whose images are added without boxes.
    """

    def __init__(self, annotation, image_dir, classes=None, negatives=(), clip=False):
        super().__init__(
            lambda log: [coco_source(annotation, image_dir, log)]
            + [negatives_source(folder, log) for folder in negatives],
            annotation, classes, clip)


class NegativeDetection(SourceDetection):
    """Folders of images that contain no object: every image has a ``(0, 6)`` label."""

    def __init__(self, folders):
        folders = (folders,) if isinstance(folders, (str, os.PathLike)) else tuple(folders)
        super().__init__(lambda log: [negatives_source(folder, log) for folder in folders],
                         ', '.join(map(str, folders)), classes=())


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
