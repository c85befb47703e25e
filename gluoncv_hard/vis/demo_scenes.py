"""Draw the boxes of a demo scene on its image, for looking at the data.

Labelled faces are drawn solid green (normal) or dashed red (difficult, with the hard reason
written next to them); unlabelled non-face patches, when asked for, thin azure. Colours and
drawing come from :mod:`gluoncv_hard.visualize`, like every other picture of the project.

Command line: ``gluoncv-hard-demo-preview --data demo_data --out /tmp/preview.png train_00000``.
"""
import os

import cv2

from gluoncv_hard.errors import InputNotFoundError
from gluoncv_hard.vis import draw as visualize
from gluoncv_hard.vis.draw import contact_sheet

__all__ = ['draw_scene', 'contact_sheet']

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
        raise InputNotFoundError('{}: cannot read {}'.format(record['id'], record['image']),
                                 param='data_dir')
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
