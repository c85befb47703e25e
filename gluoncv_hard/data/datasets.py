"""Open the training, validation and negative-image data sets named on a command line."""
import os

from gluoncv_hard.data.classes import read_class_names

__all__ = ['DATASET_KINDS', 'open_dataset', 'open_negatives', 'default_classes_file']

DATASET_KINDS = ('voc', 'coco', 'lst', 'rec')


def default_classes_file(path):
    """``FILE.classes.txt`` beside ``FILE.lst``/``FILE.rec``, as ``gluoncv-hard-convert`` writes."""
    return os.path.splitext(path)[0] + '.classes.txt'


def open_dataset(kind, path, root='', classes=None):
    """Open one data set; returns ``(dataset, class_names)``.

    Parameters
    ----------
    kind : {'voc', 'coco', 'lst', 'rec'}
    path : str
        ``voc``: comma-separated image sets of the VOC folder ``root`` (e.g. ``trainval``);
        ``coco``: the annotation JSON (images under ``root``); ``lst``: the ``.lst`` file
        (image paths relative to ``root``); ``rec``: the ``.rec`` file.
    root : str
    classes : sequence of str, optional
        Class names in id order. Default: inferred (voc), declared categories (coco), or read
        from ``FILE.classes.txt`` beside a ``.lst``/``.rec``.
    """
    from gluoncv_hard.data import COCODetection, LstDetection, RecordFileDetection, VOCDetection
    if kind == 'voc':
        if not os.path.isdir(root):
            raise FileNotFoundError('VOC folder {!r} does not exist (--data-root)'.format(root))
        dataset = VOCDetection(root, splits=[s for s in path.split(',') if s], classes=classes)
        return dataset, list(dataset.classes)
    if kind == 'coco':
        dataset = COCODetection(path, root, classes=classes)
        return dataset, list(dataset.classes)
    if kind not in ('lst', 'rec'):
        raise ValueError('unknown dataset kind {!r}; choose one of: {}'.format(
            kind, ', '.join(DATASET_KINDS)))
    if not os.path.isfile(path):
        raise FileNotFoundError('{} file {} does not exist'.format(kind, path))
    if classes is None:
        class_file = default_classes_file(path)
        if not os.path.isfile(class_file):
            raise FileNotFoundError(
                'no class list for {}: pass --classes FILE (one name per line) or put {} beside '
                'it (gluoncv-hard-convert writes it)'.format(path, class_file))
        classes = read_class_names(class_file)
    dataset = LstDetection(path, root=root) if kind == 'lst' else RecordFileDetection(path)
    return dataset, list(classes)


def open_negatives(spec):
    """Images without objects from a folder or from a ``.lst`` whose records have no boxes."""
    from gluoncv_hard.data import LstDetection, NegativeDetection
    if os.path.isdir(spec):
        return NegativeDetection(spec)
    if spec.endswith('.lst') and os.path.isfile(spec):
        dataset = LstDetection(spec, root=os.path.dirname(spec))
        for i in range(len(dataset)):
            if dataset.num_boxes(i):
                raise ValueError('{}: record {} ({}) has boxes; negatives must have none'.format(
                    spec, i, dataset.image_id(i)))
        return dataset
    raise FileNotFoundError('negatives {!r}: expected a folder of images or a .lst file'.format(
        spec))
