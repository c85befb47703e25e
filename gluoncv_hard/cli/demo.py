"""The main job on the embedded demo data (console command ``gluoncv-hard-demo``).

1. builds the offline face data set (``gluoncv_hard.demo``) unless it is already there;
2. trains the tiny network on CPU from its shipped pretrained backbone
   (:func:`gluoncv_hard.engine.trainer.train`, hard policy ``ignore``);
3. evaluates the final checkpoint as the eval command does: mAP with hard boxes ignored, false
   detections on held-out images without faces;
4. prints the commands that do the same on a real data set with GPUs.
"""
import argparse
import os
import shlex
import sys
import time

from gluoncv_hard.cli.options import add_device_arguments
from gluoncv_hard.cli.passthrough import passthrough_config
from gluoncv_hard.cli.status import add_debug_argument, exit_status
from gluoncv_hard.core.config import HARD_POLICIES

__all__ = ['main', 'run', 'DEMO_SCHEDULE']

# 3 epochs of the 1200 default training scenes (3600 iterations), the last at a tenth of the
# rate, from the shipped offline-pretrained backbone (docs/pretrained_backbone.md): about 14
# minutes of training on two CPU cores (~4.2 images/s). 4 epochs gave VOC07 0.89 on the 400
# validation scenes, against 0.79 for the same 4 epochs from scratch (README, "Accuracy").
# No validation during training: the demo evaluates the final checkpoint right after, with
# intervals, and an evaluation of the 400 + 200 default test scenes costs about a minute.
DEMO_SCHEDULE = dict(epochs=3, lr=0.02, lr_warmup=100, lr_decay_epoch=(2.0,), log_interval=400)

REAL_DATA_COMMANDS = """\
The same on a real data set with GPUs (install with .[cu112], see README):
  gluoncv-hard-convert --format voc --root VOCdevkit/VOC2007 --sets trainval \\
      --out voc07_trainval.lst
  gluoncv-hard-train --network resnet50_v1b --pretrained-base --dataset voc \\
      --data-root VOCdevkit/VOC2007 --train trainval --val test --gpus 0,1 --batch-size 2 \\
      --hard-policy ignore --save-prefix runs/voc07
  gluoncv-hard-train --network resnet50_v1b --use-fpn --pretrained-base --dataset coco \\
      --data-root coco/train2017 --train coco/annotations/instances_train2017.json \\
      --gpus 0,1,2,3 --batch-size 8 --save-prefix runs/coco
  gluoncv-hard-eval --params runs/voc07_best.params --data-root VOCdevkit/VOC2007 --val test \\
      --gpus 0 --out voc07_report.json"""


def build_parser():
    parser = argparse.ArgumentParser(
        description='Build the offline demo data, train the tiny network on it (CPU) and '
                    'evaluate it.', formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('--data-root', '--data', default='demo_data',
                        help='demo data folder (made if absent)')
    parser.add_argument('--out', default=os.path.join('runs', 'demo'),
                        help='folder for checkpoints, logs and the report')
    parser.add_argument('--seed', type=int, default=0, help='seed of the data and of training')
    add_device_arguments(parser, num_workers=2, gpus=False)
    parser.add_argument('--hard-policy', default='ignore', choices=HARD_POLICIES,
                        help='hard policy of the training')
    add_debug_argument(parser)
    parser.add_argument('train_args', nargs=argparse.REMAINDER,
                        help='after "--": more train-script flags, e.g. -- --epochs 2')
    return parser


def run(argv=None):
    """Build the data if needed, train, evaluate; returns the report dict. Errors propagate."""
    args = build_parser().parse_args(argv)
    start = time.time()
    negatives_test = os.path.join(args.data_root, 'negatives', 'test')
    # The demo's settings are defaults: any train flag after "--" may change them.
    config = passthrough_config(args.train_args, 'the demo', settings={}, defaults=dict(
        network='tiny', pretrained_base=True, dataset='voc', data_root=args.data_root,
        train='train', val='',
        hard_policy=args.hard_policy, seed=args.seed,
        num_workers=args.num_workers, save_interval=0,
        save_prefix=os.path.join(args.out, 'tiny_{}'.format(args.hard_policy)),
        **DEMO_SCHEDULE))

    from gluoncv_hard.cli.evaluate import show_report
    from gluoncv_hard.demo import generate_demo_dataset, is_complete_output
    from gluoncv_hard.demo.generate import is_default_dataset
    from gluoncv_hard.engine.devices import parse_contexts
    from gluoncv_hard.engine.report import evaluate_checkpoint
    from gluoncv_hard.engine.trainer import train
    from gluoncv_hard.evaluation.bootstrap import DEFAULT_RESAMPLES
    if is_complete_output(args.data_root):
        print('Demo data: using {}'.format(args.data_root))
        if not is_default_dataset(args.data_root, args.seed):
            print('  (built with other parameters or another seed than this version\'s '
                  'defaults, so the numbers differ from the README\'s; rebuild it with '
                  'gluoncv-hard-make-demo --out {} --seed {})'.format(args.data_root, args.seed))
    else:
        print('Demo data: building {} (offline, from scikit-image images)'.format(
            args.data_root))
        generate_demo_dataset(args.data_root, seed=args.seed)

    print('\nTraining: gluoncv-hard-train ' + shlex.join(config.to_flags()))
    checkpoint = train(config).checkpoint
    print('checkpoint: {}'.format(checkpoint))

    prefix = config.output.save_prefix
    report_path = prefix + '_report.json'
    print('\nEvaluation: gluoncv-hard-eval ' + shlex.join([
        '--params', checkpoint, '--data-root', args.data_root, '--val', 'val', '--neg-val',
        negatives_test, '--out', report_path, '--num-workers', str(args.num_workers)]))
    # The eval command's default --bootstrap, so that the printed command writes this report.
    report = evaluate_checkpoint(checkpoint, parse_contexts(''), data_root=args.data_root,
                                 val='val', neg_val=[negatives_test],
                                 num_workers=args.num_workers, progress=True,
                                 bootstrap=DEFAULT_RESAMPLES)
    show_report(report, report_path)
    print('\nDone in {:.0f} s. Checkpoints, log and metrics: {}_*'.format(
        time.time() - start, prefix))
    print(REAL_DATA_COMMANDS)
    return report


def main(argv=None):
    return exit_status(run, argv)


if __name__ == '__main__':
    sys.exit(main())
