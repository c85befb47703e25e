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
from gluoncv_hard.cli.status import exit_status
from gluoncv_hard.data.datasets import DATASET_KINDS
from gluoncv_hard.modeling.zoo import NETWORKS
from gluoncv_hard.utils.passthrough import check_passthrough, strip_separator

__all__ = ['MANAGED_TRAIN_FLAGS', 'build_parser', 'run', 'main']

# Train-script flags the audit sets for every fold model; an error after "--".
MANAGED_TRAIN_FLAGS = ('--network', '--dataset', '--data-root', '--train', '--val', '--classes',
                       '--epochs', '--lr', '--resume', '--start-epoch', '--save-prefix',
                       '--seed', '--num-workers', '-j', '--gpus')

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
    g.add_argument('--dataset', choices=DATASET_KINDS, default='voc',
                   help='voc, coco or lst (rec is not supported: the page needs image files)')
    g.add_argument('--data-root', default='', help='voc: the VOC folder; coco/lst: image root')
    g.add_argument('--train', default='',
                   help="the labelled set to audit (voc: image sets, default 'train'; coco: "
                        "annotation JSON; lst: file)")
    g.add_argument('--classes', default='', help='class names file (default: inferred)')
    g = p.add_argument_group('cross-validation')
    g.add_argument('--folds', type=int, default=2,
                   help='number of folds (default %(default)s: split-half)')
    g.add_argument('--seed', type=int, default=0, help='fold split, subset and training seed')
    g.add_argument('--max-images', type=int, default=None,
                   help='audit a random subset of this many images (a quick look)')
    g.add_argument('--network', choices=NETWORKS, default='tiny',
                   help='network of the fold models (default %(default)s: CPU-sized)')
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
    g.add_argument('--gpus', default='', help="GPU ids such as '0,1'; '' for CPU")
    g.add_argument('--num-workers', '-j', type=int, default=2, help='data-loader workers')
    g.add_argument('--no-progress', action='store_true', help='no progress bars')
    p.add_argument('train_args', nargs=argparse.REMAINDER,
                   help='after "--": more train-script flags for the fold models, e.g. '
                        '-- --lr-warmup 100 --hard-policy ignore')
    return p


def _fold_trainer(args, dataset, classes, ctx, train_args):
    """``fit_and_predict`` for :func:`gluoncv_hard.audit.audit_dataset`: the train script on a
    ``.lst`` of the fold's training images, then predictions on the held-out images."""
    from tqdm import tqdm

    from gluoncv_hard.audit.findings import write_fold_lst
    from gluoncv_hard.cli import train as train_cli
    from gluoncv_hard.engine.networks import load_trained_network
    from gluoncv_hard.engine.predict import predict_dataset

    def fit_and_predict(fold, train_indices, test_indices):
        folder = os.path.join(args.out, 'folds', 'fold_{}'.format(fold))
        lst = write_fold_lst(dataset, train_indices, os.path.join(folder, 'train.lst'), classes)
        argv = ['--network', args.network, '--dataset', 'lst', '--train', lst,
                '--data-root', folder, '--val', '', '--epochs', str(args.epochs),
                '--lr', str(args.lr), '--seed', str(args.seed), '--num-workers',
                str(args.num_workers), '--gpus', args.gpus, '--save-interval', '0',
                '--save-prefix', os.path.join(folder, 'model')] + train_args
        checkpoint = train_cli.run(argv)
        net, _ = load_trained_network(checkpoint, ctx)
        net.hybridize(static_alloc=True)
        predictions = predict_dataset(net, dataset, ctx, indices=test_indices,
                                      num_workers=args.num_workers)
        return tqdm(predictions, total=len(test_indices), unit='img',
                    desc='fold {} detect'.format(fold), disable=args.no_progress)

    return fit_and_predict


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
    train_args = strip_separator(args.train_args)
    check_passthrough(train_args, MANAGED_TRAIN_FLAGS, 'the audit')
    settings = AuditSettings(args.score_thresh, args.suspect_thresh, args.iou_thresh,
                             args.near_iou).check()
    if args.epochs < 1:
        raise ValueError('--epochs must be at least 1')
    if args.dataset == 'rec':
        raise ValueError('--dataset rec: the audit page needs image files; convert to a .lst '
                         '(gluoncv-hard-convert without --rec) and audit that')
    train = args.train or ('train' if args.dataset == 'voc' else '')
    if not train:
        raise ValueError('--train is required for --dataset {}'.format(args.dataset))
    args.train = train
    if os.path.isdir(args.out) and os.listdir(args.out):
        raise ValueError('--out {} is not empty: choose a new folder'.format(args.out))

    from gluoncv_hard.audit.findings import audit_dataset, make_folds, subset_indices
    from gluoncv_hard.audit.report import write_audit_report
    from gluoncv_hard.cli import train as train_cli
    from gluoncv_hard.data.classes import read_class_names
    from gluoncv_hard.data.datasets import open_dataset
    from gluoncv_hard.engine.devices import parse_contexts
    ctx = parse_contexts(args.gpus)
    classes = read_class_names(args.classes) if args.classes else None
    dataset, classes = open_dataset(args.dataset, train, args.data_root, classes)
    subset = subset_indices(len(dataset), args.max_images, args.seed)
    folds = [subset[f] for f in make_folds(len(subset), args.folds, args.seed)]
    # Bad pass-through flags fail before the first fold trains.
    train_cli.parse_args(['--dataset', 'lst', '--train', 'x.lst'] + train_args)
    os.makedirs(args.out, exist_ok=True)
    audits = audit_dataset(dataset, folds, _fold_trainer(args, dataset, classes, ctx, train_args),
                           settings, progress=None if args.no_progress else print)
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
    return exit_status(run, argv)


if __name__ == '__main__':
    sys.exit(main())
