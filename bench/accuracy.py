"""Accuracy effect of hard-box policies and of hard negative mining, on the demo data.

    python bench/accuracy.py [--epochs 4] [--seeds 0,1,2] [--out bench/ACCURACY.md]

For every seed and policy it trains the tiny network from scratch with the same schedule and
evaluates the final epoch (not the best one: choosing an epoch on the validation set would flatter
every policy) on the demo validation scenes (VOC07 mAP and COCO-style AP, hard faces ignored) and
on the held-out negative scenes (false detections per image at score >= 0.5). Then, from the
``ignore`` model of the first seed, it runs hard negative mining rounds
(``gluoncv-hard-mining-rounds``: mine the negative pool, fine-tune with the mined images) and
reports both metrics per round. Everything is written to a markdown file.

The default schedule is chosen to finish in about an hour on two CPU cores.
"""
import argparse
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import machine_info, markdown_table  # noqa: E402

from gluoncv_hard.atomic import write_text_atomic  # noqa: E402
from gluoncv_hard.cli import train as train_cli  # noqa: E402
from gluoncv_hard.demo import generate_demo_dataset, is_complete_output  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
# (label, train-script flags)
POLICIES = [
    ('positive (stock)', ['--hard-policy', 'positive']),
    ('drop', ['--hard-policy', 'drop']),
    ('ignore, iof', ['--hard-policy', 'ignore', '--hard-overlap', 'iof']),
    ('ignore, iou', ['--hard-policy', 'ignore', '--hard-overlap', 'iou']),
]
# Not in the default run (it would not fit the hour); ask for it with --policies.
EXTRA_POLICIES = [
    ('ignore, iou_or_iof', ['--hard-policy', 'ignore', '--hard-overlap', 'iou_or_iof']),
]
METRICS = (('voc07_map', 'VOC07 mAP'), ('coco_ap', 'COCO AP'),
           ('neg_false_per_image', 'false det./image'))


def schedule(epochs):
    # Warm-up, then a decay for the last epoch (the demo run's schedule, shortened).
    return ['--epochs', str(epochs), '--lr', '0.02', '--lr-warmup', '100', '--lr-decay-epoch',
            str(max(epochs - 1, 1)), '--val-interval', str(epochs), '--save-interval', '0',
            '--log-interval', '0']


def train_once(data, out, seed, flags, epochs, workers, finetune=False):
    prefix = os.path.join(out, 'run')
    if not os.path.isfile(prefix + '_metrics.jsonl'):
        plan = (['--epochs', str(epochs), '--save-interval', '0', '--log-interval', '0']
                if finetune else schedule(epochs))
        train_cli.run(['--network', 'tiny', '--dataset', 'voc', '--data-root', data,
                       '--train', 'train', '--val', 'val', '--neg-val',
                       os.path.join(data, 'negatives', 'test'), '--seed', str(seed),
                       '--num-workers', str(workers), '--save-prefix', prefix]
                      + plan + flags)
    with open(prefix + '_metrics.jsonl') as f:
        final = [json.loads(line) for line in f][-1]
    return final['val'], prefix


def mean_std(values):
    values = [v for v in values if v is not None]
    if not values:
        return '-'
    if len(values) == 1:
        return '{:.3f}'.format(values[0])
    return '{:.3f} ± {:.3f}'.format(statistics.mean(values), statistics.stdev(values))


def mining(data, out, init_params, rounds, epochs, workers):
    """Hard negative mining rounds fine-tuning from ``init_params``; returns table rows."""
    from gluoncv_hard.cli import mining_rounds
    history_path = os.path.join(out, 'history.json')
    if not os.path.isfile(history_path):
        mining_rounds.main([
            '--data-root', data, '--train', 'train', '--val', 'val',
            '--pool', os.path.join(data, 'negatives', 'pool'),
            '--neg-val', os.path.join(data, 'negatives', 'test'),
            '--rounds', str(rounds), '--init', init_params, '--retrain', 'finetune',
            '--finetune-epochs', str(epochs), '--num-workers', str(workers), '--out', out,
            '--no-early-stop'])
    with open(history_path) as f:
        history = json.load(f)
    return history


def control(data, out, init_params, rounds, epochs, workers, lr, seed):
    """The mining rounds' fine-tuning without mined images: separates "more training" from
    "more negatives". Returns one headline-metrics dict per round (round 0 = ``init_params``)."""
    from gluoncv_hard.network_io import load_trained_network
    from gluoncv_hard.model_eval import evaluate_network, headline_metrics
    from gluoncv_hard.datasets import open_dataset, open_negatives
    import mxnet as mx
    net, sidecar = load_trained_network(init_params, [mx.cpu()])
    val = open_dataset('voc', 'val', data, sidecar['classes'])[0]
    negatives = open_negatives(os.path.join(data, 'negatives', 'test'))
    results = [headline_metrics(evaluate_network(net, [mx.cpu()], sidecar['classes'], val,
                                                 negatives, num_workers=workers))]
    init = init_params
    for k in range(1, rounds + 1):
        metrics, prefix = train_once(data, os.path.join(out, 'round_{}'.format(k)), seed,
                                     ['--init', init, '--lr', str(lr)], epochs, workers,
                                     finetune=True)
        results.append(metrics)
        init = prefix + '_last.params'
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data', default='', help='demo data folder (default: OUT/demo_data)')
    parser.add_argument('--work', default=os.path.join('runs', 'accuracy'),
                        help='checkpoints; finished runs found here are reused')
    parser.add_argument('--out', default=os.path.join(HERE, 'ACCURACY.md'))
    parser.add_argument('--epochs', type=int, default=4, help='epochs per policy run')
    parser.add_argument('--seeds', default='0,1,2')
    parser.add_argument('--policies', default='',
                        help="labels separated by ';', e.g. 'drop;ignore, iou_or_iof' "
                             '(default: the four main policies)')
    parser.add_argument('--mining-rounds', type=int, default=3)
    parser.add_argument('--mining-epochs', type=int, default=1,
                        help='fine-tuning epochs per mining round')
    parser.add_argument('--num-workers', type=int, default=2)
    args = parser.parse_args(argv)
    start = time.time()
    data = args.data or os.path.join(args.work, 'demo_data')
    if not is_complete_output(data):
        generate_demo_dataset(data, seed=0, progress=False)
    seeds = [int(s) for s in args.seeds.split(',') if s.strip()]
    wanted = [w.strip() for w in args.policies.split(';') if w.strip()]
    chosen = [p for p in POLICIES + EXTRA_POLICIES if p[0] in wanted] if wanted else POLICIES

    results, ignore_model = {}, None
    for label, flags in chosen:
        for seed in seeds:
            tic = time.time()
            run_dir = os.path.join(args.work, label.replace(' ', '').replace(',', '_'),
                                   'seed{}'.format(seed))
            metrics, prefix = train_once(data, run_dir, seed, flags, args.epochs,
                                         args.num_workers)
            results.setdefault(label, []).append(metrics)
            if label.startswith('ignore, iof') and ignore_model is None:
                ignore_model = prefix + '_last.params'
            print('{} seed {}: {} ({:.0f} s)'.format(label, seed, {
                k: metrics[k] for k, _ in METRICS}, time.time() - tic), flush=True)

    rows = [[label] + [mean_std([m[key] for m in runs]) for key, _ in METRICS]
            for label, runs in results.items()]
    lines = ['# Accuracy of hard-box policies and hard negative mining (demo data)', '',
             'Command: `python bench/accuracy.py --epochs {} --seeds {}`. {}'.format(
                 args.epochs, args.seeds, machine_info()), '',
             'Tiny network trained from scratch for {} epochs per run on the 240 demo training '
             'scenes; final epoch evaluated on the 80 validation scenes (hard faces ignored) and '
             'on the 60 held-out negative scenes (false detections at score >= 0.5). Mean ± std '
             'over seeds {}.'.format(args.epochs, args.seeds), '',
             markdown_table(['policy'] + [title for _, title in METRICS], rows), '']
    policy_minutes = (time.time() - start) / 60
    if args.mining_rounds and ignore_model:
        history = mining(data, os.path.join(args.work, 'mining'), ignore_model,
                         args.mining_rounds, args.mining_epochs, args.num_workers)
        # Same fine-tuning as the rounds (their defaults: seed 233, a tenth of the lr, one
        # epoch per round) without mined images.
        baseline = control(data, os.path.join(args.work, 'control'), ignore_model,
                           args.mining_rounds, args.mining_epochs, args.num_workers,
                           lr=0.002, seed=233)
        lines += ['## Hard negative mining rounds from the `ignore, iof` model (seed {})'.format(
            seeds[0]), '',
                  'Each round mines 36 images (15% of the training set) from the 150 pool '
                  'scenes and fine-tunes the previous round\'s model for {} epoch(s) at a tenth '
                  'of the learning rate with every image mined so far. The control column '
                  'fine-tunes the same way without mined images.'.format(args.mining_epochs),
                  '', format_history(history, baseline), '']
    total_minutes = (time.time() - start) / 60
    lines.append('Total time: {:.0f} min ({:.0f} min data and policy runs, {:.0f} min mining '
                 'rounds and control). Runs already finished in the work folder are reused, '
                 'so this is only the full cost when the folder starts empty.'.format(
                     total_minutes, policy_minutes, total_minutes - policy_minutes))
    text = '\n'.join(lines)
    write_text_atomic(args.out, text)
    print(text)


def format_history(history, control_rounds):
    rows = []
    for entry, plain in zip(history['rounds'], control_rounds):
        rows.append([entry['round'], entry['num_negatives_trained'], _num(entry.get('voc07_map')),
                     _num(entry.get('neg_false_per_image')), entry.get('neg_false_detections'),
                     _num(plain['voc07_map']), _num(plain['neg_false_per_image'])])
    return markdown_table(['round', 'mined negatives (total)', 'VOC07 mAP',
                           'false det./image', 'false det. total', 'control: VOC07 mAP',
                           'control: false det./image'], rows)


def _num(value):
    return '-' if value is None else '{:.3f}'.format(value)


if __name__ == '__main__':
    main()
