"""Command line ``gluoncv-hard-lst-stats``: counts of a detection ``.lst`` or ``.rec``.

Exit status (``cli.status``): 0 on success, 2 for wrong arguments or a file that is missing or
breaks the record format, 1 for an internal error.
"""
import argparse
import json
import os
import sys

from gluoncv_hard.cli.status import add_debug_argument, exit_status
from gluoncv_hard.data.classes import classes_path_for, read_class_names
from gluoncv_hard.data.stats import format_stats, stats_of_file

__all__ = ['build_parser', 'run', 'main']


def build_parser():
    """The ``gluoncv-hard-lst-stats`` argument parser."""
    parser = argparse.ArgumentParser(
        prog='gluoncv-hard-lst-stats',
        description='Count images, negatives (images without boxes), boxes and hard boxes per '
                    'class, and box sizes of a detection .lst or .rec (images are not read).')
    parser.add_argument('path', help='a .lst file, or a .rec file with its .idx beside it')
    parser.add_argument('--classes', metavar='FILE',
                        help='class names, one per line (default: PATH.classes.txt beside the '
                             'file if it exists, else class ids)')
    parser.add_argument('--json', action='store_true', help='print JSON instead of tables')
    add_debug_argument(parser)
    return parser


def run(argv=None):
    """Count the file the command line names, print the counts and return them (a dict)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    classes_path = args.classes or classes_path_for(args.path)
    class_names = None
    if args.classes or os.path.isfile(classes_path):
        try:
            class_names = read_class_names(classes_path)
        except (OSError, ValueError) as e:
            parser.error('--classes: {}'.format(e))
    stats = stats_of_file(args.path, class_names)
    print(json.dumps(stats, indent=2) if args.json else format_stats(stats))
    return stats


def main(argv=None):
    """Entry point of ``gluoncv-hard-lst-stats``; returns the exit status."""
    return exit_status(run, argv)


if __name__ == '__main__':
    sys.exit(main())
