"""Open the training, validation and negative-image data sets named on a command line."""
import os

from gluoncv_hard.data.classes import classes_path_for, read_class_names
from gluoncv_hard.errors import InputError, InputNotFoundError

__all__ = ['DATASET_KINDS', 'open_dataset', 'open_negatives', 'default_classes_file']

DATASET_KINDS = ('voc', 'coco', 'lst', 'rec')

# ``FILE.classes.txt`` beside ``FILE.lst``/``FILE.rec``, where gluoncv-hard-convert writes it.
default_classes_file = classes_path_for


def open_dataset(kind, path, data_root='', classes=None):
    """Open one data set; returns ``(dataset, class_names)``.

    Parameters
    ----------
    kind : {'voc', 'coco', 'lst', 'rec'}
    path : str
        ``voc``: comma-separated image sets of the VOC folder ``data_root`` (e.g.
        ``trainval``); ``coco``: the annotation JSON (images under ``data_root``); ``lst``: the
        ``.lst`` file (image paths relative to ``data_root``); ``rec``: the ``.rec`` file.
    data_root : str
    classes : sequence of str, optional
        Class names in id order. Default: inferred (voc), declared categories (coco), or read
        from ``FILE.classes.txt`` beside a ``.lst``/``.rec``.

    Raises
    ------
    InputError
        For a missing file or folder (``InputNotFoundError``, also a ``FileNotFoundError``) or
        an unknown ``kind``, naming the parameter (``param``) where it is known; ``DataError``
        (a kind of it) for errors in the data.
    """
    from gluoncv_hard.data import COCODetection, LstDetection, RecordFileDetection, VOCDetection
    if kind == 'voc':
        if not os.path.isdir(data_root):
            raise InputNotFoundError('VOC folder {!r} does not exist'.format(data_root),
                                     param='data_root')
        dataset = VOCDetection(data_root, splits=[s for s in path.split(',') if s],
                               classes=classes)
        return dataset, list(dataset.classes)
    if kind == 'coco':
        dataset = COCODetection(path, data_root, classes=classes)
        return dataset, list(dataset.classes)
    if kind not in ('lst', 'rec'):
        raise InputError('unknown dataset kind {!r}; choose one of: {}'.format(
            kind, ', '.join(DATASET_KINDS)), param='kind')
    if not os.path.isfile(path):
        # Which setting ``path`` is (training or validation data) only the caller knows.
        raise InputNotFoundError('{} file {} does not exist'.format(kind, path))
    if classes is None:
        class_file = default_classes_file(path)
        if not os.path.isfile(class_file):
            raise InputNotFoundError(
                'no class list for {}: give the class names, or put {} beside it (one name per '
                'line; gluoncv-hard-convert writes it)'.format(path, class_file), param='classes')
        classes = read_class_names(class_file)
    dataset = LstDetection(path, root=data_root) if kind == 'lst' else RecordFileDetection(path)
    return dataset, list(classes)


def open_negatives(spec):
    """Images without objects from a folder or from a ``.lst`` whose records have no boxes.

    ``spec`` is a folder, or a ``.lst`` whose image paths are relative to its own folder. A
    missing one raises ``InputNotFoundError``, a record with boxes ``InputError`` (no ``param``:
    only the caller knows which setting ``spec`` came from).
    """
    from gluoncv_hard.data import LstDetection, NegativeDetection
    if os.path.isdir(spec):
        return NegativeDetection(spec)
    if spec.endswith('.lst') and os.path.isfile(spec):
        dataset = LstDetection(spec, root=os.path.dirname(spec))
        for i in range(len(dataset)):
            if dataset.num_boxes(i):
                raise InputError('{}: record {} ({}) has boxes; negatives must have none'.format(
                    spec, i, dataset.image_id(i)))
        return dataset
    raise InputNotFoundError('negatives {!r}: expected a folder of images or a .lst file'
                             .format(spec))
