"""Command line ``gluoncv-hard-convert`` (argparse only; the work is ``data.convert``).

Exit status (``cli.status``): 0 on success, 2 for wrong arguments or when the input data has
errors (all listed, nothing written), 1 for an internal error.
"""
import argparse
import sys

from gluoncv_hard.cli.status import add_debug_argument, exit_status
from gluoncv_hard.data.classes import read_class_names
from gluoncv_hard.data.coco import coco_source
from gluoncv_hard.data.convert import check_outputs, convert_to_lst, format_summary
from gluoncv_hard.data.csv_source import CSV_COLUMNS, csv_source
from gluoncv_hard.data.negatives import negatives_source
from gluoncv_hard.data.problems import DEFAULT_DISPLAY_LIMIT, ProblemLog
from gluoncv_hard.data.voc import voc_source

__all__ = ['build_convert_parser', 'run', 'convert_main']

CONVERT_DESCRIPTION = """\
Convert VOC XML folders, COCO JSON or CSV exports (and folders of negative images) into
GluonCV's detection .lst (and .rec/.idx), with a hard flag per box. Every input problem is
listed at the end; if there is any, nothing is written and the exit status is 2.
"""

CONVERT_EPILOG = """\
examples:
  %(prog)s --format voc --root VOCdevkit/VOC2007 --sets trainval --out voc07.lst --rec
  %(prog)s --format coco --ann instances_train.json --images train2017/ --out train.lst
  %(prog)s --format csv --csv boxes.csv --images photos/ --out train.lst --negatives empty/
  %(prog)s --negatives backgrounds/ --classes train.classes.txt --out bg.lst

outputs: OUT.lst, OUT.classes.txt (the class list used, one name per line, line = class id),
OUT.manifest.json (sizes and SHA-256 of the set: readers refuse a mixed set), and with --rec
OUT.rec + OUT.idx. An output that would replace an input or another output is refused before
any work. Image paths in the .lst are relative to --image-root (default:
the deepest folder holding every image), printed at the end: LstDetection(OUT.lst, root=ROOT).
"""


# Library parameters whose flag is not ``--`` + their name.
FLAGS = {'out_path': '--out', 'image_root': '--image-root'}


def _positive_float(text):
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError('must be > 0, got {}'.format(text))
    return value


def build_convert_parser():
    """The ``gluoncv-hard-convert`` argument parser."""
    parser = argparse.ArgumentParser(
        prog='gluoncv-hard-convert', description=CONVERT_DESCRIPTION, epilog=CONVERT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_argument_group('input')
    source.add_argument('--format', choices=('voc', 'coco', 'csv'),
                        help='annotation format (omit to convert only --negatives)')
    source.add_argument('--root', '--data-root', dest='root',
                        help='voc: VOC-layout folder (Annotations/, JPEGImages/, '
                             'ImageSets/Main/), e.g. VOCdevkit/VOC2007')
    source.add_argument('--sets', help='voc: comma-separated image sets, e.g. train,val '
                                       '(default: every Annotations/*.xml)')
    source.add_argument('--ann', help='coco: the annotation JSON file')
    source.add_argument('--csv', help='csv: the CSV file, header {}[,hard], pixel coordinates'
                        .format(','.join(CSV_COLUMNS)))
    source.add_argument('--images', help='coco/csv: folder the image file names are relative to')
    source.add_argument('--negatives', action='append', default=[], metavar='DIR',
                        help='folder of images without objects; each becomes a record with zero '
                             'boxes (repeatable; alone or with --format)')
    labels = parser.add_argument_group('labels')
    labels.add_argument('--classes', metavar='FILE',
                        help='class names, one per line (line = class id); boxes of other classes '
                             'are errors. Default: sorted names found (COCO: its categories)')
    labels.add_argument('--hard-if-smaller', type=_positive_float, metavar='PX',
                        help='also mark a box hard when its shorter side is below PX pixels')
    labels.add_argument('--hard-if-truncated', action='store_true',
                        help='voc: also mark boxes with <truncated>1 hard')
    labels.add_argument('--clip', action='store_true',
                        help='clip boxes that extend past the image (warning) and drop boxes '
                             'entirely outside it; without it both are errors')
    output = parser.add_argument_group('output')
    output.add_argument('--out', required=True, metavar='FILE.lst', help='the .lst to write')
    output.add_argument('--image-root', metavar='DIR',
                        help='image paths in the .lst are relative to this folder (default: the '
                             'deepest folder holding every image)')
    output.add_argument('--rec', action='store_true', help='also pack FILE.rec and FILE.idx')
    output.add_argument('--reencode', action='store_true',
                        help='with --rec: decode and re-encode images as JPEG (quality 95) '
                             'instead of copying the file bytes')
    output.add_argument('--max-errors', type=int, default=DEFAULT_DISPLAY_LIMIT, metavar='N',
                        help='show at most N errors and N warnings (all are counted; default '
                             '%(default)s)')
    output.add_argument('--no-progress', action='store_true', help='no progress bars')
    add_debug_argument(parser)
    return parser


def _check_convert_args(parser, args):
    needed = {'voc': ('root',), 'coco': ('ann', 'images'), 'csv': ('csv', 'images')}
    if args.format is None and not args.negatives:
        parser.error('give --format voc|coco|csv and/or --negatives DIR')
    for name in needed.get(args.format, ()):
        if getattr(args, name) is None:
            parser.error('--format {} needs --{}'.format(args.format, name))
    if args.sets and args.format != 'voc':
        parser.error('--sets applies to --format voc only')
    if args.hard_if_truncated and args.format != 'voc':
        parser.error('--hard-if-truncated needs --format voc (only VOC has <truncated>)')
    if args.reencode and not args.rec:
        parser.error('--reencode applies to --rec only')


def _sources(args, log, progress):
    sources = []
    if args.format == 'voc':
        sets = [s.strip() for s in args.sets.split(',') if s.strip()] if args.sets else None
        sources.append(voc_source(args.root, sets, log, progress=progress))
    elif args.format == 'coco':
        sources.append(coco_source(args.ann, args.images, log))
    elif args.format == 'csv':
        sources.append(csv_source(args.csv, args.images, log))
    sources += [negatives_source(folder, log) for folder in args.negatives]
    return sources


def _print_warnings(log):
    text = log.format_warnings()
    if text:
        print(text, file=sys.stderr)


def run(argv=None):
    """Convert as the command line says; returns the ``ConversionResult``.

    Raises
    ------
    DataError
        When the input has errors (after printing the warnings); nothing is written then.
    """
    parser = build_convert_parser()
    args = parser.parse_args(argv)
    _check_convert_args(parser, args)
    class_names = None
    if args.classes:
        try:
            class_names = read_class_names(args.classes)
        except (OSError, ValueError) as e:
            parser.error('--classes: {}'.format(e))
    # Outputs that would replace an input (or each other) are refused before any parsing.
    check_outputs(args.out, args.rec, [args.ann, args.csv], class_file=args.classes)
    log = ProblemLog(display_limit=args.max_errors)
    progress = False if args.no_progress else None
    try:
        return convert_to_lst(
            _sources(args, log, progress), args.out, class_names=class_names,
            image_root=args.image_root, clip=args.clip, hard_if_smaller=args.hard_if_smaller,
            hard_if_truncated=args.hard_if_truncated, rec=args.rec, reencode=args.reencode,
            log=log, progress=progress, class_file=args.classes)
    finally:
        # Before the errors or the summary, so that those are what stays on screen.
        _print_warnings(log)


def convert_main(argv=None):
    """Entry point of ``gluoncv-hard-convert``; returns the exit status."""
    return exit_status(run, argv, lambda result: print(format_summary(result)), flags=FLAGS)


if __name__ == '__main__':
    sys.exit(convert_main())
