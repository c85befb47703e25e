"""Command line ``gluoncv-hard-plot RUN_PREFIX``: draw the picture of a training run.

Reads ``RUN_PREFIX_metrics.jsonl`` (what ``gluoncv-hard-train --save-prefix RUN_PREFIX``
writes, one line per epoch) and writes ``RUN_PREFIX_metrics.png`` beside it
(:mod:`gluoncv_hard.engine.plot`): the training losses, the validation metrics and the learning
rate per epoch. Training redraws it after every validation; this command is for runs from
before that, or for another output path.

Exit status (``cli.status``): 0 on success, 2 for a missing or unreadable metrics file, 1 for
an internal error.
"""
import argparse
import sys

from gluoncv_hard.cli.status import add_debug_argument, exit_status
from gluoncv_hard.engine.plot import plot_run

__all__ = ['build_parser', 'run', 'main']


def build_parser():
    """The ``gluoncv-hard-plot`` argument parser."""
    parser = argparse.ArgumentParser(
        prog='gluoncv-hard-plot',
        description='Draw RUN_PREFIX_metrics.png (losses, validation metrics and learning rate '
                    'per epoch) from RUN_PREFIX_metrics.jsonl.')
    parser.add_argument('run', metavar='RUN_PREFIX',
                        help="the training run's --save-prefix (or its _metrics.jsonl file)")
    parser.add_argument('--out', default=None, metavar='PNG',
                        help='where to write the picture (default: RUN_PREFIX_metrics.png)')
    add_debug_argument(parser)
    return parser


def run(argv=None):
    """Draw the picture; returns its path."""
    args = build_parser().parse_args(argv)
    return plot_run(args.run, args.out)


def main(argv=None):
    """Entry point of ``gluoncv-hard-plot``; returns the exit status."""
    return exit_status(run, argv, lambda path: print('wrote {}'.format(path)),
                       flags={'run': 'RUN_PREFIX'})


if __name__ == '__main__':
    sys.exit(main())
