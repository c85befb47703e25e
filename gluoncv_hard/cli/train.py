"""Command line of ``scripts/train_faster_rcnn.py`` (console command ``gluoncv-hard-train``).

The flags follow GluonCV's ``scripts/detection/faster_rcnn/train_faster_rcnn.py``; the hard-box,
negative-image and initialization flags are ours. Each flag's ``dest`` is a
:class:`gluoncv_hard.engine.config.TrainConfig` setting; the config resolves the defaults that
depend on the data set, and :func:`gluoncv_hard.engine.trainer.train` runs it.
"""
import argparse
import sys

from gluoncv_hard.cli.options import (
    add_data_arguments,
    add_device_arguments,
    add_hard_arguments,
    add_network_arguments,
    hard_config,
)
from gluoncv_hard.cli.status import add_debug_argument, exit_status
from gluoncv_hard.data.transform import DEFAULT_TRAIN_TRANSFORM
from gluoncv_hard.engine.config import DEFAULT_NUM_WORKERS, TrainConfig, parse_epochs
from gluoncv_hard.modeling.losses import NEG_MININGS, RPN_LOSSES

__all__ = ['build_parser', 'parse_args', 'config_from_args', 'run', 'main']

# Parsed flags that are not TrainConfig settings (the hard ones become one HardConfig).
_NOT_SETTINGS = ('debug', 'hard_policy', 'hard_overlap', 'hard_thresh', 'hard_precedence',
                 'hard_cover_thresh')


def epoch_list(text):
    """``--lr-decay-epoch 14,20`` -> ``(14.0, 20.0)`` (argparse names this in its errors)."""
    return parse_epochs(text)


def build_parser():
    p = argparse.ArgumentParser(
        description='Train Faster R-CNN end to end with hard ground-truth boxes.',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        epilog='Nothing is downloaded: data sets, --init weights and --pretrained-base weights '
               'must be local files. Example (demo data): gluoncv-hard-train --network tiny '
               '--dataset voc --data-root demo_data --train train --val val '
               '--neg-val demo_data/negatives/test --epochs 8 --lr 0.01')
    g = p.add_argument_group('network')
    add_network_arguments(g, default='resnet50_v1b')
    g.add_argument('--pretrained-base', action='store_true',
                   help="start the backbone from GluonCV's ImageNet weights; they must already "
                        'be in $MXNET_HOME/models (default ~/.mxnet/models): no downloads. '
                        '--network tiny: the backbone pretrained offline on the demo patches '
                        '(gluoncv-hard-pretrain-tiny; $GLUONCV_HARD_TINY_BACKBONE picks the '
                        'file)')
    g.add_argument('--init', default='', metavar='PARAMS',
                   help='initialize from a local .params file (e.g. a GluonCV detector or one of '
                        'our checkpoints); parameters whose name or shape differ (a class '
                        'predictor for other classes) keep their fresh initialization')
    g.add_argument('--short', type=int, default=0,
                   help="resize the image's shorter side to this (0: the network's default)")
    g.add_argument('--max-size', type=int, default=0,
                   help="cap on the longer side (0: the network's default)")

    g = p.add_argument_group('data')
    add_data_arguments(g, neg_train=True, neg_val=True)
    g.add_argument('--random-crop', type=int, default=0, metavar='SIZE',
                   help='train on random SIZE x SIZE crops around objects or background '
                        '(dlib\'s lesson: smaller crops, fewer easy negatives per positive); '
                        '0 = whole images')
    g.add_argument('--crop-cut-thresh', type=float, default=0.5,
                   help='a box the crop cuts by more than this fraction of its area becomes hard')
    g.add_argument('--crop-object-prob', type=float, default=0.5,
                   help='probability that a crop is centred near an object (else anywhere)')
    g.add_argument('--train-transform', default=DEFAULT_TRAIN_TRANSFORM, metavar='MODULE:CLASS',
                   help='training transform: a subclass of gluoncv_hard.'
                        'FasterRCNNDefaultTrainTransform, imported (its code runs) from the '
                        'Python path; see docs/transform_subclassing.md')

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
    g.add_argument('--lr-decay-epoch', type=epoch_list, default=None,
                   help="epochs at which the rate decays (default '14,20'; coco '17,23'); a "
                        "fraction decays within its epoch ('0.8': after 80%% of epoch 0)")
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
    g.add_argument('--save-interval', type=int, default=0,
                   help='also keep a PREFIX_EPOCH checkpoint every N epochs (0: only _best and '
                        '_last; each checkpoint of a ResNet-50 network is about 265 MB)')
    g.add_argument('--val-interval', type=int, default=1, help='validate every N epochs')
    g.add_argument('--resume', default='', metavar='PARAMS',
                   help='continue training from a checkpoint (its .states and .json are used; '
                        'if a kill cut the save of PREFIX_last, the whole PREFIX_last.prev set '
                        'it kept is taken)')
    g.add_argument('--log-interval', type=int, default=100, help='log every N iterations')

    g = p.add_argument_group('devices')
    add_device_arguments(g, num_workers=DEFAULT_NUM_WORKERS)
    g.add_argument('--cpu-contexts', type=int, default=1,
                   help="with --gpus '', split each batch over this many CPU contexts (tests the "
                        'multi-device path without GPUs)')
    g.add_argument('--kv-store', default='',
                   help="gradient aggregation (default 'device' on GPUs, 'local' on CPU)")
    g.add_argument('--horovod', action='store_true',
                   help="distributed training with Horovod, one process per device, started by "
                        "horovodrun: --gpus '' trains each on the CPU, --gpus 0,1,... puts "
                        'local process i on the i-th listed GPU; --batch-size is the global '
                        'batch (docs/scaling_out.md)')
    g.add_argument('--amp', action='store_true', help='float16 mixed precision (GPUs only)')
    g.add_argument('--disable-hybridization', action='store_true',
                   help='run the network imperatively (slower, easier to debug)')
    g.add_argument('--static-alloc', action='store_true',
                   help='static memory allocation for the hybridized network')
    add_debug_argument(p)
    return p


def parse_args(argv=None, defaults=None):
    """The parsed flags (argparse errors exit with status 2). ``defaults`` (``{dest: value}``)
    replaces flag defaults: the tools that pass train flags through set their own this way."""
    parser = build_parser()
    if defaults:
        parser.set_defaults(**defaults)
    return parser.parse_args(argv)


def config_from_args(args):
    """The :class:`gluoncv_hard.engine.config.TrainConfig` of parsed flags.

    Raises :class:`gluoncv_hard.errors.InputError` (``param`` = the flag's dest) for values that
    cannot work.
    """
    hard = hard_config(args)  # an InputError naming e.g. hard_policy, shown as --hard-policy
    settings = {name: value for name, value in vars(args).items() if name not in _NOT_SETTINGS}
    return TrainConfig.create(hard=hard, **settings)


def run(argv=None):
    """Parse and train; returns the best (or last) checkpoint path. Errors propagate."""
    from gluoncv_hard.engine.trainer import train
    return train(config_from_args(parse_args(argv))).checkpoint


def main(argv=None):
    # Horovod ranks other than 0 write no checkpoint (path None) and say nothing.
    return exit_status(run, argv, lambda path: print('best checkpoint: {}'.format(path))
                       if path else None)


if __name__ == '__main__':
    sys.exit(main())
