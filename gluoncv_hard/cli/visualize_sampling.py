"""Command line ``gluoncv-hard-visualize-sampling``: draw what the samplers train on for one image.

The loading is :mod:`gluoncv_hard.vis.sampling_inputs`, the views and pictures
:mod:`gluoncv_hard.vis.sampling_views` and :mod:`gluoncv_hard.vis.sampling_panels`; see
``docs/visual_checks.md`` for a guide. Exit status (:mod:`gluoncv_hard.cli.status`): 0 on
success, 2 for bad arguments or input (unknown image id, index out of range, malformed
``--boxes``, unreadable image or parameters, errors in the data set itself).
"""
import argparse
import os
import sys

from gluoncv_hard import schema
from gluoncv_hard.cli.options import add_hard_arguments, hard_config
from gluoncv_hard.cli.status import add_debug_argument, exit_status
from gluoncv_hard.vis import draw as visualize
from gluoncv_hard.vis.sampling_inputs import (
    load_image_item,
    load_lst_item,
    load_network,
    load_voc_item,
    network_classes,
    parse_classes,
)
from gluoncv_hard.vis.sampling_panels import (
    COMPARED_POLICIES,
    DEFAULT_MAX_NEGATIVES,
    draw_sampling,
)

__all__ = ['main', 'run', 'build_parser', 'FLAGS']

# Library parameters whose flag is not ``--`` plus their name (see cli.status.exit_status).
FLAGS = {'image_path': '--image', 'sets': '--voc-sets', 'class_names': '--classes'}

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
    add_debug_argument(parser)
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


def _configs(parser, args):
    """The hard configs to draw; bad values are argument errors, as for the other flags."""
    try:
        return [hard_config(args, policy)
                for policy in (COMPARED_POLICIES if args.compare else (args.hard_policy,))]
    except ValueError as error:
        parser.error(str(error))


def _load(args):
    class_names = parse_classes(args.classes)
    if args.voc_root is not None:
        sets = args.voc_sets.split(',') if args.voc_sets else None
        return load_voc_item(args.voc_root, args.image_id, sets, class_names)
    if args.lst is not None:
        return load_lst_item(args.lst, args.index, args.root, class_names)
    return load_image_item(args.image, args.boxes, class_names)


def run(argv=None):
    """Draw and print; returns the :class:`gluoncv_hard.vis.sampling_panels.SamplingPicture`.

    Errors propagate (:func:`main` maps them to the exit status)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    _check_arguments(parser, args)
    configs = _configs(parser, args)
    item = _load(args)
    net = load_network(args.network, network_classes(item), args.params)
    drawn = draw_sampling(item.image, item.label, net, configs, item.class_names,
                          rcnn=bool(args.params), max_negatives=args.max_negatives,
                          seed=args.seed)
    visualize.save_png(args.out, drawn.picture)

    view = drawn.views[-1]
    height, width = view.image.shape[:2]
    print('{}: {} boxes ({} hard), network {} input {}x{}'.format(
        item.description, len(view.label), int(schema.is_hard(view.label[:, schema.HARD]).sum()),
        args.network, width, height))
    print('\n'.join(drawn.lines))
    if not args.params:
        print('RCNN stage skipped: pass --params (trained weights) to draw the sampled RoIs.')
    print('wrote {} ({}x{})'.format(args.out, drawn.picture.shape[1], drawn.picture.shape[0]))
    return drawn


def main(argv=None):
    """Run the command line; returns the exit status."""
    return exit_status(run, argv, flags=FLAGS)


if __name__ == '__main__':
    sys.exit(main())
