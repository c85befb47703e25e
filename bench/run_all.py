"""Run every speed benchmark side by side and write ``bench/RESULTS.md``.

    python bench/run_all.py [--quick]

Each section times stock GluonCV (or a bare loop) and gluoncv_hard in the same process,
interleaved, and reports ratios with min / median / max over repeats. Targets:

- RPN target generation per image: ours <= 0.5x stock time;
- one training iteration of the tiny network: ours >= 0.97x stock throughput;
- inference over the negative pool (mining tool path) vs a bare ``net(x)`` loop: >= 0.9x;
- VOC -> .lst conversion: images/s on 2,000 generated images.

Accuracy is a separate, much longer run: ``bench/accuracy.py``.
"""
import argparse
import datetime
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import conversion  # noqa: E402
import inference  # noqa: E402
import target_generation  # noqa: E402
import train_iteration  # noqa: E402
from common import machine_info  # noqa: E402

from gluoncv_hard.utils.atomic import write_text_atomic  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--quick', action='store_true', help='fewer repeats (a smoke run)')
    parser.add_argument('--out', default=os.path.join(HERE, 'RESULTS.md'))
    args = parser.parse_args(argv)
    scale = 1 if args.quick else 0
    sections = [
        ('RPN target generation per image, 600x1000 input (target: ours/stock <= 0.5)',
         lambda: target_generation.bench(repeats=3 if scale else 7, calls=5 if scale else 10)),
        ('Tiny network training iteration, 320 px, batch 1, 20% of boxes hard '
         '(target: throughput ours/stock >= 0.97)',
         lambda: train_iteration.bench(repeats=5 if scale else 21, iters=10)),
        ('Inference over negative images, mining-tool path vs bare net(x) loop '
         '(target: >= 0.9)',
         lambda: inference.bench(repeats=3 if scale else 7, images=60 if scale else 150)),
        ('VOC -> .lst conversion, 2,000 generated images (warm page cache)',
         lambda: conversion.bench(images=500 if scale else 2000, repeat=3 if scale else 5)),
    ]
    lines = ['# Benchmark results', '',
             'Command: `python bench/run_all.py{}`, {} UTC.'.format(
                 ' --quick' if args.quick else '',
                 datetime.datetime.utcnow().strftime('%Y-%m-%d %H:%M')),
             'Machine: {}.'.format(machine_info()), '']
    for title, run in sections:
        print('== ' + title, file=sys.stderr, flush=True)
        start = time.time()
        table = run()
        lines += ['## ' + title, '', table, '', '({:.0f} s)'.format(time.time() - start), '']
        print(table, flush=True)
    write_text_atomic(args.out, '\n'.join(lines))
    print('written to ' + args.out)


if __name__ == '__main__':
    main()
