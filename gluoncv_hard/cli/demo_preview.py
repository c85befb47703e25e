"""``gluoncv-hard-demo-preview``: draw the boxes of demo scenes into one PNG."""
import argparse
import sys

from gluoncv_hard.demo import preview
from gluoncv_hard.demo.generate import load_meta
from gluoncv_hard.vis.draw import contact_sheet, save_png

__all__ = ['main']


def main(argv=None):
    """Command line: draw the given scenes into one PNG. Returns the exit status."""
    parser = argparse.ArgumentParser(description='Draw demo boxes (solid green normal, dashed red '
                                                 'hard) on scenes and save them as one PNG.')
    parser.add_argument('ids', nargs='+', help='image ids, e.g. train_00000 negpool_00003')
    parser.add_argument('--data', default='demo_data', help='demo data set (default: %(default)s)')
    parser.add_argument('--out', required=True, help='PNG file to write')
    parser.add_argument('--columns', type=int, default=2, help='images per row (default: 2)')
    parser.add_argument('--distractors', action='store_true',
                        help='also outline the unlabelled non-face patches (blue)')
    args = parser.parse_args(argv)
    try:
        records = {r['id']: r for r in load_meta(args.data)['images']}
    except FileNotFoundError as error:
        parser.error(str(error))
    missing = [i for i in args.ids if i not in records]
    if missing:
        parser.error('unknown image ids: {}'.format(', '.join(missing)))
    sheet = contact_sheet([preview.draw_scene(args.data, records[i], args.distractors) for i in args.ids],
                          columns=args.columns)
    save_png(args.out, sheet)
    print('wrote {}'.format(args.out))
    return 0



if __name__ == '__main__':
    sys.exit(main())
