"""Inference over a pool of negative images: the mining tool's path vs a bare ``net(x)`` loop.

    python bench/inference.py [--repeats 5] [--images 60]

Both run the same tiny network (same weights, hybridized) on the same demo negatives: ``bare``
reads, transforms and runs one image at a time in one process; ``ours`` is
``gluoncv_hard.predict.predict_dataset`` as ``tools/mine_hard_negatives.py`` calls it (decoding in
``--num-workers`` data-loader workers, boxes clipped and mapped back to the original image).
Prints throughput ratios ours / bare (min / median / max over repeats). Target: >= 0.9.
"""
import argparse
import glob
import os
import statistics
import sys
import tempfile
import warnings

import mxnet as mx
from gluoncv.data.transforms.presets.rcnn import FasterRCNNDefaultValTransform

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import machine_info, markdown_table, ratio_summary, side_by_side  # noqa: E402

import gluoncv_hard  # noqa: E402
from gluoncv_hard.data import NegativeDetection  # noqa: E402
from gluoncv_hard.demo import generate_demo_dataset  # noqa: E402
from gluoncv_hard.engine.predict import predict_dataset  # noqa: E402


def bench(repeats=5, images=60, num_workers=2):
    with tempfile.TemporaryDirectory() as folder:
        generate_demo_dataset(os.path.join(folder, 'demo'), n_train=1, n_val=1,
                              n_negatives_pool=images, n_negatives_test=1, progress=False)
        pool = os.path.join(folder, 'demo', 'negatives', 'pool')
        paths = sorted(glob.glob(os.path.join(pool, '*.jpg')))
        dataset = NegativeDetection(pool)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            net = gluoncv_hard.get_model('tiny', classes=['face'])
            net.initialize()
        net.hybridize(static_alloc=True)
        ctx = [mx.cpu()]
        transform = FasterRCNNDefaultValTransform(net.short, net.max_size)

        def bare():
            for path in paths:
                x, _, _ = transform(mx.image.imread(path), mx.nd.zeros((1, 6)).asnumpy())
                ids, scores, boxes = net(x.expand_dims(0))
                boxes.asnumpy()

        def ours():
            for prediction in predict_dataset(net, dataset, ctx, num_workers=num_workers):
                _ = prediction.boxes.shape  # iterating is the work; touch the result

        bare_t, ours_t = side_by_side(bare, ours, repeats, 1)
    lo, med, hi = ratio_summary(bare_t, ours_t)  # time bare/ours = throughput ours/bare
    rows = [[len(paths), num_workers, '{:.1f}'.format(len(paths) / statistics.median(bare_t)),
             '{:.1f}'.format(len(paths) / statistics.median(ours_t)),
             '{:.2f} / {:.2f} / {:.2f}'.format(lo, med, hi)]]
    return markdown_table(['images', 'workers', 'bare img/s', 'ours img/s',
                           'throughput ours/bare min / median / max'], rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--repeats', type=int, default=5, help='timed rounds')
    parser.add_argument('--images', type=int, default=60, help='negative images in the pool')
    parser.add_argument('--num-workers', type=int, default=2, help='data-loader workers')
    args = parser.parse_args(argv)
    table = bench(args.repeats, args.images, args.num_workers)
    print('Inference over negative images, tiny network, CPU. ' + machine_info())
    print(table)
    return table


if __name__ == '__main__':
    main()
