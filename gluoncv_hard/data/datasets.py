"""Open the training, validation and negative-image data sets named on a command line, and
check them together before training (:func:`open_training_data`)."""
import os
from typing import NamedTuple, Optional

from gluoncv_hard import schema
from gluoncv_hard.data.classes import classes_path_for, read_class_names
from gluoncv_hard.data.manifest import check_manifest
from gluoncv_hard.errors import InputError, InputNotFoundError

__all__ = ['DATASET_KINDS', 'open_dataset', 'open_negatives', 'default_classes_file',
           'TrainingData', 'open_training_data', 'dataset_counts', 'format_counts',
           'check_decodable']

DATASET_KINDS = ('voc', 'coco', 'lst', 'rec')

# ``FILE.classes.txt`` beside ``FILE.lst``/``FILE.rec``, where gluoncv-hard-convert writes it.
default_classes_file = classes_path_for


def open_dataset(kind, path, data_root='', classes=None, image_check='header'):
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
    image_check : {'header', 'decode'}
        What the reader checks of every image when it is created
        (``gluoncv_hard.data.readers.IMAGE_CHECKS``): headers (fast), or a full decode.

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
                               classes=classes, image_check=image_check)
        return dataset, list(dataset.classes)
    if kind == 'coco':
        dataset = COCODetection(path, data_root, classes=classes, image_check=image_check)
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
        check_manifest(path, ('classes',), {'classes': class_file})
        classes = read_class_names(class_file)
    if kind == 'lst':
        dataset = LstDetection(path, root=data_root, classes=classes, root_name='data_root',
                               image_check=image_check)
    else:
        dataset = RecordFileDetection(path, classes=classes, image_check=image_check)
    return dataset, list(classes)


def open_negatives(spec, image_check='header'):
    """Images without objects from a folder or from a ``.lst`` whose records have no boxes.

    ``spec`` is a folder, or a ``.lst`` whose image paths are relative to its own folder. A
    missing one raises ``InputNotFoundError``, a record with boxes ``InputError`` (no ``param``:
    only the caller knows which setting ``spec`` came from).
    """
    from gluoncv_hard.data import LstDetection, NegativeDetection
    if os.path.isdir(spec):
        return NegativeDetection(spec, image_check=image_check)
    if spec.endswith('.lst') and os.path.isfile(spec):
        # Mined negatives name their pool images relative to the .lst's folder, often with ..
        options = dict(root=os.path.dirname(spec), allow_outside_root=True,
                       root_name='the folder of the .lst')
        # Records with boxes first: they are the likelier mistake (a positive list given).
        dataset = LstDetection(spec, image_check='none', **options)
        for i in range(len(dataset)):
            if dataset.num_boxes(i):
                raise InputError('{}: record {} ({}) has boxes; negatives must have none'.format(
                    spec, i, dataset.image_id(i)))
        try:
            return LstDetection(spec, image_check=image_check, **options)
        except InputError as e:
            e.param = None  # which setting named the .lst only the caller knows
            raise
    raise InputNotFoundError('negatives {!r}: expected a folder of images or a .lst file'
                             .format(spec))


class TrainingData(NamedTuple):
    """What :func:`open_training_data` opened and found.

    Attributes
    ----------
    train_set : detection data set
        The training images, then the negative training images (``neg_train``).
    val_set : detection data set or None
        Class ids are the training set's (renumbered by name where the files differ).
    neg_val : detection data set or None
    classes : list of str
    num_neg_train : int
        Negative training images (the last ones of ``train_set``).
    stats : dict
        ``{'train': counts, 'val': counts or None}`` with the counts of :func:`dataset_counts`.
    notes : list of str
        What was decided (e.g. a class list mapped by name), for the log.
    warnings : list of str
        What may be a mistake but does not stop training (e.g. no hard box at all).
    """
    train_set: object
    val_set: Optional[object]
    neg_val: Optional[object]
    classes: list
    num_neg_train: int
    stats: dict
    notes: list
    warnings: list


def dataset_counts(dataset):
    """Images, images without boxes, boxes, hard boxes and hard fraction of a data set.

    Reads the labels only (``dataset.annotation(i)``), never the images.

    Returns
    -------
    dict
        ``images``, ``negatives``, ``boxes``, ``hard_boxes``, ``hard_fraction`` (0 without
        boxes).
    """
    images = negatives = boxes = hard = 0
    for idx in range(len(dataset)):
        label = dataset.annotation(idx)
        images += 1
        negatives += len(label) == 0
        boxes += len(label)
        hard += int(schema.is_hard(label[:, schema.HARD]).sum()) if len(label) else 0
    return {'images': images, 'negatives': negatives, 'boxes': boxes, 'hard_boxes': hard,
            'hard_fraction': round(hard / boxes, 6) if boxes else 0.0}


def check_decodable(dataset, indices=None):
    """Decode images ``indices`` (all by default) of a data set once; raise ``DataError``
    listing every one that fails (the readers name its file and line or record).

    For tools that read every image anyway (the audit): a bad one then stops them before the
    work starts instead of in the middle of it.
    """
    from gluoncv_hard.data.problems import ProblemLog
    log = ProblemLog()
    for idx in range(len(dataset)) if indices is None else indices:
        try:
            dataset[int(idx)]
        except InputError as e:
            log.error('image {} ({})'.format(int(idx), dataset.image_id(int(idx))), str(e))
    log.raise_if_errors('nothing was done; fix or remove these images')


def format_counts(stats):
    """One line of text for ``TrainingData.stats``."""
    parts = []
    for name in ('train', 'val'):
        counts = stats.get(name)
        if counts:
            parts.append('{} {} images ({} without boxes), {} boxes, {} hard ({:.1%})'.format(
                name, counts['images'], counts['negatives'], counts['boxes'],
                counts['hard_boxes'], counts['hard_fraction']))
    return '; '.join(parts)


def _val_class_file(kind, path):
    if kind not in ('lst', 'rec'):
        return None
    class_file = default_classes_file(path)
    return class_file if os.path.isfile(class_file) else None


def _open_val(data, classes, notes, image_check):
    """The validation set with the training set's class ids (module docstring)."""
    from gluoncv_hard.data.readers import ClassMappedDetection
    class_file = _val_class_file(data.dataset, data.val)
    if class_file is None:
        if data.dataset in ('lst', 'rec'):
            notes.append('{} has no class list beside it ({}): its class ids are read as the '
                         'training set\'s'.format(data.val, default_classes_file(data.val)))
        # voc/coco: boxes are matched to the training classes by name when they are read.
        return open_dataset(data.dataset, data.val, data.data_root, classes, image_check)[0]
    check_manifest(data.val, ('classes',), {'classes': class_file})
    own = read_class_names(class_file)
    if own == list(classes):
        return open_dataset(data.dataset, data.val, data.data_root, own, image_check)[0]
    unknown = [name for name in own if name not in classes]
    if unknown:
        raise InputError(
            'the validation set {} has classes that the training set lacks: {} ({} lists {}; '
            'the training classes are {}); convert the validation set with the training class '
            'list (gluoncv-hard-convert --classes TRAIN.classes.txt)'.format(
                data.val, ', '.join(repr(n) for n in unknown[:10]), class_file, own,
                list(classes)), param='val')
    dataset = open_dataset(data.dataset, data.val, data.data_root, own, image_check)[0]
    mapping = [list(classes).index(name) for name in own]
    notes.append('the validation class list {} differs from the training one; its classes are '
                 'mapped by name: {}'.format(class_file, ', '.join(
                     '{} {}->{}'.format(name, i, j) for i, (name, j) in enumerate(zip(own,
                                                                                      mapping)))))
    return ClassMappedDetection(dataset, mapping, classes)


def open_training_data(data, hard_policy='ignore', checkpoint_classes=None,
                       image_check='header'):
    """Open and check the data of a training run, before anything is trained.

    Parameters
    ----------
    data : gluoncv_hard.engine.config.DataConfig
        Or anything with its attributes (``dataset``, ``data_root``, ``train``, ``val``,
        ``classes``, ``neg_train``, ``neg_val``).
    hard_policy : str
        The run's ``HardConfig.policy``: with any policy but ``'positive'`` a training set without
        a single hard box gets a warning (the hard options then change nothing).
    checkpoint_classes : sequence of str, optional
        The class list of the checkpoint training resumes from: with as many classes as the
        training set it must equal its list, name for name (renamed or reordered classes would
        resume silently otherwise). Another count is the checkpoint loader's error.
    image_check : {'header', 'decode'}
        What is checked of every image before training: its header (missing, not an image, cut
        short, another size than its record states), or a full decode (slow: also finds pixel
        data damaged after a good header, which otherwise stops training with an
        ``InputError`` naming the image when it is read).

    Returns
    -------
    TrainingData

    Raises
    ------
    InputError
        For an empty training set (``param='train'``), a validation set with classes the
        training set lacks (``param='val'``), a checkpoint with other class names
        (``param='resume'``), and every error of :func:`open_dataset`/:func:`open_negatives`
        (``DataError`` with every bad record and image, found before training).
    """
    from gluoncv_hard.data.readers import ConcatDetection
    notes, warnings = [], []
    classes = read_class_names(data.classes) if data.classes else None
    train_set, classes = open_dataset(data.dataset, data.train, data.data_root, classes,
                                      image_check)
    if len(train_set) == 0:
        raise InputError('the training set {!r} has no images'.format(data.train),
                         param='train')
    # Another count is refused with the checkpoint's own message (it reads the class layer).
    if checkpoint_classes is not None and len(checkpoint_classes) == len(classes) and \
            list(checkpoint_classes) != list(classes):
        raise InputError(
            'the checkpoint was trained on classes {} but the training data has {}; resuming '
            'needs the same class names in the same order (give the class list it was trained '
            'with, or fine-tune from it with init instead)'.format(list(checkpoint_classes),
                                                                   list(classes)),
            param='resume')
    val_set = _open_val(data, classes, notes, image_check) if data.val else None
    negatives = [open_negatives(spec, image_check) for spec in data.neg_train]
    if negatives:
        train_set = ConcatDetection([train_set] + negatives)
    neg_val = ConcatDetection([open_negatives(spec, image_check) for spec in data.neg_val]) \
        if data.neg_val else None
    stats = {'train': dataset_counts(train_set),
             'val': dataset_counts(val_set) if val_set is not None else None}
    train = stats['train']
    if train['boxes'] and not train['hard_boxes'] and hard_policy != 'positive':
        warnings.append(
            'no box of the training set is hard (0 of {}): hard_policy {!r} changes nothing and '
            'this trains as stock Faster R-CNN. If some boxes should be hard, mark them (VOC '
            '<difficult>, COCO iscrowd/ignore, a CSV hard column) and convert again: a .lst '
            'whose boxes have 5 fields (B = 5) has no hard flag'.format(train['boxes'],
                                                                         hard_policy))
    return TrainingData(train_set, val_set, neg_val, list(classes),
                        sum(len(n) for n in negatives), stats, notes, warnings)
