"""Command line of ``scripts/eval_faster_rcnn.py`` (console command ``gluoncv-hard-eval``).

Evaluates a trained network with hard boxes ignored: VOC07 and VOC12 mAP at IoU 0.5 (GluonCV's
metrics with ``gt_difficults``), COCO-style AP@[.5:.95] with hard boxes as ignore regions, and
false detections on images without objects, each with a 95% bootstrap confidence interval
over images (``--bootstrap``). Prints a table and writes one JSON report
(:mod:`gluoncv_hard.engine.report`).
"""
import argparse
import sys

from gluoncv_hard.cli.options import (
    add_data_arguments,
    add_device_arguments,
    add_network_arguments,
)
from gluoncv_hard.cli.status import add_debug_argument, exit_status
from gluoncv_hard.errors import InputError
from gluoncv_hard.evaluation.bootstrap import DEFAULT_RESAMPLES

__all__ = ['build_parser', 'show_report', 'run', 'main']


def build_parser():
    p = argparse.ArgumentParser(
        description='Evaluate a Faster R-CNN with hard boxes ignored, and count false '
                    'detections on images without objects.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--params', required=True,
                   help='checkpoint .params; its .json sidecar (written by the train script) '
                        'names the network and classes')
    add_network_arguments(p, default=None, classes=True)
    add_data_arguments(p, train=False, classes=False, neg_val=True, helps={
        'val': "labelled images (voc: image sets, default 'val')",
        'neg_val': 'images without objects; repeatable'})
    add_device_arguments(p, num_workers=2)
    p.add_argument('--bootstrap', type=_resample_count, default=DEFAULT_RESAMPLES, metavar='N',
                   help='95%% confidence intervals on every metric by N bootstrap resamples '
                        'of the images (positive and negative images resampled separately, '
                        'seed 0); in the table beside the headline numbers and under '
                        '"intervals" in the JSON report; 0: no intervals')
    p.add_argument('--out', default='', help='write the JSON report here')
    add_debug_argument(p)
    return p


def _resample_count(text):
    """argparse type of ``--bootstrap``: an integer >= 0."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(
            'expected 0 (no intervals) or a number of resamples, got {!r}'.format(text))
    return value


def show_report(report, out=''):
    """Print the report's table and, with ``out``, write the JSON report there."""
    from gluoncv_hard.engine.report import write_report
    from gluoncv_hard.evaluation import format_table
    print(format_table(report))
    if out:
        write_report(report, out)
        print('report written to {}'.format(out))


def run(argv=None):
    """Evaluate; returns the report dict."""
    from gluoncv_hard.data.classes import read_class_names
    from gluoncv_hard.engine.devices import parse_contexts
    from gluoncv_hard.engine.report import evaluate_checkpoint
    args = build_parser().parse_args(argv)
    ctx = parse_contexts(args.gpus)
    val = args.val or ('val' if args.dataset == 'voc' else '')
    if not val and not args.neg_val:
        raise InputError('nothing to evaluate: give --val and/or --neg-val')
    report = evaluate_checkpoint(
        args.params, ctx, dataset=args.dataset, val=val, data_root=args.data_root,
        neg_val=args.neg_val, network=args.network,
        classes=read_class_names(args.classes) if args.classes else None,
        use_fpn=args.use_fpn or None, num_workers=args.num_workers, progress=True,
        bootstrap=args.bootstrap)
    show_report(report, args.out)
    return report


def main(argv=None):
    return exit_status(run, argv)


if __name__ == '__main__':
    sys.exit(main())
