"""Draw the boxes of a demo scene on its image, for looking at the data.

Labelled faces are drawn solid green (normal) or dashed red (difficult, with the hard reason
written next to them); unlabelled non-face patches, when asked for, thin azure. Colours and
drawing come from :mod:`gluoncv_hard.visualize`, like every other picture of the project.

Usage::

    python -m gluoncv_hard.demo.preview --data demo_data --out /tmp/preview.png \\
        train_00000 val_00003
"""
import argparse
import os
import sys

import cv2

from .. import visualize
from ..visualize import contact_sheet, save_png
from .generate import load_meta

__all__ = ['draw_scene', 'contact_sheet', 'main']

# RGB, from the shared palette.
NORMAL_COLOUR = visualize.NORMAL_GT
HARD_COLOUR = visualize.HARD_GT
DISTRACTOR_COLOUR = visualize.UNLABELLED


def draw_scene(data_dir, record, show_distractors=False):
    """The scene's image with its boxes drawn.

    Parameters
    ----------
    data_dir : str
        A finished demo data set.
    record : dict
        One entry of ``load_meta(data_dir)['images']``.
    show_distractors : bool

    Returns
    -------
    numpy.ndarray, uint8, shape (H, W, 3), RGB
    """
    image = cv2.imread(os.path.join(data_dir, record['image']), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError('{}: cannot read {}'.format(record['id'], record['image']))
    image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    if show_distractors and record['distractors']:
        image = visualize.draw_boxes(image, [p['box'] for p in record['distractors']],
                                     DISTRACTOR_COLOUR)
    for difficult, colour in ((False, NORMAL_COLOUR), (True, HARD_COLOUR)):
        faces = [face for face in record['faces'] if face['difficult'] == difficult]
        if faces:
            image = visualize.draw_boxes(
                image, [face['box'] for face in faces], colour, dashed=difficult,
                texts=[face['style'] for face in faces] if difficult else None)
    return image


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
    sheet = contact_sheet([draw_scene(args.data, records[i], args.distractors) for i in args.ids],
                          columns=args.columns)
    save_png(args.out, sheet)
    print('wrote {}'.format(args.out))
    return 0


if __name__ == '__main__':
    sys.exit(main())
