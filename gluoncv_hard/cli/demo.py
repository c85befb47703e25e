"""The main job on the embedded demo data (console command ``gluoncv-hard-demo``).

1. builds the offline face data set (``gluoncv_hard.demo``) unless it is already there;
2. trains the tiny network on CPU with the train script (hard policy ``ignore``);
3. evaluates the best checkpoint with the eval script: mAP with hard boxes ignored, false
   detections on held-out images without faces;
4. prints the commands that do the same on a real data set with GPUs.
"""
import argparse
import os
import sys
import time

from gluoncv_hard.cli import evaluate as eval_cli
from gluoncv_hard.cli import train as train_cli

__all__ = ['main', 'DEMO_SCHEDULE']

# Chosen so the run takes a few minutes on two CPU cores; see README ("The demo run").
DEMO_SCHEDULE = ['--epochs', '6', '--lr', '0.02', '--lr-warmup', '100', '--lr-decay-epoch', '5',
                 '--log-interval', '80']

REAL_DATA_COMMANDS = """\
The same on a real data set with GPUs (install with .[cu112], see README):
  gluoncv-hard-convert --format voc --root VOCdevkit/VOC2007 --sets trainval --out voc07_trainval.lst
  gluoncv-hard-train --network resnet50_v1b --pretrained-base --dataset voc \\
      --data-root VOCdevkit/VOC2007 --train trainval --val test --gpus 0,1 --batch-size 2 \\
      --hard-policy ignore --save-prefix runs/voc07
  gluoncv-hard-train --network resnet50_v1b --use-fpn --pretrained-base --dataset coco \\
      --data-root coco/train2017 --train coco/annotations/instances_train2017.json \\
      --gpus 0,1,2,3 --batch-size 8 --save-prefix runs/coco
  gluoncv-hard-eval --params runs/voc07_best.params --data-root VOCdevkit/VOC2007 --val test \\
      --gpus 0 --out voc07_report.json"""


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Build the offline demo data, train the tiny network on it (CPU) and '
                    'evaluate it.', formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('--data', default='demo_data', help='demo data folder (made if absent)')
    parser.add_argument('--out', default=os.path.join('runs', 'demo'),
                        help='folder for checkpoints, logs and the report')
    parser.add_argument('--seed', type=int, default=0, help='seed of the data and of training')
    parser.add_argument('--num-workers', type=int, default=2, help='data-loader workers')
    parser.add_argument('--hard-policy', default='ignore',
                        help='passed to the train script (ignore, positive or drop)')
    parser.add_argument('train_args', nargs=argparse.REMAINDER,
                        help='after "--": more train-script flags, e.g. -- --epochs 2')
    args = parser.parse_args(argv)
    start = time.time()

    from gluoncv_hard.demo import generate_demo_dataset, is_complete_output
    if is_complete_output(args.data):
        print('Demo data: using {}'.format(args.data))
    else:
        print('Demo data: building {} (offline, from scikit-image images)'.format(args.data))
        generate_demo_dataset(args.data, seed=args.seed)

    prefix = os.path.join(args.out, 'tiny_{}'.format(args.hard_policy))
    negatives = os.path.join(args.data, 'negatives')
    extra = [a for a in args.train_args if a != '--']
    train_argv = ['--network', 'tiny', '--dataset', 'voc', '--data-root', args.data,
                  '--train', 'train', '--val', 'val', '--neg-val', os.path.join(negatives, 'test'),
                  '--hard-policy', args.hard_policy, '--seed', str(args.seed),
                  '--num-workers', str(args.num_workers), '--save-prefix', prefix,
                  '--save-interval', '0'] + DEMO_SCHEDULE + extra
    print('\nTraining: gluoncv-hard-train ' + ' '.join(train_argv))
    code = train_cli.main(train_argv)
    if code:
        return code

    report_path = prefix + '_report.json'
    eval_argv = ['--params', prefix + '_best.params', '--data-root', args.data, '--val', 'val',
                 '--neg-val', os.path.join(negatives, 'test'), '--out', report_path,
                 '--num-workers', str(args.num_workers)]
    print('\nEvaluation: gluoncv-hard-eval ' + ' '.join(eval_argv))
    code = eval_cli.main(eval_argv)
    if code:
        return code
    print('\nDone in {:.0f} s. Checkpoints, log and metrics: {}_*'.format(
        time.time() - start, prefix))
    print(REAL_DATA_COMMANDS)
    return 0


if __name__ == '__main__':
    sys.exit(main())
