"""Command line of ``scripts/eval_faster_rcnn.py`` (console command ``gluoncv-hard-eval``).

Evaluates a trained network with hard boxes ignored: VOC07 and VOC12 mAP at IoU 0.5 (GluonCV's
metrics with ``gt_difficults``), COCO-style AP@[.5:.95] with hard boxes as ignore regions, and
false detections on images without objects. Prints a table and writes one JSON report.
"""
import argparse
import json
import sys

from gluoncv_hard.cli.status import exit_status
from gluoncv_hard.data.classes import read_class_names
from gluoncv_hard.data.datasets import DATASET_KINDS, open_dataset, open_negatives
from gluoncv_hard.engine.devices import parse_contexts
from gluoncv_hard.engine.networks import load_trained_network
from gluoncv_hard.engine.validation import evaluate_network
from gluoncv_hard.evaluation import format_table
from gluoncv_hard.modeling.zoo import NETWORKS
from gluoncv_hard.utils.atomic import write_text_atomic

__all__ = ['build_parser', 'run', 'main']


def build_parser():
    p = argparse.ArgumentParser(
        description='Evaluate a Faster R-CNN with hard boxes ignored, and count false '
                    'detections on images without objects.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--params', required=True,
                   help='checkpoint .params; its .json sidecar (written by the train script) '
                        'names the network and classes')
    p.add_argument('--network', choices=NETWORKS, default=None,
                   help='for a .params without sidecar (e.g. from stock GluonCV)')
    p.add_argument('--use-fpn', action='store_true', help='with --network, the FPN variant')
    p.add_argument('--classes', default='', help='class names file, for a .params without sidecar')
    p.add_argument('--dataset', default='voc', choices=DATASET_KINDS)
    p.add_argument('--data-root', default='', help='as for the train script')
    p.add_argument('--val', default='', help="labelled images (voc: image sets, default 'val')")
    p.add_argument('--neg-val', action='append', default=[], metavar='DIR_OR_LST',
                   help='images without objects; repeatable')
    p.add_argument('--gpus', default='', help="GPU ids such as '0,1'; '' for CPU")
    p.add_argument('--num-workers', '-j', type=int, default=2, help='data-loader workers')
    p.add_argument('--out', default='', help='write the JSON report here')
    return p


def run(argv=None):
    """Evaluate; returns the report dict."""
    args = build_parser().parse_args(argv)
    ctx = parse_contexts(args.gpus)
    classes = read_class_names(args.classes) if args.classes else None
    net, _ = load_trained_network(args.params, ctx, network=args.network, classes=classes,
                                  use_fpn=args.use_fpn or None)
    classes = list(net.classes)
    val = args.val or ('val' if args.dataset == 'voc' else '')
    dataset = open_dataset(args.dataset, val, args.data_root, classes)[0] if val else None
    negatives = None
    if args.neg_val:
        from gluoncv_hard.data import ConcatDetection
        negatives = ConcatDetection([open_negatives(spec) for spec in args.neg_val])
    if dataset is None and negatives is None:
        raise ValueError('nothing to evaluate: give --val and/or --neg-val')
    net.hybridize(static_alloc=True)
    report = evaluate_network(net, ctx, classes, dataset, negatives,
                              num_workers=args.num_workers, progress=True)
    report['params'] = args.params
    print(format_table(report))
    if args.out:
        write_text_atomic(args.out, json.dumps(report, indent=1, sort_keys=True))
        print('report written to {}'.format(args.out))
    return report


def main(argv=None):
    return exit_status(run, argv)


if __name__ == '__main__':
    sys.exit(main())
