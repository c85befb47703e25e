"""``gluoncv-hard-pretrain-tiny``: pretrain the tiny network's backbone offline on the demo's
patch task (background / face / non-face windows from the train identities), for
``gluoncv-hard-train --network tiny --pretrained-base``. See docs/pretrained_backbone.md."""
import argparse
import sys

from gluoncv_hard.cli.status import add_debug_argument, exit_status
from gluoncv_hard.demo import sources
from gluoncv_hard.engine import pretrain
from gluoncv_hard.modeling import tiny_backbone

__all__ = ['build_parser', 'run', 'main']

EPILOG = """\
the file the package ships (what --pretrained-base loads), in a source checkout:
  {}
another file: set {}=FILE for gluoncv-hard-train --network tiny --pretrained-base
""".format(tiny_backbone.BUILD_COMMAND, tiny_backbone.BACKBONE_ENV)


def build_parser():
    parser = argparse.ArgumentParser(
        prog='gluoncv-hard-pretrain-tiny',
        description='Pretrain the tiny detector\'s backbone on background / face / non-face\n'
                    'windows rendered from the demo sources (train identities only; the mining\n'
                    'scenario\'s backgrounds left out) and save its features parameters with a\n'
                    'JSON sidecar (settings, held-out accuracy, SHA-256).',
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--out', required=True, metavar='FILE.params',
                        help='output file; the sidecar is FILE.json (both replaced if present)')
    parser.add_argument('--iterations', type=int, default=pretrain.DEFAULT_ITERATIONS,
                        help='training iterations (default: %(default)s)')
    parser.add_argument('--batch-size', type=int, default=pretrain.DEFAULT_BATCH_SIZE,
                        help='windows per iteration (default: %(default)s)')
    parser.add_argument('--seed', type=int, default=0,
                        help='seed of the windows and the initialization (default: %(default)s)')
    parser.add_argument('--lr', type=float, default=pretrain.DEFAULT_LR,
                        help='peak learning rate, after the warm-up (default: %(default)s)')
    parser.add_argument('--warmup', type=int, default=None,
                        help='warm-up iterations (default: min({}, iterations / 5))'.format(
                            pretrain.WARMUP_ITERATIONS))
    parser.add_argument('--wd', type=float, default=pretrain.DEFAULT_WD,
                        help='weight decay (default: %(default)s)')
    parser.add_argument('--momentum', type=float, default=pretrain.DEFAULT_MOMENTUM,
                        help='SGD momentum (default: %(default)s)')
    parser.add_argument('-j', '--num-workers', type=int, default=2,
                        help='processes rendering windows (default: %(default)s)')
    parser.add_argument('--heldout-windows', type=int, default=pretrain.DEFAULT_HELDOUT_WINDOWS,
                        help='windows of the held-out accuracy (default: %(default)s)')
    parser.add_argument('--heldout-backgrounds', nargs='*',
                        default=list(sources.MINING_HELDOUT_BACKGROUNDS), metavar='NAME',
                        help='backgrounds no window is cut from (default: the mining '
                             'scenario\'s, {}; none: give the flag alone)'.format(
                                 ' '.join(sources.MINING_HELDOUT_BACKGROUNDS)))
    parser.add_argument('--log-interval', type=int, default=100,
                        help='report loss and accuracy every N iterations (default: '
                             '%(default)s; 0: never)')
    add_debug_argument(parser)
    return parser


def run(argv=None):
    """Pretrain as the command line says; returns the sidecar."""
    args = build_parser().parse_args(argv)
    return pretrain.pretrain_tiny_backbone(
        args.out, iterations=args.iterations, batch_size=args.batch_size, seed=args.seed,
        lr=args.lr, wd=args.wd, momentum=args.momentum, warmup=args.warmup,
        num_workers=args.num_workers, heldout_windows=args.heldout_windows,
        heldout_backgrounds=args.heldout_backgrounds, log_interval=args.log_interval,
        progress=lambda text: print(text, flush=True))


def main(argv=None):
    """Console entry point ``gluoncv-hard-pretrain-tiny``. Returns the exit status."""
    return exit_status(run, argv)


if __name__ == '__main__':
    sys.exit(main())
