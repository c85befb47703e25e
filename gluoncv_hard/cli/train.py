"""Command line of ``scripts/train_faster_rcnn.py`` (console command ``gluoncv-hard-train``).

The flags follow GluonCV's ``scripts/detection/faster_rcnn/train_faster_rcnn.py``; the hard-box,
negative-image and initialization flags are ours.
"""
import argparse
import os
import sys

from gluoncv_hard.cli.options import add_hard_arguments, hard_config
from gluoncv_hard.cli.status import exit_status
from gluoncv_hard.data.datasets import DATASET_KINDS
from gluoncv_hard.modeling.losses import NEG_MININGS, RPN_LOSSES
from gluoncv_hard.modeling.zoo import NETWORKS

__all__ = ['build_parser', 'parse_args', 'run', 'main']

# Per-dataset defaults, as GluonCV's script sets them (lst/rec/voc alike).
_SCHEDULES = {
    'coco': dict(epochs=26, lr=0.00125, lr_decay_epoch='17,23', lr_warmup=1000, wd=1e-4),
    'default': dict(epochs=20, lr=0.001, lr_decay_epoch='14,20', lr_warmup=0, wd=5e-4),
}


def build_parser():
    p = argparse.ArgumentParser(
        description='Train Faster R-CNN end to end with hard ground-truth boxes.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        epilog='Nothing is downloaded: data sets, --init weights and --pretrained-base weights '
               'must be local files. Example (demo data): gluoncv-hard-train --network tiny '
               '--dataset voc --data-root demo_data --train train --val val '
               '--neg-val demo_data/negatives/test --epochs 8 --lr 0.01')
    g = p.add_argument_group('network')
    g.add_argument('--network', default='resnet50_v1b', choices=NETWORKS,
                   help='backbone; tiny and tiny_fpn are small CPU networks trained from scratch')
    g.add_argument('--use-fpn', action='store_true', help='feature pyramid network variant')
    g.add_argument('--pretrained-base', action='store_true',
                   help="start the backbone from GluonCV's ImageNet weights; they must already "
                        'be in $MXNET_HOME/models (default ~/.mxnet/models): no downloads')
    g.add_argument('--init', default='', metavar='PARAMS',
                   help='initialize from a local .params file (e.g. a GluonCV detector or one of '
                        'our checkpoints); parameters whose name or shape differ (a class '
                        'predictor for other classes) keep their fresh initialization')
    g.add_argument('--short', type=int, default=0,
                   help="resize the image's shorter side to this (0: the network's default)")
    g.add_argument('--max-size', type=int, default=0,
                   help="cap on the longer side (0: the network's default)")

    g = p.add_argument_group('data')
    g.add_argument('--dataset', default='voc', choices=DATASET_KINDS,
                   help='voc: VOC folder (--data-root) and image sets; coco: annotation JSON and '
                        'image folder; lst/rec: files from gluoncv-hard-convert')
    g.add_argument('--data-root', default='',
                   help='voc: the VOC folder; coco: the image folder; lst: the folder image '
                        'paths are relative to')
    g.add_argument('--train', default='',
                   help="voc: image sets (default 'train'); coco: annotation JSON; lst/rec: file")
    g.add_argument('--val', default='',
                   help="validation data, like --train (voc default 'val'; '' for none)")
    g.add_argument('--classes', default='',
                   help='class names file, one per line (default: inferred, or FILE.classes.txt '
                        'beside a .lst/.rec)')
    g.add_argument('--neg-train', action='append', default=[], metavar='DIR_OR_LST',
                   help='images without objects mixed into training (folder or .lst of '
                        'zero-box records, e.g. from tools/mine_hard_negatives.py); repeatable')
    g.add_argument('--neg-val', action='append', default=[], metavar='DIR_OR_LST',
                   help='images without objects for the false-detection metric; repeatable')
    g.add_argument('--random-crop', type=int, default=0, metavar='SIZE',
                   help='train on random SIZE x SIZE crops around objects or background '
                        '(dlib\'s lesson: smaller crops, fewer easy negatives per positive); '
                        '0 = whole images')
    g.add_argument('--crop-cut-thresh', type=float, default=0.5,
                   help='a box the crop cuts by more than this fraction of its area becomes hard')
    g.add_argument('--crop-object-prob', type=float, default=0.5,
                   help='probability that a crop is centred near an object (else anywhere)')
    g.add_argument('--num-workers', '-j', type=int, default=min(4, os.cpu_count() or 1),
                   help='data-loader worker processes')

    add_hard_arguments(p.add_argument_group('hard boxes'))

    g = p.add_argument_group('hard example mining during training')
    g.add_argument('--rpn-neg-mining', default='random', choices=NEG_MININGS,
                   help='ohem: every RPN positive plus only the highest-loss negatives '
                        '(--neg-pos-ratio per positive) instead of random negatives')
    g.add_argument('--rcnn-sampler', default='random', choices=NEG_MININGS,
                   help='ohem: the RCNN head sees a --rcnn-ohem-pool times larger random pool '
                        'of RoIs and learns from positives plus the highest-loss negatives')
    g.add_argument('--neg-pos-ratio', type=float, default=3.0,
                   help='negatives kept per positive by ohem (SSD uses 3)')
    g.add_argument('--ohem-min-neg', type=int, default=16,
                   help='negatives kept by ohem in an image without positives')
    g.add_argument('--rcnn-ohem-pool', type=int, default=4,
                   help='with --rcnn-sampler ohem, RoIs sampled per image = this x the '
                        "network's usual number")
    g.add_argument('--rpn-loss', default='bce', choices=RPN_LOSSES,
                   help='focal: focal loss over every labelled anchor instead of binary '
                        'cross-entropy over sampled ones')
    g.add_argument('--focal-gamma', type=float, default=2.0, help='focal loss gamma')
    g.add_argument('--focal-alpha', type=float, default=0.25, help='focal loss alpha')

    g = p.add_argument_group('schedule')
    g.add_argument('--batch-size', type=int, default=1, help='images per iteration, all devices')
    g.add_argument('--epochs', type=int, default=None, help='default 20 (coco: 26)')
    g.add_argument('--start-epoch', type=int, default=0,
                   help='first epoch; with --resume the default continues after the saved one')
    g.add_argument('--lr', type=float, default=None, help='default 0.001 (coco: 0.00125)')
    g.add_argument('--lr-decay', type=float, default=0.1, help='learning-rate decay factor')
    g.add_argument('--lr-decay-epoch', default=None,
                   help="epochs at which the rate decays (default '14,20'; coco '17,23')")
    g.add_argument('--lr-warmup', type=int, default=None,
                   help='linear warm-up iterations in epoch 0 (default 0; coco 1000)')
    g.add_argument('--lr-warmup-factor', type=float, default=1. / 3.,
                   help='warm-up starts at this fraction of --lr')
    g.add_argument('--wd', type=float, default=None, help='weight decay (default 5e-4; coco 1e-4)')
    g.add_argument('--momentum', type=float, default=0.9, help='SGD momentum')
    g.add_argument('--seed', type=int, default=233, help='random seed (NumPy, MXNet)')

    g = p.add_argument_group('checkpoints and logs')
    g.add_argument('--save-prefix', default='',
                   help='prefix of every output (default runs/faster_rcnn_NETWORK_DATASET): '
                        '_best/_last/_EPOCH checkpoints (.params, .states, .json), _train.log, '
                        '_metrics.jsonl')
    g.add_argument('--save-interval', type=int, default=1,
                   help='also keep a checkpoint every N epochs (0: only best and last)')
    g.add_argument('--val-interval', type=int, default=1, help='validate every N epochs')
    g.add_argument('--resume', default='', metavar='PARAMS',
                   help='continue training from a checkpoint (its .states and .json are used)')
    g.add_argument('--log-interval', type=int, default=100, help='log every N iterations')

    g = p.add_argument_group('devices')
    g.add_argument('--gpus', default='', help="GPU ids such as '0,1'; '' trains on the CPU")
    g.add_argument('--cpu-contexts', type=int, default=1,
                   help="with --gpus '', split each batch over this many CPU contexts (tests the "
                        'multi-device path without GPUs)')
    g.add_argument('--kv-store', default='',
                   help="gradient aggregation (default 'device' on GPUs, 'local' on CPU)")
    g.add_argument('--horovod', action='store_true',
                   help='distributed training with Horovod (horovodrun); --gpus is ignored')
    g.add_argument('--amp', action='store_true', help='float16 mixed precision (GPUs only)')
    g.add_argument('--disable-hybridization', action='store_true',
                   help='run the network imperatively (slower, easier to debug)')
    g.add_argument('--static-alloc', action='store_true',
                   help='static memory allocation for the hybridized network')
    return p


def parse_args(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    schedule = _SCHEDULES['coco' if args.dataset == 'coco' else 'default']
    for name, value in schedule.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.dataset == 'voc':
        args.train = args.train or 'train'
        args.val = args.val if args.val or '--val' in (argv or sys.argv[1:]) else 'val'
    elif not args.train:
        parser.error('--train is required for --dataset {}'.format(args.dataset))
    if args.rpn_loss == 'focal' and args.rpn_neg_mining == 'ohem':
        parser.error('--rpn-loss focal already down-weights easy negatives; drop '
                     '--rpn-neg-mining ohem')
    if args.rcnn_ohem_pool < 1:
        parser.error('--rcnn-ohem-pool must be at least 1')
    try:
        hard_config(args)
    except ValueError as e:
        parser.error(str(e).replace('hard_', '--hard-').replace('_thresh', '-thresh'))
    for name in ('epochs', 'batch_size', 'val_interval'):
        if getattr(args, name) < 1:
            parser.error('--{} must be at least 1'.format(name.replace('_', '-')))
    if not args.save_prefix:
        args.save_prefix = os.path.join('runs', 'faster_rcnn_{}{}_{}'.format(
            args.network, '_fpn' if args.use_fpn else '', args.dataset))
    return args


def run(argv=None):
    """Parse and train; returns the best (or last) checkpoint path. Errors propagate."""
    from gluoncv_hard.engine.trainer import train
    return train(parse_args(argv))


def main(argv=None):
    return exit_status(run, argv, lambda path: print('best checkpoint: {}'.format(path)))


if __name__ == '__main__':
    sys.exit(main())
