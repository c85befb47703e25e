"""The inputs of a sampling picture: one image with its boxes, its class names, the network.

An image comes from a VOC-layout folder (:func:`load_voc_item`), a detection ``.lst``
(:func:`load_lst_item`) or an image file with boxes written as text (:func:`load_image_item`,
:func:`parse_boxes`). The network is built by :func:`gluoncv_hard.get_model` or, for a checkpoint
of the train script, rebuilt by :func:`gluoncv_hard.engine.networks.load_trained_network`
(:func:`load_network`).

Every mistake in these inputs raises :class:`gluoncv_hard.errors.InputError` naming the parameter
(``param``) and what is wrong.
"""
import glob
import os
from typing import NamedTuple

import cv2
import mxnet as mx
import numpy as np

from gluoncv_hard import schema
from gluoncv_hard.data.classes import classes_path_for, read_class_names
from gluoncv_hard.data.readers import LstDetection, VOCDetection
from gluoncv_hard.engine.checkpoint import read_sidecar
from gluoncv_hard.engine.networks import load_trained_network
from gluoncv_hard.errors import InputError
from gluoncv_hard.modeling.zoo import TINY_NETWORKS, get_model

__all__ = ['BOX_FIELDS', 'PREFERRED_VOC_SETS', 'InputItem', 'parse_boxes', 'parse_classes',
           'load_voc_item', 'load_lst_item', 'load_image_item', 'network_classes',
           'load_network']

# Fields of one box in the text form of :func:`parse_boxes`; the last (hard) is optional.
BOX_FIELDS = ('xmin', 'ymin', 'xmax', 'ymax', 'cls', 'hard')
# Image sets tried, in this order, to find an image id when no set is given.
PREFERRED_VOC_SETS = ('trainval', 'train', 'val', 'test')


class InputItem(NamedTuple):
    """One image to draw: RGB ``image`` (NumPy or NDArray), ``label (M, 6)`` in its pixels, the
    ``class_names`` (None when unknown) and a ``description`` for messages."""
    image: object
    label: np.ndarray
    class_names: object
    description: str


def _box_where(number, token, start):
    return 'box {} ({!r}, characters {}-{}) '.format(number, token, start + 1, start + len(token))


def parse_boxes(text, image_size=None):
    """Parse boxes written as ``"xmin,ymin,xmax,ymax,cls[,hard];..."`` in pixels.

    Parameters
    ----------
    text : str
        Boxes separated by ``;`` (a trailing ``;`` and spaces are allowed; an empty string means
        no boxes). ``cls`` is a class id (integer >= 0), ``hard`` 0 or 1 (default 0).
    image_size : (width, height), optional
        When given, every box must lie within the image.

    Returns
    -------
    (M, 6) float32 label

    Raises
    ------
    InputError (param ``boxes``)
        Naming the box (1-based), its characters in ``text``, the field and what is wrong.
    """
    rows = []
    tokens = text.split(';')
    position = 0
    for number, token in enumerate(tokens, 1):
        start, position = position, position + len(token) + 1
        where = _box_where(number, token, start)
        if not token.strip():
            if number == len(tokens):
                continue  # trailing ';' or empty spec
            raise InputError(where + 'is empty; separate boxes by a single ";"', param='boxes')
        fields = token.split(',')
        if len(fields) not in (len(BOX_FIELDS) - 1, len(BOX_FIELDS)):
            raise InputError(where + 'has {} fields; expected {} (hard optional)'.format(
                len(fields), ','.join(BOX_FIELDS)), param='boxes')
        values = []
        for name, field in zip(BOX_FIELDS, fields):
            try:
                value = float(field)
            except ValueError:
                raise InputError(where + 'field {!r} = {!r} is not a number'.format(
                    name, field.strip()), param='boxes') from None
            if not np.isfinite(value):
                raise InputError(where + 'field {!r} is {}'.format(name, field.strip()),
                                 param='boxes')
            values.append(value)
        values += [0.0] * (len(BOX_FIELDS) - len(values))
        xmin, ymin, xmax, ymax, cls, hard = values
        problem = None
        if cls < 0 or cls != int(cls):
            problem = 'cls {:g} must be a class id (an integer >= 0)'.format(cls)
        elif hard not in (0, 1):
            problem = 'hard {:g} must be 0 or 1'.format(hard)
        elif xmax <= xmin or ymax <= ymin:
            problem = 'is empty or inverted: xmax must exceed xmin and ymax must exceed ymin'
        elif image_size is not None and (xmin < 0 or ymin < 0 or xmax > image_size[0]
                                         or ymax > image_size[1]):
            problem = 'extends past the {}x{} image'.format(*image_size)
        if problem:
            raise InputError(where + problem, param='boxes')
        rows.append(values)
    return np.array(rows, np.float32).reshape(-1, schema.LABEL_WIDTH)


def parse_classes(classes):
    """Class names from a file (one name per line) or a comma-separated list; None for None.

    Raises
    ------
    InputError (param ``classes``)
        If ``classes`` is neither a file nor a list with at least one name.
    """
    if classes is None:
        return None
    if os.path.isfile(classes):
        return read_class_names(classes)
    names = [name.strip() for name in classes.split(',') if name.strip()]
    if not names:
        raise InputError('{!r} is neither a file nor a comma-separated list of names'.format(
            classes), param='classes')
    return names


def _voc_sets_with(voc_root, image_id):
    """The image sets of a VOC folder that list ``image_id``, preferred ones first."""
    main = os.path.join(voc_root, 'ImageSets', 'Main')
    files = sorted(glob.glob(os.path.join(main, '*.txt')))
    if not files:
        raise InputError('{}: no image sets (ImageSets/Main/*.txt); is it a VOC-layout folder?'
                         .format(voc_root), param='voc_root')
    names = [os.path.splitext(os.path.basename(f))[0] for f in files]
    order = [n for n in PREFERRED_VOC_SETS if n in names] + \
        [n for n in names if n not in PREFERRED_VOC_SETS]
    found = []
    for name in order:
        with open(os.path.join(main, name + '.txt'), encoding='utf-8') as f:
            # Per-class sets have "id  1" lines; the first word is the id.
            if any(line.split()[:1] == [image_id] for line in f):
                found.append(name)
    if not found:
        raise InputError('{}: image id {!r} is not listed in any image set ({}); check the id '
                         '(file name without extension)'.format(voc_root, image_id,
                                                                ', '.join(order)),
                         param='image_id')
    return found


def load_voc_item(voc_root, image_id, sets=None, class_names=None):
    """One image of a VOC-layout folder, read with :class:`gluoncv_hard.data.VOCDetection`.

    ``sets`` (a list) defaults to the first image set listing the id (``trainval``, ``train``,
    ``val``, ``test`` first). Class names default to those the reader infers from those sets.
    """
    sets = list(sets) if sets else _voc_sets_with(voc_root, image_id)[:1]
    dataset = VOCDetection(voc_root, splits=sets, classes=class_names)
    ids = [dataset.image_id(i) for i in range(len(dataset))]
    if image_id not in ids:
        raise InputError('{}: image id {!r} is not in image set(s) {}'.format(
            voc_root, image_id, ', '.join(sets)), param='image_id')
    image, label = dataset[ids.index(image_id)]
    return InputItem(image, label, list(dataset.classes),
                     '{} image {} (set {})'.format(voc_root, image_id, ','.join(sets)))


def load_lst_item(lst, index, root='', class_names=None):
    """Image ``index`` (0-based position in the file, blank lines skipped) of a ``.lst`` whose
    image paths are relative to ``root``.

    Class names default to the converter's ``LST.classes.txt`` beside the file, if present.
    """
    dataset = LstDetection(lst, root=root)
    if not 0 <= index < len(dataset):
        raise InputError('index {} is out of range: {} has {} images (0-{})'.format(
            index, lst, len(dataset), len(dataset) - 1), param='index')
    if class_names is None and os.path.isfile(classes_path_for(lst)):
        class_names = read_class_names(classes_path_for(lst))
    image, label = dataset[index]
    return InputItem(image, label, class_names,
                     '{} image {} ({})'.format(lst, index, dataset.image_path(index)))


def load_image_item(image_path, boxes, class_names=None):
    """An image file with its ``boxes`` as text (see :func:`parse_boxes`)."""
    image = cv2.imread(image_path, cv2.IMREAD_COLOR)
    if image is None:
        raise InputError('{}: cannot read it (missing, or not an image file OpenCV can decode)'
                         .format(image_path), param='image_path')
    image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    label = parse_boxes(boxes, image_size=(image.shape[1], image.shape[0]))
    return InputItem(image, label, class_names, image_path)


def network_classes(item):
    """The classes to build the network with: the item's names, else ``class0 .. classK`` for
    the largest class id K of its boxes (``['class0']`` without boxes)."""
    if item.class_names:
        return list(item.class_names)
    top = int(item.label[:, schema.CLASS_ID].max()) + 1 if len(item.label) else 1
    return ['class{}'.format(i) for i in range(top)]


def load_network(name='tiny', classes=('object',), params=None):
    """The :class:`gluoncv_hard.HardFasterRCNN` whose samplers are drawn, on the CPU.

    Parameters
    ----------
    name : str
        A name for :func:`gluoncv_hard.get_model`; GluonCV networks are built without
        downloading anything (``pretrained_base=False``).
    classes : sequence of str
        Class names; with ``params`` they must be those the network was trained with.
    params : str, optional
        A ``.params`` file saved with ``net.save_parameters``. Without it only the anchor
        generator is initialized: enough for the RPN stage, not for the RCNN stage. A checkpoint
        of the train script (with its ``.json`` sidecar) rebuilds its own network and classes.

    Raises
    ------
    InputError (param ``params``)
        If the parameters do not fit the network ``name`` with these classes.
    """
    if params is not None and read_sidecar(params):
        return load_trained_network(params, [mx.cpu()])[0]
    # GluonCV's fixed-class builders (e.g. ``*_voc``) refuse a class list.
    wants_classes = name in TINY_NETWORKS or name.endswith('_custom')
    net = get_model(name, classes=list(classes) if wants_classes else None,
                    pretrained_base=False)
    if params is None:
        net.rpn.anchor_generator.collect_params().initialize()
        return net
    try:
        net.load_parameters(params, ctx=mx.cpu())
    except (AssertionError, mx.base.MXNetError, ValueError) as error:
        raise InputError(
            '{}: cannot load these parameters into network {!r} with {} classes ({}): check '
            'the network name and the class list the model was trained with. Loader said: {}'
            .format(params, name, len(classes), ', '.join(classes), error),
            param='params') from error
    return net
