"""A detector whose output the test decides, through the colour of the image it is shown.

``ColourCodedDetector`` has the inference interface of a GluonCV Faster R-CNN (``short``,
``max_size``, ``net(x) -> (ids, scores, boxes)`` with shapes ``(1, K, 1)``, ``(1, K, 1)``,
``(1, K, 4)`` and id -1 for padding rows), computed with real MXNet operators from the
normalized input tensor. For an image of one uniform colour ``(R, G, B)``:

- the top score is ``R / 255`` and the k-th detection scores ``R / 255 - SCORE_STEP * k``;
- the number of detections is ``round(G / G_PER_DETECTION)`` (at most ``NUM_SLOTS``);
- detection k is the box ``slot_box(k)`` on the network input.

So a test writes PNG images of chosen colours and knows exactly what "the network" sees there,
while the real prediction path (data loader, val transform, clipping, rescaling) runs unchanged.
"""
import cv2
import mxnet as mx
import numpy as np

NUM_SLOTS = 5
SCORE_STEP = 0.01
G_PER_DETECTION = 50
# GluonCV's val transform normalizes with these (ImageNet mean / std).
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


def slot_box(k):
    """Box of detection ``k`` on the network input: ``(xmin, ymin, xmax, ymax)``."""
    return (4.0 + 2 * k, 4.0, 24.0 + 2 * k, 20.0)


def top_score(red):
    return red / 255.0


def num_detections(green):
    return min(NUM_SLOTS, int(round(green / G_PER_DETECTION)))


class ColourCodedDetector(mx.gluon.Block):
    """See the module docstring. ``classes`` is ``['face']`` like the demo networks."""

    def __init__(self, short=64, max_size=64):
        super().__init__()
        self.short = short
        self.max_size = max_size
        self.classes = ['face']

    def forward(self, x):
        mean = mx.nd.array(_MEAN, ctx=x.context).reshape((1, 3))
        std = mx.nd.array(_STD, ctx=x.context).reshape((1, 3))
        rgb = mx.nd.broadcast_add(mx.nd.broadcast_mul(x.mean(axis=(2, 3)), std), mean)
        red, green = rgb[:, 0:1], rgb[:, 1:2]
        slots = mx.nd.arange(NUM_SLOTS, ctx=x.context).reshape((1, NUM_SLOTS))
        count = mx.nd.round(green * 255 / G_PER_DETECTION)
        valid = mx.nd.broadcast_lesser(slots, count)
        ids = (valid - 1).expand_dims(2)  # 0 (the class) where valid, -1 (padding) elsewhere
        scores = mx.nd.broadcast_sub(red, slots * SCORE_STEP).expand_dims(2)
        boxes = mx.nd.array([[slot_box(k) for k in range(NUM_SLOTS)]], ctx=x.context)
        return ids, scores, boxes


def write_colour_image(path, rgb, size=(40, 30)):
    """A PNG (lossless, so the colour survives) of one colour, ``size`` = (width, height)."""
    image = np.zeros((size[1], size[0], 3), np.uint8)
    image[:] = rgb
    if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
        raise OSError('cannot write {}'.format(path))
    return str(path)
