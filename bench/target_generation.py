"""RPN target generation per image: stock GluonCV vs gluoncv_hard, measured side by side.

    python bench/target_generation.py [--repeats 5] [--calls 10]

For a 600x1000 input with the anchors of GluonCV's ResNet-50 C4 and FPN Faster R-CNN, and M = 5
or 50 GT boxes (20% of them hard for gluoncv_hard), it times

- ``generator``: ``RPNTargetGenerator`` alone (stock on NDArrays, ours on NumPy arrays, each in
  the form its transform passes);
- ``transform``: the whole ``FasterRCNNDefaultTrainTransform`` call (resize, flip, to-tensor,
  targets),

and prints ``ours / stock`` time ratios (min / median / max over repeats). Target: <= 0.5.
"""
import argparse
import functools
import os
import statistics
import sys
import warnings

import mxnet as mx
import numpy as np
from gluoncv import model_zoo
from gluoncv.data.transforms.presets.rcnn import FasterRCNNDefaultTrainTransform as StockTransform
from gluoncv.model_zoo.rcnn.rpn.rpn_target import RPNTargetGenerator as StockGenerator

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import machine_info, markdown_table, ratio_summary, side_by_side  # noqa: E402

from gluoncv_hard import FasterRCNNDefaultTrainTransform, RPNTargetGenerator  # noqa: E402

NETWORKS = (('C4', 'faster_rcnn_resnet50_v1b_voc', False),
            ('FPN', 'faster_rcnn_fpn_resnet50_v1b_coco', True))
HEIGHT, WIDTH = 600, 1000


def make_label(num, rng):
    wh = rng.uniform(16, 300, (num, 2))
    xy = rng.uniform(0, 1, (num, 2)) * ([WIDTH, HEIGHT] - wh)
    hard = (np.arange(num) % 5 == 0).astype(np.float32)  # 20% hard
    return np.column_stack([xy, xy + wh, np.zeros(num), hard]).astype(np.float32)


def bench(repeats, calls):
    rng = np.random.default_rng(0)
    image = mx.nd.array(rng.integers(0, 255, (HEIGHT, WIDTH, 3)), dtype='uint8')
    rows = []
    for kind, name, fpn in NETWORKS:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            net = model_zoo.get_model(name, pretrained=False, pretrained_base=False)
            net.initialize()
        kw = dict(flip_p=0.0, ashape=net.ashape, multi_stage=fpn)
        stock_tf = StockTransform(HEIGHT, WIDTH, net, **kw)
        ours_tf = FasterRCNNDefaultTrainTransform(HEIGHT, WIDTH, net, **kw)
        anchors, _ = ours_tf._anchors_for(HEIGHT, WIDTH)
        anchors_nd = mx.nd.array(anchors)
        stock_gen, ours_gen = StockGenerator(), RPNTargetGenerator()
        for num in (5, 50):
            label = make_label(num, rng)
            gt_nd = mx.nd.array(label[:, :4])
            cases = {
                'generator': (functools.partial(stock_gen, gt_nd, anchors_nd, WIDTH, HEIGHT),
                              functools.partial(ours_gen, label[:, :4], anchors, WIDTH, HEIGHT,
                                                label[:, 5])),
                'transform': (functools.partial(stock_tf, image, label),
                              functools.partial(ours_tf, image, label)),
            }
            for what, (stock_fn, ours_fn) in cases.items():
                stock_t, ours_t = side_by_side(stock_fn, ours_fn, repeats, calls)
                lo, med, hi = ratio_summary(ours_t, stock_t)
                rows.append([kind, len(anchors), num, what,
                             '{:.1f}'.format(1e3 * statistics.median(stock_t)),
                             '{:.1f}'.format(1e3 * statistics.median(ours_t)),
                             '{:.2f} / {:.2f} / {:.2f}'.format(lo, med, hi)])
                print(' | '.join(str(c) for c in rows[-1]), file=sys.stderr, flush=True)
    return markdown_table(['anchors', 'N', 'M', 'timed', 'stock ms', 'ours ms',
                           'ours/stock min / median / max'], rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--repeats', type=int, default=5, help='timed rounds per case')
    parser.add_argument('--calls', type=int, default=10, help='images per round')
    args = parser.parse_args(argv)
    table = bench(args.repeats, args.calls)
    print('RPN target generation per image, {}x{} input. {}'.format(HEIGHT, WIDTH,
                                                                    machine_info()))
    print(table)
    return table


if __name__ == '__main__':
    main()
