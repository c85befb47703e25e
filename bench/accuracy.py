"""Accuracy effect of hard-box policies and of hard negative mining, on the demo data.

    python bench/accuracy.py [--epochs 4] [--seeds 0,1,2] [--jobs 2] [--out bench/ACCURACY.md]

For every seed and policy it trains the tiny network from scratch with the same schedule and
evaluates the final epoch (not the best one: choosing an epoch on the validation set would flatter
every policy) on the demo validation scenes (VOC07 mAP and COCO-style AP, hard faces ignored) and
on the held-out negative scenes (false detections per image at score >= 0.5). Then, from the
``ignore, iof`` model of the first seed, it runs hard negative mining rounds
(``gluoncv-hard-mining-rounds``: mine the negative pool, fine-tune with the mined images) and,
beside them, a control that fine-tunes the same way without mined images. Everything is written
to a markdown file.

Every training runs in a worker process (``multiprocessing``, spawn) that calls
``gluoncv_hard.engine.trainer.train(config)`` (or the rounds loop), ``--jobs`` at a time, each
with ``cpu_count // jobs`` MXNet threads: the tiny network does not keep two cores busy, so two
single-threaded runs side by side finish in about 1.15x the time of one. Each worker runs one
job in a fresh process, as a separate command would. The default run takes about 46 minutes on
two CPU cores.
"""
import argparse
import concurrent.futures
import contextlib
import json
import multiprocessing
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import machine_info, markdown_table  # noqa: E402

from gluoncv_hard.core.config import HardConfig  # noqa: E402
from gluoncv_hard.demo import generate_demo_dataset, is_complete_output  # noqa: E402
from gluoncv_hard.utils.atomic import write_text_atomic  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
# (label, hard-box settings of the training)
POLICIES = [
    ('positive (stock)', HardConfig(policy='positive')),
    ('drop', HardConfig(policy='drop')),
    ('ignore, iof', HardConfig(policy='ignore', overlap='iof')),
    ('ignore, iou', HardConfig(policy='ignore', overlap='iou')),
    ('ignore, iou_or_iof', HardConfig(policy='ignore', overlap='iou_or_iof')),
]
MINING_FROM = 'ignore, iof'
METRICS = (('voc07_map', 'VOC07 mAP'), ('coco_ap', 'COCO AP'),
           ('neg_false_per_image', 'false det./image'))
BASE_LR = 0.02
FINETUNE_LR = BASE_LR / 10  # the rounds tool's default for --retrain finetune


def schedule(epochs):
    # Warm-up, then a decay for the last epoch (the demo run's schedule, shortened).
    return dict(epochs=epochs, lr=BASE_LR, lr_warmup=100, lr_decay_epoch=(max(epochs - 1, 1),),
                val_interval=epochs)


@contextlib.contextmanager
def _output_to(log_path):
    """Send this process's stdout and stderr (file descriptors too: MXNet writes there) to
    ``log_path``; a worker runs one job, so nothing else shares them."""
    os.makedirs(os.path.dirname(os.path.abspath(log_path)), exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(log_path, 'w') as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)


def _train_job(config, log_path):
    """Worker: one training run; its output goes to ``log_path``."""
    import warnings

    from gluoncv_hard.engine.trainer import train
    warnings.simplefilter('ignore')
    with _output_to(log_path):
        train(config)


def _rounds_job(config, log_path):
    """Worker: the mining rounds loop; its output goes to ``log_path``."""
    import warnings

    from gluoncv_hard.mining.loop import run_rounds
    warnings.simplefilter('ignore')
    with _output_to(log_path):
        run_rounds(config)


class Runner:
    """Runs trainings in worker processes with a fixed number of MXNet threads each."""

    def __init__(self, data, workers, threads, jobs):
        self.data, self.workers = data, workers
        # Set before the spawned workers start, so MXNet reads them when they import it.
        os.environ.update(OMP_NUM_THREADS=str(threads), MXNET_CPU_WORKER_NTHREADS=str(threads))
        # One job per fresh process, as a separate command would run it.
        self.pool = concurrent.futures.ProcessPoolExecutor(
            jobs, mp_context=multiprocessing.get_context('spawn'), max_tasks_per_child=1)

    def base(self, seed, **settings):
        """The training every run shares: the tiny network on the demo data."""
        from gluoncv_hard.engine.config import TrainConfig
        return TrainConfig.create(**dict(dict(
            network='tiny', dataset='voc', data_root=self.data, train='train', val='val',
            neg_val=[os.path.join(self.data, 'negatives', 'test')], seed=seed,
            num_workers=self.workers, save_interval=0, log_interval=0), **settings))

    def train(self, out, seed, hard=None, **settings):
        """Final-epoch validation metrics of one training run and its checkpoint prefix."""
        prefix = os.path.join(out, 'run')
        metrics_path = prefix + '_metrics.jsonl'
        if not os.path.isfile(metrics_path):
            config = self.base(seed, save_prefix=prefix, **settings)
            if hard is not None:
                config = config.replace(hard=hard)
            self.pool.submit(_train_job, config, os.path.join(out, 'output.log')).result()
        with open(metrics_path) as f:
            final = [json.loads(line) for line in f][-1]
        return final['val'], prefix

    def mining(self, out, init_params, rounds, epochs, seed):
        """Mining rounds fine-tuning from ``init_params``; returns the rounds loop's history."""
        from gluoncv_hard.mining.rounds import RoundsConfig
        history_path = os.path.join(out, 'history.json')
        if not os.path.isfile(history_path):
            # The rounds command's defaults: 5 baseline epochs (unused: round 0 is given),
            # progress off.
            config = RoundsConfig(
                out=out, base=self.base(seed, epochs=5, log_interval=100),
                neg_test=[os.path.join(self.data, 'negatives', 'test')],
                pool=[os.path.join(self.data, 'negatives', 'pool')], rounds=rounds,
                retrain='finetune', finetune_epochs=epochs, finetune_lr=FINETUNE_LR,
                init=init_params, early_stop=False, progress=False)
            self.pool.submit(_rounds_job, config, out + '.log').result()
        with open(history_path) as f:
            return json.load(f)

    def control(self, out, init_params, rounds, epochs, seed):
        """The mining rounds' fine-tuning without mined images: separates "more training" from
        "more negatives". One metrics dict per round k = 1 .. rounds."""
        results, init = [], init_params
        for k in range(1, rounds + 1):
            metrics, prefix = self.train(os.path.join(out, 'round_{}'.format(k)), seed,
                                         init=init, lr=FINETUNE_LR, epochs=epochs)
            results.append(metrics)
            init = prefix + '_best.params'  # as the rounds tool continues from
        return results


def mean_std(values):
    values = [v for v in values if v is not None]
    if not values:
        return '-'
    if len(values) == 1:
        return '{:.3f}'.format(values[0])
    return '{:.3f} ± {:.3f}'.format(statistics.mean(values), statistics.stdev(values))


def run_dir(work, label, seed):
    return os.path.join(work, label.replace(' ', '').replace(',', '_'), 'seed{}'.format(seed))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--data', default='', help='demo data folder (default: WORK/demo_data)')
    parser.add_argument('--work', default=os.path.join('runs', 'accuracy'),
                        help='checkpoints and logs; finished runs found here are reused')
    parser.add_argument('--out', default=os.path.join(HERE, 'ACCURACY.md'))
    parser.add_argument('--epochs', type=int, default=4, help='epochs per policy run')
    parser.add_argument('--seeds', default='0,1,2')
    parser.add_argument('--policies', default='',
                        help="labels separated by ';', e.g. 'drop;ignore, iof' (default: all)")
    parser.add_argument('--mining-rounds', type=int, default=3)
    parser.add_argument('--mining-epochs', type=int, default=1,
                        help='fine-tuning epochs per mining round')
    parser.add_argument('--jobs', type=int, default=2, help='trainings run side by side')
    parser.add_argument('--num-workers', type=int, default=1, help='data-loader workers per job')
    args = parser.parse_args(argv)
    start = time.time()
    data = args.data or os.path.join(args.work, 'demo_data')
    if not is_complete_output(data):
        generate_demo_dataset(data, seed=0, progress=False)
    seeds = [int(s) for s in args.seeds.split(',') if s.strip()]
    wanted = [w.strip() for w in args.policies.split(';') if w.strip()]
    unknown = set(wanted) - {label for label, _ in POLICIES}
    if unknown:
        parser.error('unknown policies {}; choose from {}'.format(
            sorted(unknown), '; '.join(label for label, _ in POLICIES)))
    chosen = [p for p in POLICIES if p[0] in wanted] if wanted else POLICIES
    runner = Runner(data, args.num_workers, max(1, (os.cpu_count() or 1) // args.jobs),
                    args.jobs)

    def policy_run(label, hard, seed):
        tic = time.time()
        metrics, prefix = runner.train(run_dir(args.work, label, seed), seed, hard=hard,
                                       **schedule(args.epochs))
        print('{} seed {}: {} ({:.0f} s)'.format(label, seed, {
            k: metrics[k] for k, _ in METRICS}, time.time() - tic), flush=True)
        return metrics, prefix

    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = {(label, seed): pool.submit(policy_run, label, hard, seed)
                   for label, hard in chosen for seed in seeds}
        done = {key: future.result() for key, future in futures.items()}
    rows = [[label] + [mean_std([done[label, seed][0][key] for seed in seeds])
                       for key, _ in METRICS] for label, _ in chosen]
    lines = ['# Accuracy of hard-box policies and hard negative mining (demo data)', '',
             'Command: `python bench/accuracy.py --epochs {} --seeds {} --jobs {}`. {}'.format(
                 args.epochs, args.seeds, args.jobs, machine_info()), '',
             'Tiny network trained from scratch for {} epochs per run on the 240 demo training '
             'scenes; final epoch evaluated on the 80 validation scenes (hard faces ignored) and '
             'on the 60 held-out negative scenes (false detections at score >= 0.5). Mean ± std '
             'over seeds {}.'.format(args.epochs, args.seeds), '',
             markdown_table(['policy'] + [title for _, title in METRICS], rows), '']
    policy_minutes = (time.time() - start) / 60

    if args.mining_rounds and (MINING_FROM, seeds[0]) in done:
        init = done[MINING_FROM, seeds[0]][1] + '_last.params'
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            history = pool.submit(runner.mining, os.path.join(args.work, 'mining'), init,
                                  args.mining_rounds, args.mining_epochs, seeds[0])
            control = pool.submit(runner.control, os.path.join(args.work, 'control'), init,
                                  args.mining_rounds, args.mining_epochs, seeds[0])
            history, control = history.result(), control.result()
        # Round 0 is the same checkpoint, evaluated by the rounds tool.
        control = [history['rounds'][0]] + control
        plot_rounds(history, control, os.path.splitext(args.out)[0] + '_mining.png')
        lines += ['## Hard negative mining rounds from the `{}` model (seed {})'.format(
            MINING_FROM, seeds[0]), '',
                  'Each round mines {} images ({:.0%} of the training set) from the {} pool '
                  'scenes and fine-tunes the previous round\'s model for {} epoch(s) at a tenth '
                  'of the learning rate with every image mined so far. The control columns '
                  'fine-tune the same way without mined images.'.format(
                      history['num_per_round'], history['num_per_round'] / history['train_size'],
                      history['pool_size'], args.mining_epochs),
                  '', format_history(history, control), '',
                  '![mining rounds and control]({}_mining.png)'.format(
                      os.path.splitext(os.path.basename(args.out))[0]), '']
    total_minutes = (time.time() - start) / 60
    lines.append('Total time: {:.0f} min ({:.0f} min data and policy runs, {:.0f} min mining '
                 'rounds and control, {} jobs side by side). Runs already finished in the work '
                 'folder are reused, so this is the full cost only when it starts empty.'.format(
                     total_minutes, policy_minutes, total_minutes - policy_minutes, args.jobs))
    text = '\n'.join(lines) + '\n'
    write_text_atomic(args.out, text)
    print(text)
    runner.pool.shutdown()


def format_history(history, control_rounds):
    rows = []
    for entry, plain in zip(history['rounds'], control_rounds):
        rows.append([entry['round'], entry['num_negatives_trained'], _num(entry.get('voc07_map')),
                     _num(entry.get('neg_false_per_image')), entry.get('neg_false_detections'),
                     _num(plain['voc07_map']), _num(plain['neg_false_per_image'])])
    return markdown_table(['round', 'mined negatives (total)', 'VOC07 mAP',
                           'false det./image', 'false det. total', 'control: VOC07 mAP',
                           'control: false det./image'], rows)


def plot_rounds(history, control, path):
    """Mining rounds against the control: VOC07 mAP (top) and false detections per negative
    image (bottom) per round, as a PNG."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from gluoncv_hard.utils.atomic import write_bytes_atomic
    figure = Figure(figsize=(6.4, 4.8), dpi=100)
    FigureCanvasAgg(figure)
    top, bottom = figure.subplots(2, 1, sharex=True)
    rounds = list(range(len(control)))
    for axis, key, title in ((top, 'voc07_map', 'VOC07 mAP\n(hard ignored)'),
                             (bottom, 'neg_false_per_image',
                              'false det. / image\n(score >= 0.5)')):
        axis.plot(rounds, [r[key] for r in history['rounds']], 'o-', color='tab:red',
                  label='with mined negatives')
        axis.plot(rounds, [r[key] for r in control], 's--', color='tab:gray',
                  label='control: same fine-tuning, no mined images')
        axis.set_ylabel(title, fontsize=9)
        axis.grid(alpha=0.3)
    top.legend(loc='best', fontsize=8)
    bottom.set_xticks(rounds)
    bottom.set_xlabel('round (0 = the ignore, iof model before mining)')
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format='png')
    write_bytes_atomic(path, buffer.getvalue())


def _num(value):
    return '-' if value is None else '{:.3f}'.format(value)


if __name__ == '__main__':
    main()
