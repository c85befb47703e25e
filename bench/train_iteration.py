"""One training iteration of the tiny network: stock GluonCV pipeline vs gluoncv_hard.

    python bench/train_iteration.py [--repeats 5] [--iters 20]

Both networks have the same weights and see the same images and boxes; for gluoncv_hard 20% of
the boxes are hard (``hard_policy='ignore'``). Timed side by side, interleaved:

- ``network``: forward + losses + backward + SGD step on prepared batches (what the training
  device does; transforms run in data-loader workers);
- ``pipeline``: transform + batchify + the above, all in one process (``--num-workers 0``).

Prints throughput ratios ours / stock (min / median / max over repeats). Target: >= 0.97.
"""
import argparse
import os
import statistics
import sys
import tempfile
import warnings

import mxnet as mx
import numpy as np
from gluoncv.data.batchify import FasterRCNNTrainBatchify
from gluoncv.data.transforms.presets.rcnn import FasterRCNNDefaultTrainTransform as StockTransform
from gluoncv.model_zoo.rcnn.faster_rcnn.faster_rcnn import FasterRCNN

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import machine_info, markdown_table, ratio_summary, side_by_side  # noqa: E402

import gluoncv_hard  # noqa: E402
from gluoncv_hard.modeling import tiny  # noqa: E402
from gluoncv_hard.modeling.faster_rcnn import label_parts  # noqa: E402
from gluoncv_hard.modeling.losses import FasterRCNNLosses  # noqa: E402

NUM_IMAGES = 16


def make_data(rng):
    images, labels = [], []
    for i in range(NUM_IMAGES):
        images.append(mx.nd.array(rng.integers(0, 255, (240, 320, 3)), dtype='uint8'))
        num = 5
        wh = rng.uniform(16, 96, (num, 2))
        xy = rng.uniform(0, 1, (num, 2)) * ([320, 240] - wh)
        hard = (np.arange(num) + i) % 5 == 0  # 20% of the boxes
        labels.append(np.column_stack([xy, xy + wh, np.zeros(num), hard]).astype(np.float32))
    return images, labels


class Pipeline:
    """Transform, batchify and train one image per iteration, stock or ours."""

    def __init__(self, net, transform, hard):
        self.net, self.transform, self.hard = net, transform, hard
        self.batchify = FasterRCNNTrainBatchify(net, 1)
        self.trainer = mx.gluon.Trainer(net.collect_train_params(), 'sgd',
                                        {'learning_rate': 0.001, 'momentum': 0.9, 'wd': 1e-4})
        self.losses = FasterRCNNLosses()

    def prepare(self, image, label):
        batch = self.batchify([self.transform(image, label)])  # stock ignores the hard column
        return [batch[0].as_in_context(mx.cpu()), batch[1].as_in_context(mx.cpu())] + [
            t[0].as_in_context(mx.cpu()) for t in batch[2:]]

    def step(self, batch):
        data, label, *rpn_targets = batch
        gt_box, gt_label, gt_hard = label_parts(label)
        with mx.autograd.record():
            if self.hard:
                outputs = self.net(data, gt_box, gt_label, gt_hard)
            else:
                outputs = self.net(data, gt_box, gt_label)
            total = sum(v.sum() for v in self.losses(outputs, *rpn_targets).values())
        total.backward()
        self.trainer.step(1)
        total.wait_to_read()


def bench(repeats, iters):
    rng = np.random.default_rng(0)
    images, labels = make_data(rng)
    features, top, box = tiny.tiny_c4_parts()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        stock_net = FasterRCNN(features, top, ['face'], box_features=box, **tiny.TINY_DEFAULTS)
        stock_net.initialize(mx.init.Xavier())
        stock_net(mx.nd.zeros((1, 3, 320, 320)))
        ours_net = gluoncv_hard.get_model('tiny', classes=['face'])
        with tempfile.TemporaryDirectory() as tmp:  # same starting weights
            stock_net.save_parameters(os.path.join(tmp, 'w.params'))
            ours_net.load_parameters(os.path.join(tmp, 'w.params'))
    for net in (stock_net, ours_net):
        net.hybridize(static_alloc=True)
    kw = dict(ashape=stock_net.ashape, flip_p=0.5)
    stock = Pipeline(stock_net, StockTransform(320, 512, stock_net, **kw), hard=False)
    ours = Pipeline(ours_net, gluoncv_hard.FasterRCNNDefaultTrainTransform(320, 512, ours_net,
                                                                           **kw), hard=True)
    stock_batches = [stock.prepare(image, label) for image, label in zip(images, labels)]
    ours_batches = [ours.prepare(image, label) for image, label in zip(images, labels)]

    def loop(pipe, batches=None):
        def run():
            for k in range(iters):
                j = k % NUM_IMAGES
                pipe.step(batches[j] if batches else pipe.prepare(images[j], labels[j]))
        return run

    rows = []
    for what, stock_fn, ours_fn in (
            ('network', loop(stock, stock_batches), loop(ours, ours_batches)),
            ('pipeline', loop(stock), loop(ours))):
        np.random.seed(0)
        stock_t, ours_t = side_by_side(stock_fn, ours_fn, repeats, 1)
        # time ratio stock/ours = throughput ours/stock
        lo, med, hi = ratio_summary(stock_t, ours_t)
        rows.append([what, '{:.1f}'.format(1e3 * statistics.median(stock_t) / iters),
                     '{:.1f}'.format(1e3 * statistics.median(ours_t) / iters),
                     '{:.3f} / {:.3f} / {:.3f}'.format(lo, med, hi)])
        print(' | '.join(rows[-1]), file=sys.stderr, flush=True)
    return markdown_table(['timed', 'stock ms/iter', 'ours ms/iter',
                           'throughput ours/stock min / median / max'], rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--repeats', type=int, default=5, help='timed rounds')
    parser.add_argument('--iters', type=int, default=20, help='training iterations per round')
    args = parser.parse_args(argv)
    table = bench(args.repeats, args.iters)
    print('Tiny Faster R-CNN training iteration, 320 px, batch 1, CPU. {}'.format(machine_info()))
    print(table)
    return table


if __name__ == '__main__':
    main()
