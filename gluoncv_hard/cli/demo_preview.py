"""``gluoncv-hard-demo-preview``: draw the boxes of demo scenes into one PNG."""
import argparse
import sys

from gluoncv_hard.cli.status import add_debug_argument, exit_status
from gluoncv_hard.demo.generate import load_meta
from gluoncv_hard.vis import demo_scenes
from gluoncv_hard.vis.draw import contact_sheet, save_png

__all__ = ['build_parser', 'run', 'main']

# Library parameters (of load_meta, draw_scene) whose flag is not ``--`` + their name.
FLAGS = {'out_dir': '--data', 'data_dir': '--data'}


def build_parser():
    parser = argparse.ArgumentParser(
        prog='gluoncv-hard-demo-preview',
        description='Draw demo boxes (solid green normal, dashed red hard) on scenes and save '
                    'them as one PNG.')
    parser.add_argument('ids', nargs='+', help='image ids, e.g. train_00000 negpool_00003')
    parser.add_argument('--data', '--data-root', dest='data', default='demo_data',
                        help='demo data set (default: %(default)s)')
    parser.add_argument('--out', required=True, help='PNG file to write')
    parser.add_argument('--columns', type=int, default=2, help='images per row (default: 2)')
    parser.add_argument('--distractors', action='store_true',
                        help='also outline the unlabelled non-face patches (blue)')
    add_debug_argument(parser)
    return parser


def run(argv=None):
    """Draw the scenes the command line names into one PNG; returns its path."""
    parser = build_parser()
    args = parser.parse_args(argv)
    records = {r['id']: r for r in load_meta(args.data)['images']}
    missing = [i for i in args.ids if i not in records]
    if missing:
        parser.error('unknown image ids: {}'.format(', '.join(missing)))
    scenes = [demo_scenes.draw_scene(args.data, records[i], args.distractors) for i in args.ids]
    save_png(args.out, contact_sheet(scenes, columns=args.columns))
    return args.out


def main(argv=None):
    """Entry point of ``gluoncv-hard-demo-preview``; returns the exit status."""
    return exit_status(run, argv, lambda path: print('wrote {}'.format(path)), FLAGS)


if __name__ == '__main__':
    sys.exit(main())
