"""Command-line option groups shared by several tools, defined once.

The same flag means the same thing in every command (``--data-root``, ``--network``,
``--classes``, ``--num-workers``/``-j``, ``--gpus``, ``--hard-*``); a flag's ``dest`` is the
library parameter it sets (:class:`gluoncv_hard.engine.config.TrainConfig` field names).
Defaults that differ on purpose between commands (train's ``--network resnet50_v1b``, the tools'
``tiny``) are parameters of the group functions.
"""

from gluoncv_hard.core.config import HARD_OVERLAPS, HARD_POLICIES, HARD_PRECEDENCES, HardConfig
from gluoncv_hard.data.datasets import DATASET_KINDS
from gluoncv_hard.modeling.zoo import NETWORKS

__all__ = ['add_data_arguments', 'add_network_arguments', 'add_device_arguments',
           'add_hard_arguments', 'hard_config']


_DEFAULT = HardConfig()

_DATA_HELP = {
    'dataset': 'voc: VOC folder (--data-root) and image sets; coco: annotation JSON and image '
               'folder; lst/rec: files from gluoncv-hard-convert',
    'data_root': 'voc: the VOC folder; coco: the image folder; lst: the folder image paths are '
                 'relative to',
    'train': "training set: voc: image sets (default 'train'); coco: annotation JSON; lst/rec: "
             'file',
    'val': "validation data, like --train (voc default 'val'; '' for none)",
    'classes': 'class names file, one per line (default: inferred, or FILE.classes.txt beside '
               'a .lst/.rec)',
    'neg_train': 'images without objects mixed into training (folder or .lst of zero-box '
                 'records, e.g. from gluoncv-hard-mine); repeatable',
    'neg_val': 'images without objects for the false-detection metric; repeatable',
}


def add_data_arguments(group, train=True, val=True, classes=True, neg_train=False,
                       neg_val=False, helps=None):
    """Add ``--dataset --data-root`` and, as asked, ``--train --val --classes --neg-train
    --neg-val`` to ``group``.

    Defaults: ``--dataset voc``, ``''`` for paths, ``--val`` None (the data set's default, see
    :class:`gluoncv_hard.engine.config.DataConfig`), ``[]`` for the repeatable ones. ``helps``
    replaces the help of some flags, by ``dest``, where a command uses them its own way.
    """
    helps = dict(_DATA_HELP, **(helps or {}))
    group.add_argument('--dataset', default='voc', choices=DATASET_KINDS, help=helps['dataset'])
    group.add_argument('--data-root', default='', help=helps['data_root'])
    if train:
        group.add_argument('--train', default='', help=helps['train'])
    if val:
        group.add_argument('--val', default=None, help=helps['val'])
    if classes:
        group.add_argument('--classes', default='', help=helps['classes'])
    if neg_train:
        group.add_argument('--neg-train', action='append', default=[], metavar='DIR_OR_LST',
                           help=helps['neg_train'])
    if neg_val:
        group.add_argument('--neg-val', action='append', default=[], metavar='DIR_OR_LST',
                           help=helps['neg_val'])


def add_network_arguments(group, default, use_fpn=True, classes=False, network_help=None):
    """Add ``--network`` (choices :data:`gluoncv_hard.modeling.zoo.NETWORKS`, default
    ``default``; None: from the checkpoint's sidecar), optionally ``--use-fpn`` and ``--classes``
    (a class file for a ``.params`` without sidecar) to ``group``."""
    if network_help is None:
        network_help = ('backbone; tiny and tiny_fpn are small CPU networks trained from scratch'
                if default else 'for a .params without sidecar (e.g. from stock GluonCV)')
    group.add_argument('--network', default=default, choices=NETWORKS,
                       help=network_help + (' (default: %(default)s)' if default else ''))
    if use_fpn:
        group.add_argument('--use-fpn', action='store_true',
                           help='feature pyramid network variant' if default else
                           'with --network, the FPN variant')
    if classes:
        group.add_argument('--classes', default='',
                           help='class names file, for a .params without sidecar')


def add_device_arguments(group, num_workers=2, gpus=True):
    """Add ``--num-workers``/``-j`` (default ``num_workers``) and, unless ``gpus`` is False (a
    CPU-only command), ``--gpus`` to ``group``."""
    if gpus:
        group.add_argument('--gpus', default='', help="GPU ids such as '0,1'; '' for the CPU")
    group.add_argument('--num-workers', '-j', type=int, default=num_workers,
                       help='data-loader worker processes (default: %(default)s)')


def add_hard_arguments(group):
    """Add ``--hard-policy``, ``--hard-overlap``, ``--hard-thresh``, ``--hard-precedence`` and
    ``--hard-cover-thresh`` (defaults from :class:`gluoncv_hard.HardConfig`) to ``group``."""
    group.add_argument('--hard-policy', default=_DEFAULT.policy, choices=HARD_POLICIES,
                       help='ignore: anchors/RoIs near hard boxes are neither positive nor '
                            'negative; positive: stock GluonCV; drop: hard boxes deleted '
                            '(default: %(default)s)')
    group.add_argument('--hard-overlap', default=_DEFAULT.overlap, choices=HARD_OVERLAPS,
                       help='overlap with a hard box: iof = intersection / candidate area; '
                            'iou_or_iof = dlib\'s rule, which also catches hard boxes smaller '
                            'than the anchors (default: %(default)s)')
    group.add_argument('--hard-thresh', type=float, default=_DEFAULT.thresh,
                       help='a candidate is near a hard box when the overlap exceeds this '
                            '(default: %(default)s)')
    group.add_argument('--hard-precedence', default=_DEFAULT.precedence,
                       choices=HARD_PRECEDENCES,
                       help='for candidates positive for a normal box and near a hard one '
                            '(default: %(default)s)')
    group.add_argument('--hard-cover-thresh', type=float, default=_DEFAULT.cover_thresh,
                       help='iou_or_iof: either box covered by the other by more than this '
                            '(default: %(default)s)')


def hard_config(args, policy=None):
    """A validated :class:`gluoncv_hard.HardConfig` from the flags (``policy`` overrides)."""
    return HardConfig(policy or args.hard_policy, args.hard_overlap, args.hard_thresh,
                      args.hard_precedence, args.hard_cover_thresh)
