#!/usr/bin/env python
"""Time VOC -> .lst conversion on a generated VOC set and print images/s as a markdown table.

Writes ``--images`` small real JPEGs (and VOC XMLs with 1-3 boxes each) into a temporary folder
twice: once with ``<size>`` in every XML, once without (so the image size comes only from the
JPEG header reader; with ``<size>`` the header is read too, to cross-check it). Each case is
converted ``--repeat`` times, interleaved; min / median / max throughput is reported. The files
were just written, so this measures a warm page cache: the parsing and checking cost, not the disk.

    PYTHONPATH=. python bench/conversion.py [--images 2000] [--repeat 5]
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

import cv2
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import machine_info, markdown_table  # noqa: E402

from gluoncv_hard.data.convert import convert_to_lst  # noqa: E402
from gluoncv_hard.data.problems import ProblemLog  # noqa: E402
from gluoncv_hard.data.voc import voc_source  # noqa: E402

CLASSES = ('car', 'person', 'dog')


def _xml(rng, width, height, with_size):
    parts = ['<annotation><filename>x.jpg</filename>']
    if with_size:
        parts.append('<size><width>{}</width><height>{}</height><depth>3</depth></size>'
                     .format(width, height))
    for _ in range(rng.integers(1, 4)):
        x0, y0 = rng.integers(1, width // 2), rng.integers(1, height // 2)
        x1, y1 = rng.integers(x0 + 4, width), rng.integers(y0 + 4, height)
        parts.append('<object><name>{}</name><difficult>{}</difficult><bndbox><xmin>{}</xmin>'
                     '<ymin>{}</ymin><xmax>{}</xmax><ymax>{}</ymax></bndbox></object>'.format(
                         CLASSES[rng.integers(len(CLASSES))], int(rng.random() < 0.2),
                         x0, y0, x1, y1))
    parts.append('</annotation>')
    return ''.join(parts)


def make_voc_sets(folder, count, seed=0):
    """Write two VOC roots (``with_size``/``without_size``) sharing the same images."""
    rng = np.random.default_rng(seed)
    roots = {name: os.path.join(folder, name) for name in ('with_size', 'without_size')}
    for root in roots.values():
        for sub in ('Annotations', 'JPEGImages', os.path.join('ImageSets', 'Main')):
            os.makedirs(os.path.join(root, sub))
    ids = ['{:06d}'.format(i) for i in range(count)]
    for image_id in ids:
        width, height = int(rng.integers(96, 161)), int(rng.integers(64, 121))
        image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        jpeg = cv2.imencode('.jpg', cv2.GaussianBlur(image, (9, 9), 3))[1].tobytes()
        xml_state = rng.bit_generator.state
        for name, root in roots.items():
            rng.bit_generator.state = xml_state  # same boxes in both sets
            with open(os.path.join(root, 'JPEGImages', image_id + '.jpg'), 'wb') as f:
                f.write(jpeg)
            with open(os.path.join(root, 'Annotations', image_id + '.xml'), 'w') as f:
                f.write(_xml(rng, width, height, with_size=name == 'with_size'))
    for root in roots.values():
        with open(os.path.join(root, 'ImageSets', 'Main', 'train.txt'), 'w') as f:
            f.write('\n'.join(ids) + '\n')
    return roots


def time_conversion(root, out, rec=False):
    """Wall time of one full conversion (parse XML, check images, write outputs)."""
    start = time.perf_counter()
    log = ProblemLog()
    convert_to_lst([voc_source(root, ['train'], log)], out, log=log, rec=rec, progress=False)
    return time.perf_counter() - start


def bench(images=2000, repeat=5):
    """Generate the sets, time each case ``repeat`` times (interleaved); markdown table."""
    folder = tempfile.mkdtemp(prefix='gluoncv_hard_bench_')
    try:
        start = time.perf_counter()
        roots = make_voc_sets(folder, images)
        print('generated 2 x {} images + XMLs in {:.1f} s ({})'.format(
            images, time.perf_counter() - start, folder), file=sys.stderr)
        cases = [('`<size>` in XML', roots['with_size'], False),
                 ('no `<size>` (JPEG header read)', roots['without_size'], False),
                 ('no `<size>`, `--rec` (bytes copied)', roots['without_size'], True)]
        # Rounds interleave the cases so that load from other processes hits them alike.
        times = [[] for _ in cases]
        for _ in range(repeat):
            for i, (_, root, rec) in enumerate(cases):
                times[i].append(time_conversion(root, os.path.join(folder, 'out.lst'), rec))
    finally:
        shutil.rmtree(folder)
    rows = [[title, images, '{:.2f}'.format(statistics.median(t)),
             '{:.0f} / {:.0f} / {:.0f}'.format(images / max(t), images / statistics.median(t),
                                               images / min(t))]
            for (title, _, _), t in zip(cases, times)]
    return markdown_table(['VOC -> .lst case', 'images', 'median s',
                           'images/s min / median / max'], rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--images', type=int, default=2000, help='images to generate')
    parser.add_argument('--repeat', type=int, default=5, help='timed runs per case')
    args = parser.parse_args(argv)
    table = bench(args.images, args.repeat)
    print('VOC -> .lst conversion on generated images (warm page cache). ' + machine_info())
    print(table)
    return table


if __name__ == '__main__':
    main()
