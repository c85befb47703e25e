"""Draw the boxes of a demo scene on its image, for looking at the data.

Labelled faces are drawn solid green (normal) or red (difficult, with the hard reason written
next to them); unlabelled non-face patches, when asked for, thin blue.

Usage::

    python -m gluoncv_hard.demo.preview --data demo_data --out /tmp/preview.png \\
        train_00000 val_00003
"""
import argparse
import os
import sys

import cv2
import numpy as np

from .generate import load_meta
from .staging import write_bytes_atomic

__all__ = ['draw_scene', 'contact_sheet', 'main']

NORMAL_COLOUR = (0, 200, 0)      # BGR
HARD_COLOUR = (0, 0, 255)
DISTRACTOR_COLOUR = (255, 128, 0)


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
    numpy.ndarray, uint8, shape (H, W, 3), BGR
    """
    image = cv2.imread(os.path.join(data_dir, record['image']), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError('{}: cannot read {}'.format(record['id'], record['image']))
    if show_distractors:
        for patch in record['distractors']:
            xmin, ymin, xmax, ymax = patch['box']
            cv2.rectangle(image, (xmin, ymin), (xmax, ymax), DISTRACTOR_COLOUR, 1)
    for face in record['faces']:
        xmin, ymin, xmax, ymax = face['box']
        colour = HARD_COLOUR if face['difficult'] else NORMAL_COLOUR
        cv2.rectangle(image, (xmin, ymin), (xmax, ymax), colour, 1)
        if face['difficult']:
            cv2.putText(image, face['style'], (xmin, max(10, ymin - 3)),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.35, colour, 1, cv2.LINE_AA)
    return image


def contact_sheet(images, columns=2, pad=4):
    """Tile BGR images of different sizes into one, row by row, on a white canvas."""
    rows = [images[i:i + columns] for i in range(0, len(images), columns)]
    cell_w = max(im.shape[1] for im in images) + pad
    cell_h = max(im.shape[0] for im in images) + pad
    sheet = np.full((cell_h * len(rows), cell_w * columns, 3), 255, np.uint8)
    for r, row in enumerate(rows):
        for c, im in enumerate(row):
            sheet[r * cell_h:r * cell_h + im.shape[0], c * cell_w:c * cell_w + im.shape[1]] = im
    return sheet


def main(argv=None):
    """Command line: draw the given scenes into one PNG. Returns the exit status."""
    parser = argparse.ArgumentParser(description='Draw demo boxes (green normal, red hard) on '
                                                 'scenes and save them as one PNG.')
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
    ok, png = cv2.imencode('.png', sheet)
    write_bytes_atomic(args.out, png.tobytes())
    print('wrote {}'.format(args.out))
    return 0


if __name__ == '__main__':
    sys.exit(main())
