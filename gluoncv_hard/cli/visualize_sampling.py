"""Command line ``gluoncv-hard-visualize-sampling``: draw what the samplers train on for one image.

See :mod:`gluoncv_hard.sampling_view` for what is drawn and ``docs/visual_checks.md`` for a guide.
Exit status: 0 on success, 1 when the data set itself has errors, 2 for bad arguments or input
(unknown image id, index out of range, malformed ``--boxes``, unreadable image or parameters).
"""
import argparse
import glob
import os
import sys
from typing import NamedTuple

import cv2
import numpy as np

from gluoncv_hard import schema
from gluoncv_hard.cli.options import add_hard_arguments, hard_config
from gluoncv_hard.data.classes import classes_path_for, read_class_names
from gluoncv_hard.data.problems import DataError
from gluoncv_hard.data.readers import LstDetection, VOCDetection
from gluoncv_hard.vis import draw as visualize
from gluoncv_hard.vis.sampling import (
    COMPARED_POLICIES,
    DEFAULT_MAX_NEGATIVES,
    anchor_view,
    build_network,
    render_comparison,
    render_view,
    roi_view,
    summary_lines,
)

__all__ = ['main', 'build_parser', 'parse_boxes', 'InputItem', 'load_voc_item', 'load_lst_item',
           'load_image_item', 'BOX_FIELDS']

EXIT_DATA_ERROR = 1
# Fields of one --boxes entry; the last (hard) is optional.
BOX_FIELDS = ('xmin', 'ymin', 'xmax', 'ymax', 'cls', 'hard')
# Image sets tried, in this order, to find an --image-id when --voc-sets is not given.
PREFERRED_VOC_SETS = ('trainval', 'train', 'val', 'test')

DESCRIPTION = """\
Draw, for one image, the RPN anchors the training transform samples as positive / negative /
ignored-near-a-hard-box under a hard policy (and, with --params, the RCNN RoIs sampled from the
network's proposals), on the image resized to the network input size. Writes one PNG with a
legend and prints the counts.
"""

EPILOG = """\
examples:
  %(prog)s --voc-root demo_data --image-id train_00017 --compare --out compare.png
  %(prog)s --lst train.lst --index 3 --hard-policy ignore --hard-overlap iou --out a.png
  %(prog)s --image photo.jpg --boxes "10,20,80,90,0,0;100,40,130,70,0,1" --out b.png
  %(prog)s --voc-root demo_data --image-id train_00017 --params model.params --out c.png

colours: GT solid green, hard GT dashed red, positive yellow, negative blue, ignored near a
hard box violet. Negatives are subsampled for readability (--max-negatives), except those over
a hard box, which are all drawn.
"""


class InputError(ValueError):
    """Bad input named on the command line (exit status 2)."""


class InputItem(NamedTuple):
    """One image to draw: RGB ``image`` (NumPy or NDArray), ``label (M, 6)`` in its pixels, the
    ``class_names`` (None when unknown) and a ``description`` for messages."""
    image: object
    label: np.ndarray
    class_names: object
    description: str


def parse_boxes(text, image_size=None):
    """Parse ``--boxes``: ``"xmin,ymin,xmax,ymax,cls[,hard];..."`` in pixels.

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
    InputError
        Naming the box (1-based), its characters in ``text``, the field and what is wrong.
    """
    rows = []
    tokens = text.split(';')
    position = 0
    for number, token in enumerate(tokens, 1):
        start, position = position, position + len(token) + 1
        if not token.strip():
            if number == len(tokens):
                continue  # trailing ';' or empty spec
            raise InputError(_box_where(number, token, start) + 'is empty; separate boxes by a '
                             'single ";"')
        fields = token.split(',')
        if len(fields) not in (len(BOX_FIELDS) - 1, len(BOX_FIELDS)):
            raise InputError(_box_where(number, token, start) + 'has {} fields; expected {} '
                             '(hard optional)'.format(len(fields), ','.join(BOX_FIELDS)))
        values = []
        for name, field in zip(BOX_FIELDS, fields):
            try:
                value = float(field)
            except ValueError:
                raise InputError(_box_where(number, token, start) + 'field {!r} = {!r} is not a '
                                 'number'.format(name, field.strip())) from None
            if not np.isfinite(value):
                raise InputError(_box_where(number, token, start) + 'field {!r} is {}'.format(
                    name, field.strip()))
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
            raise InputError(_box_where(number, token, start) + problem)
        rows.append(values)
    return np.array(rows, np.float32).reshape(-1, schema.LABEL_WIDTH)


def _box_where(number, token, start):
    return '--boxes: box {} ({!r}, characters {}-{}) '.format(number, token, start + 1,
                                                             start + len(token))


def _class_names(option):
    """``--classes``: a file (one name per line) or a comma-separated list; None if not given."""
    if option is None:
        return None
    if os.path.isfile(option):
        return read_class_names(option)
    names = [name.strip() for name in option.split(',') if name.strip()]
    if not names:
        raise InputError('--classes {!r} is neither a file nor a comma-separated list of names'
                         .format(option))
    return names


def _voc_sets_with(root, image_id):
    """The image sets of a VOC folder that list ``image_id``, preferred ones first."""
    main = os.path.join(root, 'ImageSets', 'Main')
    files = sorted(glob.glob(os.path.join(main, '*.txt')))
    if not files:
        raise InputError('{}: no image sets (ImageSets/Main/*.txt); is --voc-root a VOC-layout '
                         'folder?'.format(root))
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
                         '(file name without extension)'.format(root, image_id, ', '.join(order)))
    return found


def load_voc_item(root, image_id, sets=None, class_names=None):
    """One image of a VOC-layout folder, read with :class:`gluoncv_hard.data.VOCDetection`.

    ``sets`` (a list) defaults to the first image set listing the id (``trainval``, ``train``,
    ``val``, ``test`` first). Class names default to those the reader infers from those sets.
    """
    sets = list(sets) if sets else _voc_sets_with(root, image_id)[:1]
    dataset = VOCDetection(root, splits=sets, classes=class_names)
    ids = [dataset.image_id(i) for i in range(len(dataset))]
    if image_id not in ids:
        raise InputError('{}: image id {!r} is not in image set(s) {}'.format(
            root, image_id, ', '.join(sets)))
    image, label = dataset[ids.index(image_id)]
    return InputItem(image, label, list(dataset.classes),
                     '{} image {} (set {})'.format(root, image_id, ','.join(sets)))


def load_lst_item(lst, index, root='', class_names=None):
    """Image ``index`` (0-based position in the file, blank lines skipped) of a ``.lst``.

    Class names default to the converter's ``LST.classes.txt`` beside the file, if present.
    """
    dataset = LstDetection(lst, root=root)
    if not 0 <= index < len(dataset):
        raise InputError('--index {} is out of range: {} has {} images (0-{})'.format(
            index, lst, len(dataset), len(dataset) - 1))
    if class_names is None and os.path.isfile(classes_path_for(lst)):
        class_names = read_class_names(classes_path_for(lst))
    image, label = dataset[index]
    return InputItem(image, label, class_names,
                     '{} image {} ({})'.format(lst, index, dataset.image_path(index)))


def load_image_item(path, boxes, class_names=None):
    """An image file with ``--boxes`` (see :func:`parse_boxes`)."""
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise InputError('--image {}: cannot read it (missing, or not an image file OpenCV '
                         'can decode)'.format(path))
    image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    label = parse_boxes(boxes, image_size=(image.shape[1], image.shape[0]))
    return InputItem(image, label, class_names, path)


def _max_negatives(text):
    if text == 'all':
        return None
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError('must be >= 0 or "all", got {}'.format(text))
    return value


def build_parser():
    """The ``gluoncv-hard-visualize-sampling`` argument parser."""
    parser = argparse.ArgumentParser(
        prog='gluoncv-hard-visualize-sampling', description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_argument_group('input (one of --voc-root, --lst, --image)')
    kind = source.add_mutually_exclusive_group(required=True)
    kind.add_argument('--voc-root', metavar='DIR',
                      help='VOC-layout folder (Annotations/, JPEGImages/, ImageSets/Main/)')
    kind.add_argument('--lst', metavar='FILE', help='a detection .lst (gluoncv-hard-convert)')
    kind.add_argument('--image', metavar='FILE', help='an image file, boxes from --boxes')
    source.add_argument('--image-id', help='--voc-root: the image id, e.g. 000005')
    source.add_argument('--voc-sets', help='--voc-root: comma-separated image sets to read '
                                           '(default: the first set listing --image-id)')
    source.add_argument('--index', type=int, help='--lst: 0-based position of the image')
    source.add_argument('--root', default='', help='--lst: folder the image paths are '
                                                   'relative to (default: current folder)')
    source.add_argument('--boxes', help='--image: "xmin,ymin,xmax,ymax,cls[,hard];..." in '
                                        'pixels; "" for an image without boxes')
    source.add_argument('--classes', help='class names: a file (one per line) or a '
                                          'comma-separated list; must match --params. Default: '
                                          'VOC names found, LST.classes.txt, or class ids')
    net = parser.add_argument_group('network')
    net.add_argument('--network', default='tiny',
                     help='name for gluoncv_hard.get_model (default: %(default)s)')
    net.add_argument('--params', metavar='FILE',
                     help='trained parameters (net.save_parameters); enables the RCNN stage')
    hard = parser.add_argument_group('hard policy (see gluoncv_hard.HardConfig)')
    add_hard_arguments(hard)
    hard.add_argument('--compare', action='store_true',
                      help='draw {} side by side'.format(' / '.join(COMPARED_POLICIES)))
    out = parser.add_argument_group('output')
    out.add_argument('--out', required=True, metavar='FILE.png', help='PNG file to write')
    out.add_argument('--max-negatives', type=_max_negatives, default=DEFAULT_MAX_NEGATIVES,
                     metavar='N', help='negatives drawn at random per panel, besides those over '
                                       'hard boxes; "all" for all (default: %(default)s)')
    out.add_argument('--seed', type=int, default=0,
                     help='seed of the subsampling and of the drawn negatives (default: 0)')
    return parser


def _check_arguments(parser, args):
    needs = {'voc_root': ('image_id',), 'lst': ('index',), 'image': ('boxes',)}
    given = next(k for k in needs if getattr(args, k) is not None)
    for option in needs[given]:
        if getattr(args, option) is None:
            parser.error('--{} needs --{}'.format(given.replace('_', '-'),
                                                   option.replace('_', '-')))
    unused = {'image_id': 'voc_root', 'voc_sets': 'voc_root', 'index': 'lst', 'boxes': 'image'}
    for option, owner in unused.items():
        if getattr(args, option) is not None and owner != given:
            parser.error('--{} only goes with --{}'.format(option.replace('_', '-'),
                                                           owner.replace('_', '-')))
    if not args.out.lower().endswith('.png'):
        parser.error('--out {}: the output is a PNG; name it *.png'.format(args.out))
    folder = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(folder):
        parser.error('--out {}: folder {} does not exist'.format(args.out, folder))
    if args.params is not None and not os.path.isfile(args.params):
        parser.error('--params {}: no such file'.format(args.params))


def _load(args):
    class_names = _class_names(args.classes)
    if args.voc_root is not None:
        sets = args.voc_sets.split(',') if args.voc_sets else None
        return load_voc_item(args.voc_root, args.image_id, sets, class_names)
    if args.lst is not None:
        return load_lst_item(args.lst, args.index, args.root, class_names)
    return load_image_item(args.image, args.boxes, class_names)


def _network_classes(item):
    if item.class_names:
        return list(item.class_names)
    top = int(item.label[:, schema.CLASS_ID].max()) + 1 if len(item.label) else 1
    return ['class{}'.format(i) for i in range(top)]


def main(argv=None):
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_arguments(parser, args)
    try:
        configs = [hard_config(args, policy)
                   for policy in (COMPARED_POLICIES if args.compare else (args.hard_policy,))]
        item = _load(args)
        classes = _network_classes(item)
        net = build_network(args.network, classes, args.params)
    except DataError as error:
        print(str(error), file=sys.stderr)
        return EXIT_DATA_ERROR
    except (OSError, ValueError) as error:
        parser.error(str(error))

    panels, lines = [], []
    for config in configs:
        view = anchor_view(item.image, item.label, net, config, seed=args.seed)
        rois = roi_view(net, view, seed=args.seed) if args.params else None
        panels.append(render_view(view, rois, item.class_names, args.max_negatives, args.seed))
        lines += summary_lines(view, rois)
    picture = panels[0] if len(panels) == 1 else render_comparison(panels)
    visualize.save_png(args.out, picture)

    height, width = view.image.shape[:2]
    print('{}: {} boxes ({} hard), network {} input {}x{}'.format(
        item.description, len(view.label), int((view.label[:, schema.HARD] > 0.5).sum()),
        args.network, width, height))
    print('\n'.join(lines))
    if not args.params:
        print('RCNN stage skipped: pass --params (trained weights) to draw the sampled RoIs.')
    print('wrote {} ({}x{})'.format(args.out, picture.shape[1], picture.shape[0]))
    return 0


if __name__ == '__main__':
    sys.exit(main())
