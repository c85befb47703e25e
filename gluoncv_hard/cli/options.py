"""Command-line option groups shared by several tools, defined once."""

from gluoncv_hard.core.matching import HARD_OVERLAPS, HARD_POLICIES, HARD_PRECEDENCES, HardConfig

__all__ = ['add_hard_arguments', 'hard_options', 'hard_config']


_DEFAULT = HardConfig()


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


def hard_options(args):
    """The hard flags as keyword arguments of the transform, samplers and ``get_model``."""
    return {'hard_policy': args.hard_policy, 'hard_overlap': args.hard_overlap,
            'hard_thresh': args.hard_thresh, 'hard_precedence': args.hard_precedence,
            'hard_cover_thresh': args.hard_cover_thresh}


def hard_config(args, policy=None):
    """A validated :class:`gluoncv_hard.HardConfig` from the flags (``policy`` overrides)."""
    return HardConfig(policy or args.hard_policy, args.hard_overlap, args.hard_thresh,
                      args.hard_precedence, args.hard_cover_thresh)
