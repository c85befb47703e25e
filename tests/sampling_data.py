"""One image with a normal and a hard box, written as a JPEG, a VOC folder and a .lst: the
inputs of the sampling views and of ``gluoncv-hard-visualize-sampling``."""
import os

import cv2
import numpy as np

from gluoncv_hard import schema
from gluoncv_hard.data.records import format_lst_line, record_fields

WIDTH, HEIGHT = 320, 240
# tiny resizes the short side to 320: x4/3.
NET_WIDTH, NET_HEIGHT = 427, 320
LABEL = np.array([[20, 30, 100, 110, 0, 0],      # normal
                  [180, 60, 260, 150, 0, 1]],    # hard
                 np.float32)
BOXES_SPEC = '20,30,100,110,0,0;180,60,260,150,0,1'


def sample_image():
    """The ``(HEIGHT, WIDTH, 3)`` uint8 RGB test image (seeded noise)."""
    return np.random.default_rng(0).integers(0, 255, (HEIGHT, WIDTH, 3)).astype(np.uint8)


def write_inputs(root, image):
    """``image`` with ``LABEL`` in ``root``: ``JPEGImages/img1.jpg`` with a VOC annotation in
    image set ``val``, and ``data.lst`` (record 0: the label; record 1: the image without boxes).
    Returns ``dict(root=..., jpeg=..., lst=...)``."""
    root = str(root)
    for folder in ('Annotations', 'JPEGImages', 'ImageSets/Main'):
        os.makedirs(os.path.join(root, folder))
    jpeg = os.path.join(root, 'JPEGImages', 'img1.jpg')
    assert cv2.imwrite(jpeg, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    objects = ''.join(
        '<object><name>face</name><difficult>{}</difficult><bndbox><xmin>{}</xmin><ymin>{}</ymin>'
        '<xmax>{}</xmax><ymax>{}</ymax></bndbox></object>'.format(
            int(row[5]), *(int(v) + 1 for v in row[:4])) for row in LABEL)
    with open(os.path.join(root, 'Annotations', 'img1.xml'), 'w') as f:
        f.write('<annotation><filename>img1.jpg</filename><size><width>{}</width><height>{}'
                '</height><depth>3</depth></size>{}</annotation>'.format(WIDTH, HEIGHT, objects))
    with open(os.path.join(root, 'ImageSets', 'Main', 'val.txt'), 'w') as f:
        f.write('img1\n')
    lst = os.path.join(root, 'data.lst')
    with open(lst, 'w') as f:
        f.write(format_lst_line(0, 'JPEGImages/img1.jpg', record_fields(WIDTH, HEIGHT, LABEL)))
        f.write(format_lst_line(1, 'JPEGImages/img1.jpg',
                                record_fields(WIDTH, HEIGHT, schema.empty_label())))
    return dict(root=root, jpeg=jpeg, lst=lst)


def save_tiny_params(path, classes=('face',)):
    """Initialized (untrained) ``tiny`` parameters saved with ``net.save_parameters``."""
    import mxnet as mx

    import gluoncv_hard
    net = gluoncv_hard.get_model('tiny', classes=list(classes))
    net.initialize()
    net(mx.nd.zeros((1, 3, 320, 320)))
    net.save_parameters(str(path))
    return str(path)
