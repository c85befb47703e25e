"""Command line of ``tools/audit.py`` (console command ``gluoncv-hard-audit``).

k-fold cross-validated detections compared with the labels: finds missed boxes, false alarms and
suspected label errors (confident detections where nothing is labelled) and writes a static
HTML page worst first. See :mod:`gluoncv_hard.audit` and ``docs/audit.md``.
Exit status 0 on success, 2 for bad arguments or input, 3 when training diverged.
"""
import argparse
import os
import sys
import time

from gluoncv_hard.audit.findings import (
    DEFAULT_IOU_THRESH,
    DEFAULT_NEAR_IOU,
    DEFAULT_SCORE_THRESH,
    DEFAULT_SUSPECT_THRESH,
    AuditSettings,
)
from gluoncv_hard.audit.folds import FOLD_TRAIN_SETTINGS
from gluoncv_hard.cli.options import (
    add_data_arguments,
    add_device_arguments,
    add_network_arguments,
)
from gluoncv_hard.cli.passthrough import passthrough_config, strip_separator
from gluoncv_hard.cli.status import add_debug_argument, exit_status
from gluoncv_hard.errors import InputError

__all__ = ['build_parser', 'run', 'main']

EPILOG = """\
per image, with confident detections = score >= --score-thresh:
  missed       normal GT box no confident detection of its class overlaps (IoU >= --iou-thresh)
  false alarm  confident detection matching no GT box (detections on hard boxes are not)
  suspect      false alarm with score >= --suspect-thresh and IoU < --near-iou with every GT
               box: maybe an object nobody labelled
  badness = missed + false alarms + suspects (sort key, worst first)

example (demo data; about 6 minutes on 2 CPU cores, see docs/audit.md):
  %(prog)s --data-root demo_data --train train --out runs/audit

outputs in --out: index.html (open in a browser), img/*.png, audit.csv, folds/ (the fold
models and their training lists).
"""


def build_parser():
    p = argparse.ArgumentParser(
        description='Audit a labelled data set: train on k-1 folds, detect on the held-out '
                    'fold, and list where detections and labels disagree, worst first.',
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_argument_group('data (as for the train script)')
    add_data_arguments(g, val=False, helps={
        'dataset': 'voc, coco or lst (rec is not supported: the page needs image files)',
        'train': "the labelled set to audit (voc: image sets, default 'train'; coco: "
                 "annotation JSON; lst: file)"})
    g = p.add_argument_group('cross-validation')
    g.add_argument('--folds', type=int, default=2,
                   help='number of folds (default %(default)s: split-half)')
    g.add_argument('--seed', type=int, default=0, help='fold split, subset and training seed')
    g.add_argument('--max-images', type=int, default=None,
                   help='audit a random subset of this many images (a quick look)')
    add_network_arguments(g, default='tiny', use_fpn=False,
                          network_help='network of the fold models (tiny: CPU-sized)')
    g.add_argument('--epochs', type=int, default=5, help='epochs per fold model '
                                                         '(default %(default)s)')
    g.add_argument('--lr', type=float, default=0.02, help='learning rate (default %(default)s)')
    g = p.add_argument_group('findings')
    g.add_argument('--score-thresh', type=float, default=DEFAULT_SCORE_THRESH,
                   help='confident detection (default %(default)s)')
    g.add_argument('--suspect-thresh', type=float, default=DEFAULT_SUSPECT_THRESH,
                   help='suspect: false alarm at least this confident (default %(default)s)')
    g.add_argument('--iou-thresh', type=float, default=DEFAULT_IOU_THRESH,
                   help='detection matches a GT box (default %(default)s)')
    g.add_argument('--near-iou', type=float, default=DEFAULT_NEAR_IOU,
                   help='suspect: IoU with every GT box below this (default %(default)s)')
    g = p.add_argument_group('running')
    g.add_argument('--out', required=True, help='new (or empty) output folder')
    add_device_arguments(g, num_workers=2)
    g.add_argument('--no-progress', action='store_true', help='no progress bars')
    add_debug_argument(p)
    p.add_argument('train_args', nargs=argparse.REMAINDER,
                   help='after "--": more train-script flags for the fold models, e.g. '
                        '-- --lr-warmup 100 --hard-policy ignore')
    return p


def base_train_config(args):
    """The fold models' :class:`gluoncv_hard.engine.config.TrainConfig`: this tool's flags and
    the train flags after ``--`` (refusing those the audit sets); the data settings are set
    per fold (:func:`gluoncv_hard.audit.folds.fold_train_config`)."""
    settings = dict(network=args.network, epochs=args.epochs, lr=args.lr, seed=args.seed,
                    num_workers=args.num_workers, gpus=args.gpus)
    return passthrough_config(args.train_args, 'the audit', settings,
                              managed=FOLD_TRAIN_SETTINGS, defaults=dict(save_interval=0))


def _summary(args, audits, folds, seconds):
    with_findings = [a for a in audits if a.badness]
    totals = {name: sum(len(getattr(a.findings, name)) for a in audits)
              for name in ('missed', 'false_alarms', 'suspects', 'hard_hits')}
    return [
        '{} images audited ({} folds of {}, seed {}); {} with findings'.format(
            len(audits), len(folds), '/'.join(str(len(f)) for f in folds), args.seed,
            len(with_findings)),
        '{missed} missed boxes, {false_alarms} false alarms of which {suspects} suspects, '
        '{hard_hits} detections on hard boxes'.format(**totals),
        'fold models: {} network, {} epochs, lr {}{}'.format(
            args.network, args.epochs, args.lr,
            ', train flags ' + ' '.join(strip_separator(args.train_args))
            if strip_separator(args.train_args) else ''),
        'thresholds: score {}, suspect {}, IoU {}, near IoU {}'.format(
            args.score_thresh, args.suspect_thresh, args.iou_thresh, args.near_iou),
        'data: {} {} {}'.format(args.dataset, args.data_root, args.train),
        'took {:.0f} s'.format(seconds)]


def run(argv=None):
    """Audit; returns ``(index_html_path, audits)``. Errors propagate."""
    args = build_parser().parse_args(argv)
    tic = time.time()
    # Bad pass-through flags fail before anything is read.
    train_config = base_train_config(args)
    settings = AuditSettings(args.score_thresh, args.suspect_thresh, args.iou_thresh,
                             args.near_iou).check()
    if args.dataset == 'rec':
        raise InputError('--dataset rec: the audit page needs image files; convert to a .lst '
                         '(gluoncv-hard-convert without --rec) and audit that')
    train = args.train or ('train' if args.dataset == 'voc' else '')
    if not train:
        raise InputError('--train is required for --dataset {}'.format(args.dataset))
    args.train = train
    if os.path.isdir(args.out) and os.listdir(args.out):
        raise InputError('--out {} is not empty: choose a new folder'.format(args.out))

    from gluoncv_hard.audit.findings import audit_dataset, make_folds, subset_indices
    from gluoncv_hard.audit.folds import fold_trainer
    from gluoncv_hard.audit.report import write_audit_report
    from gluoncv_hard.data.classes import read_class_names
    from gluoncv_hard.data.datasets import check_decodable, open_dataset
    from gluoncv_hard.engine.devices import parse_contexts
    ctx = parse_contexts(args.gpus)
    classes = read_class_names(args.classes) if args.classes else None
    dataset, classes = open_dataset(args.dataset, train, args.data_root, classes)
    subset = subset_indices(len(dataset), args.max_images, args.seed)
    check_decodable(dataset, subset)  # a bad image stops the audit before any fold trains
    folds = [subset[f] for f in make_folds(len(subset), args.folds, args.seed)]
    os.makedirs(args.out, exist_ok=True)
    fit_and_predict = fold_trainer(train_config, dataset, classes, args.out, ctx,
                                   progress=not args.no_progress)
    audits = audit_dataset(dataset, folds, fit_and_predict, settings,
                           progress=None if args.no_progress else print)
    summary = _summary(args, audits, folds, time.time() - tic)
    index = write_audit_report(args.out, audits, summary, classes,
                               progress=not args.no_progress)
    print('\n'.join(summary))
    worst = [a for a in audits if a.badness][:10]
    if worst:
        print('worst images:')
        for a in worst:
            print('  {}  badness {} ({} missed, {} false alarms, {} suspects)'.format(
                a.image_id, a.badness, len(a.findings.missed), len(a.findings.false_alarms),
                len(a.findings.suspects)))
    print('open {}'.format(index))
    return index, audits


def main(argv=None):
    return exit_status(run, argv, flags={'num_folds': '--folds'})


if __name__ == '__main__':
    sys.exit(main())
