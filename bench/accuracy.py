"""Accuracy evidence on the demo data: hard-box policies with paired seeds, and a mining scenario.

    python bench/accuracy.py [--seeds 0,1,2,3,4] [--configs all] [--jobs 2]
                             [--parts policies,mining] [--work runs/accuracy]
                             [--out bench/ACCURACY.md]

**Policies** (``--parts policies``). For every seed, every configuration of
:data:`DEFAULT_CONFIGS` (``positive``, ``drop``, ``ignore, iof``), or with ``--configs all``
of :data:`CONFIGS` (also ``iou``/``iou_or_iof``, both precedences and the online options on
``ignore, iof``), trains the tiny network (by default 1 epoch of 600 scenes from the pretrained
backbone) with the same seed, so each seed gives every configuration the same initialization
and the same data order (the trainer seeds
MXNet and NumPy from it before building the network, and draws the epoch order and every
image's augmentation from ``(seed, epoch, index)``). The final epoch is evaluated (not the best
one: choosing an epoch on the validation set would flatter every configuration) on the bench's
validation scenes (VOC07 mAP and COCO AP, hard faces ignored), on its held-out negative scenes
(false detections per image at score >= 0.5), and on the hard faces themselves (the fraction
with a confident detection: what a labeller who marked them "hard" trades). Every number comes
with a 95% interval: over images (bootstrap) for one run, over seeds and images together
(two-level bootstrap, `gluoncv_hard.evaluation.bootstrap.paired_bootstrap_over_runs`) for the
mean paired difference against ``positive``.

**Mining** (``--parts mining``). A second demo data set keeps
:data:`gluoncv_hard.demo.sources.MINING_HELDOUT_BACKGROUNDS` out of the scenes with faces; the
mining pool and the held-out negative test scenes are cut from those backgrounds only. A model
trained on it (``ignore, iof``, first seed) goes through ``--mining-rounds`` rounds of
``gluoncv-hard-mining-rounds`` (mine the pool, fine-tune with the mined images), and a control
fine-tunes the same way without mined images. Every round's checkpoint is evaluated with
intervals.

Every training runs in a fresh worker process (``multiprocessing``, spawn) that calls
``gluoncv_hard.engine.trainer.train(config)`` (or the rounds loop), ``--jobs`` at a time, each
with ``cpu_count // jobs`` MXNet threads. Finished runs (their predictions, ``predictions.npz``)
are reused: an interrupted bench continues where it stopped.
"""
import argparse
import concurrent.futures
import contextlib
import json
import multiprocessing
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import machine_info, markdown_table  # noqa: E402

from gluoncv_hard.core.config import HardConfig  # noqa: E402
from gluoncv_hard.demo import generate_demo_dataset, is_complete_output  # noqa: E402
from gluoncv_hard.utils.atomic import atomic_outputs, write_text_atomic  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BASELINE = 'positive (stock)'
# (label, hard-box settings, other training settings)
CONFIGS = [
    (BASELINE, HardConfig(policy='positive'), {}),
    ('drop', HardConfig(policy='drop'), {}),
    ('ignore, iof', HardConfig(policy='ignore', overlap='iof'), {}),
    ('ignore, iof, ignore_wins',
     HardConfig(policy='ignore', overlap='iof', precedence='ignore_wins'), {}),
    ('ignore, iou', HardConfig(policy='ignore', overlap='iou'), {}),
    ('ignore, iou, ignore_wins',
     HardConfig(policy='ignore', overlap='iou', precedence='ignore_wins'), {}),
    ('ignore, iou_or_iof', HardConfig(policy='ignore', overlap='iou_or_iof'), {}),
    ('ignore, iou_or_iof, ignore_wins',
     HardConfig(policy='ignore', overlap='iou_or_iof', precedence='ignore_wins'), {}),
    ('ignore, iof + RPN OHEM', HardConfig(), dict(rpn_neg_mining='ohem')),
    ('ignore, iof + RCNN OHEM', HardConfig(), dict(rcnn_sampler='ohem')),
    ('ignore, iof + RPN focal', HardConfig(), dict(rpn_loss='focal')),
]
# What the bench runs unless --configs names others ('all': every configuration): the three
# policies on 5 seeds (15 runs of about 3.5 min on one core), the mining part (about 40 min of
# one core) and bench/audit_accuracy.py (about 40 min) make about 90 minutes on 2 cores. Every
# other configuration adds 5 runs.
DEFAULT_CONFIGS = (BASELINE, 'drop', 'ignore, iof')
MINING_FROM = 'ignore, iof'
# (metric of gluoncv_hard.evaluation.bootstrap, column title, digits)
METRICS = (
    ('positive_images/voc07/mAP', 'VOC07 mAP', 3),
    ('positive_images/coco/AP', 'COCO AP', 3),
    ('negative_images/mean_per_image', 'false det./neg. image', 3),
    ('hard_boxes/confident_detection_rate', 'hard faces detected', 3),
)
RESAMPLES = 1000
# Bench data: the demo's training scenes, and evaluation sets large enough to resolve ~0.01.
BENCH_COUNTS = dict(n_val=400, n_negatives_test=200, n_negatives_pool=0)
MINING_COUNTS = dict(n_val=400, n_negatives_test=200, n_negatives_pool=300)


def _schedule(epochs, lr):
    """The demo's schedule shape: warm-up, and x0.1 for the last fifth: of the iterations for one
    epoch, of the epochs (at least the last one) for more. An undecayed end point is noisy: at a
    constant lr 0.02 after 1 epoch, false detections per negative image ranged 0.3-1.8 over
    3 seeds of one configuration."""
    decay = float(epochs - max(1, round(epochs * 0.2))) if epochs > 1 else 0.8
    return dict(epochs=epochs, lr=lr, lr_warmup=100, lr_decay_epoch=(decay,),
                val_interval=epochs)


@contextlib.contextmanager
def _output_to(log_path):
    """Send this process's stdout and stderr (file descriptors too: MXNet writes there) to
    ``log_path``; a worker runs one job, so nothing else shares them.

    Also makes the worker's own data loaders fork: a process started by ``spawn`` inherits
    ``spawn`` as its default start method, and MXNet's DataLoader workers started that way get
    the data set's NDArrays through shared memory that they cannot map ("Failed to map shared
    memory ... Permission denied").
    """
    import warnings
    multiprocessing.set_start_method('fork', force=True)
    warnings.simplefilter('ignore')
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


def save_predictions(params, data_root, neg_test, path, num_workers):
    """Run checkpoint ``params`` over the val scenes and the negatives; save every image's
    detections and labels as plain arrays (``.npz``, no pickle) at ``path``."""
    import mxnet as mx

    from gluoncv_hard.data import ConcatDetection
    from gluoncv_hard.data.datasets import open_dataset, open_negatives
    from gluoncv_hard.engine.networks import load_trained_network
    from gluoncv_hard.engine.predict import predict_dataset
    ctx = [mx.cpu()]
    net, _ = load_trained_network(params, ctx)
    net.hybridize(static_alloc=True)
    arrays = {}
    ids = []
    for name, data, negative in (
            ('val', open_dataset('voc', 'val', data_root, list(net.classes))[0], False),
            ('neg', ConcatDetection([open_negatives(neg_test)]), True)):
        for p in predict_dataset(net, data, ctx, num_workers=num_workers):
            key = len(ids)
            ids.append('{}:{}'.format(name, data.image_id(p.index)))
            arrays['boxes_{}'.format(key)] = np.asarray(p.boxes, np.float64).reshape(-1, 4)
            arrays['scores_{}'.format(key)] = np.asarray(p.scores, np.float64).reshape(-1)
            arrays['labels_{}'.format(key)] = np.asarray(p.labels, np.int64).reshape(-1)
            arrays['gt_{}'.format(key)] = (np.zeros((0, 6), np.float32) if negative else
                                          np.asarray(p.gt_label, np.float32).reshape(-1, 6))
    arrays['image_ids'] = np.array(ids)
    arrays['classes'] = np.array(list(net.classes))
    with atomic_outputs(path) as (temp,):
        with open(temp, 'wb') as f:
            np.savez_compressed(f, **arrays)


def load_table(path):
    """The `OutcomeTable` of a predictions file written by :func:`save_predictions`."""
    from gluoncv_hard.evaluation import DetectionEvaluator
    with np.load(path, allow_pickle=False) as f:
        evaluator = DetectionEvaluator([str(c) for c in f['classes']])
        for key, image_id in enumerate(f['image_ids']):
            gt = f['gt_{}'.format(key)]
            evaluator.update(str(image_id), f['boxes_{}'.format(key)],
                             f['scores_{}'.format(key)], f['labels_{}'.format(key)],
                             gt if len(gt) else None)
    return evaluator.outcome_table()


def _train_job(config, log_path, data_root, neg_test, predictions, num_workers):
    """Worker: one training run, then the predictions of its last checkpoint."""
    from gluoncv_hard.engine.trainer import train
    with _output_to(log_path):
        result = train(config)
        save_predictions(result.last, data_root, neg_test, predictions, num_workers)


def _rounds_job(config, log_path):
    """Worker: the mining rounds loop."""
    from gluoncv_hard.mining.loop import run_rounds
    with _output_to(log_path):
        run_rounds(config)


def _predict_job(params, data_root, neg_test, predictions, num_workers, log_path):
    """Worker: the predictions of one checkpoint."""
    with _output_to(log_path):
        save_predictions(params, data_root, neg_test, predictions, num_workers)


def _die_with_parent():
    """Worker initializer: a thread that sends this worker SIGTERM once the bench process that
    started it is gone (polled every 2 s), so a killed bench leaves no training running on into
    its work folder (the trainer stops on SIGTERM without leaving a temporary file). Polling the
    parent's pid rather than ``PR_SET_PDEATHSIG``: that one fires when the *thread* that spawned
    the worker ends, and the bench spawns workers from threads that end before the pool does."""
    import signal
    import threading
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(2.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name='bench-parent-watch', daemon=True).start()


class Runner:
    """Runs trainings in worker processes with a fixed number of MXNet threads each."""

    def __init__(self, workers, threads, jobs, pretrained_base=True):
        self.workers, self.pretrained_base = workers, pretrained_base
        # Set before the spawned workers start, so MXNet reads them when they import it.
        os.environ.update(OMP_NUM_THREADS=str(threads), MXNET_CPU_WORKER_NTHREADS=str(threads))
        self.pool = concurrent.futures.ProcessPoolExecutor(
            jobs, mp_context=multiprocessing.get_context('spawn'), max_tasks_per_child=1,
            initializer=_die_with_parent)

    def base(self, data_root, seed, **settings):
        """The training every run shares: the tiny network on a demo data set."""
        from gluoncv_hard.engine.config import TrainConfig
        return TrainConfig.create(**dict(dict(
            network='tiny', pretrained_base=self.pretrained_base, dataset='voc',
            data_root=data_root, train='train', val='val',
            neg_val=[os.path.join(data_root, 'negatives', 'test')], seed=seed,
            num_workers=self.workers, save_interval=0, log_interval=0), **settings))

    def train(self, out, data_root, seed, hard=None, **settings):
        """The predictions file of one training run (trained unless already there with the
        same settings: ``settings.json`` holds the run's train flags, and a run folder trained
        with others stops the bench rather than being reported under these)."""
        predictions = os.path.join(out, 'predictions.npz')
        # No validation inside the training: the predictions below evaluate the final epoch.
        config = self.base(data_root, seed, save_prefix=os.path.join(out, 'run'), val='',
                           neg_val=(), **settings)
        if hard is not None:
            config = config.replace(hard=hard)
        flags = config.to_flags(skip=('num_workers',))
        settings_path = os.path.join(out, 'settings.json')
        if os.path.isfile(settings_path):
            with open(settings_path) as f:
                recorded = json.load(f).get('flags')
            if recorded != flags:
                raise SystemExit(
                    '{} was trained with other settings ({}) than this bench asks for ({}): '
                    'give another --work, or delete the folder to train it again'.format(
                        out, ' '.join(recorded or []), ' '.join(flags)))
        if not os.path.isfile(predictions):
            os.makedirs(out, exist_ok=True)
            write_text_atomic(settings_path, json.dumps({'flags': flags}, indent=1) + '\n')
            self.pool.submit(_train_job, config, os.path.join(out, 'output.log'), data_root,
                             os.path.join(data_root, 'negatives', 'test'), predictions,
                             self.workers).result()
        return predictions

    def predict(self, params, data_root, predictions):
        if not os.path.isfile(predictions):
            self.pool.submit(_predict_job, params, data_root,
                             os.path.join(data_root, 'negatives', 'test'), predictions,
                             self.workers, predictions + '.log').result()
        return predictions

    def mining(self, out, data_root, init_params, rounds, epochs, lr, seed):
        """Mining rounds fine-tuning from ``init_params``; returns the rounds loop's history."""
        from gluoncv_hard.mining.rounds import RoundsConfig
        history_path = os.path.join(out, 'history.json')
        if not os.path.isfile(history_path):
            config = RoundsConfig(
                out=out, base=self.base(data_root, seed, epochs=1, log_interval=100),
                neg_test=[os.path.join(data_root, 'negatives', 'test')],
                pool=[os.path.join(data_root, 'negatives', 'pool')], rounds=rounds,
                retrain='finetune', finetune_epochs=epochs, finetune_lr=lr,
                init=init_params, early_stop=False, progress=False)
            self.pool.submit(_rounds_job, config, out + '.log').result()
        with open(history_path) as f:
            return json.load(f)


def run_dir(work, label, seed):
    name = ''.join(c if c.isalnum() else '_' for c in label).strip('_')
    return os.path.join(work, name, 'seed{}'.format(seed))


def _fmt(value, digits):
    return '-' if value is None else '{:.{d}f}'.format(value, d=digits)


def _interval(entry, key, digits):
    """``value [low, high]`` of one interval entry."""
    if entry is None or entry.get(key) is None:
        return '-'
    return '{} [{}, {}]'.format(_fmt(entry[key], digits), _fmt(entry['low'], digits),
                                _fmt(entry['high'], digits))


def policy_section(tables, labels, seeds, args):
    """Markdown of the policy ablation: per configuration the mean over seeds of every metric,
    and its paired difference against the baseline with the two-level interval."""
    from gluoncv_hard.evaluation.bootstrap import (
        bootstrap_intervals,
        paired_bootstrap_over_runs,
    )
    mean_rows, diff_rows = [], []
    for label in labels:
        per_seed = [bootstrap_intervals(tables[label, s], num_resamples=RESAMPLES, seed=s)
                    for s in seeds]
        row = [label]
        for metric, _, digits in METRICS:
            values = [entry[metric]['value'] for entry in per_seed
                      if entry.get(metric) and entry[metric]['value'] is not None]
            row.append('{} ± {}'.format(_fmt(np.mean(values), digits),
                                        _fmt(np.std(values, ddof=1) if len(values) > 1 else 0,
                                             digits)) if values else '-')
        mean_rows.append(row)
        if label == BASELINE:
            continue
        paired = paired_bootstrap_over_runs(
            [(tables[BASELINE, s], tables[label, s]) for s in seeds], num_resamples=RESAMPLES,
            seed=0)
        diff_rows.append([label] + [_interval(paired.get(metric), 'difference', digits)
                                    for metric, _, digits in METRICS])
    single = bootstrap_intervals(tables[labels[0], seeds[0]], num_resamples=RESAMPLES, seed=0)
    widths = ', '.join('{} ±{:.3f}'.format(title, (single[m]['high'] - single[m]['low']) / 2)
                       for m, title, _ in METRICS
                       if single.get(m) and single[m]['low'] is not None)
    titles = [title for _, title, _ in METRICS]
    return [
        '## Hard-box policies{}, paired seeds'.format(
            ' and online mining' if any('+' in label for label in labels) else ''), '',
        'Tiny network ({}), {} epoch(s) of {} demo training scenes per run (lr {}), seeds {}; '
        'the final epoch evaluated on {} validation scenes and {} negative scenes. Mean ± '
        'standard deviation over seeds:'.format(
            'backbone from scratch' if args.from_scratch else 'from the pretrained backbone',
            args.epochs, args.n_train, args.lr, args.seeds, args.n_val, args.n_negatives), '',
        markdown_table(['configuration'] + titles, mean_rows), '',
        'One run\'s 95% bootstrap interval over images is about {} (half widths, first '
        'configuration and seed).'.format(widths), '',
        'Mean paired difference against `{}` (same seed: same initialization and data order), '
        'with its 95% interval over seeds and images together ({} resamples). An interval that '
        'excludes 0 is a difference this bench resolves:'.format(BASELINE, RESAMPLES), '',
        markdown_table(['configuration'] + ['Δ ' + t for t in titles], diff_rows), '']


def mining_section(history, round_tables, control_tables, args):
    """Markdown of the mining scenario; every round with intervals."""
    from gluoncv_hard.evaluation.bootstrap import bootstrap_intervals, paired_bootstrap
    rows = []
    for k, (mined, plain) in enumerate(zip(round_tables, control_tables)):
        a = bootstrap_intervals(mined, num_resamples=RESAMPLES, seed=k)
        b = bootstrap_intervals(plain, num_resamples=RESAMPLES, seed=k)
        versus = paired_bootstrap(plain, mined, num_resamples=RESAMPLES, seed=k)
        rows.append([k, history['rounds'][k]['num_negatives_trained'],
                     _interval(a['positive_images/voc07/mAP'], 'value', 3),
                     _interval(a['negative_images/mean_per_image'], 'value', 3),
                     _interval(b['positive_images/voc07/mAP'], 'value', 3),
                     _interval(b['negative_images/mean_per_image'], 'value', 3),
                     _interval(versus['negative_images/mean_per_image'], 'difference', 3)])
    from gluoncv_hard.demo.sources import MINING_HELDOUT_BACKGROUNDS
    return [
        '## Hard negative mining where it should matter', '',
        'Backgrounds {} are held out of the scenes with faces; the {} pool scenes and the {} '
        'held-out negative scenes are cut from them only. Round 0 is the `{}` model of seed {} '
        'trained on this data set ({} epoch(s) of {} scenes, lr {}, x0.1 for the last fifth); '
        'each round mines {} pool images and fine-tunes the previous round\'s model for {} '
        'epoch(s) at lr {} with every image mined so far. The control fine-tunes the same way '
        'without mined images. 95% intervals over images.'.format(
            ', '.join(MINING_HELDOUT_BACKGROUNDS), args.n_pool, args.n_negatives, MINING_FROM,
            args.seed_list[0], args.mining_base_epochs, args.n_train, args.lr,
            history['num_per_round'], args.mining_epochs, args.mining_lr), '',
        markdown_table(['round', 'mined negatives (total)', 'VOC07 mAP', 'false det./neg. image',
                        'control: VOC07 mAP', 'control: false det./neg. image',
                        'Δ false det. (mined − control)'], rows), '',
        '![mining rounds and control]({}_mining.png)'.format(
            os.path.splitext(os.path.basename(args.out))[0]), '']


def plot_rounds(round_tables, control_tables, path):
    """VOC07 mAP (top) and false detections per negative image (bottom) per round, with 95%
    intervals, mined against control, as a PNG."""
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from gluoncv_hard.evaluation.bootstrap import bootstrap_intervals
    from gluoncv_hard.utils.atomic import write_bytes_atomic
    figure = Figure(figsize=(6.4, 4.8), dpi=100)
    FigureCanvasAgg(figure)
    top, bottom = figure.subplots(2, 1, sharex=True)
    rounds = np.arange(len(round_tables))
    for tables, style, color, name in ((round_tables, 'o-', 'tab:red', 'with mined negatives'),
                                       (control_tables, 's--', 'tab:gray',
                                        'control: same fine-tuning, no mined images')):
        entries = [bootstrap_intervals(t, num_resamples=RESAMPLES, seed=k)
                   for k, t in enumerate(tables)]
        for axis, key in ((top, 'positive_images/voc07/mAP'),
                          (bottom, 'negative_images/mean_per_image')):
            values = np.array([e[key]['value'] for e in entries])
            errors = np.array([[e[key]['value'] - e[key]['low'], e[key]['high'] - e[key]['value']]
                               for e in entries]).T
            axis.errorbar(rounds, values, yerr=errors, fmt=style, color=color, capsize=3,
                          label=name)
    top.set_ylabel('VOC07 mAP\n(hard ignored)', fontsize=9)
    bottom.set_ylabel('false det. / neg. image\n(score >= 0.5)', fontsize=9)
    for axis in (top, bottom):
        axis.grid(alpha=0.3)
    top.legend(loc='best', fontsize=8)
    bottom.set_xticks(rounds)
    bottom.set_xlabel('round (0 = the model before mining)')
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format='png')
    write_bytes_atomic(path, buffer.getvalue())


def _data(path, **counts):
    if not is_complete_output(path):
        generate_demo_dataset(path, seed=0, progress=False, **counts)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--work', default=os.path.join('runs', 'accuracy'),
                        help='data, checkpoints and predictions; finished runs are reused')
    parser.add_argument('--out', default=os.path.join(HERE, 'ACCURACY.md'))
    parser.add_argument('--parts', default='policies,mining', help='policies and/or mining')
    parser.add_argument('--epochs', type=int, default=1, help='epochs per policy run')
    parser.add_argument('--lr', type=float, default=0.02)
    parser.add_argument('--n-train', type=int, default=600, help='training scenes')
    parser.add_argument('--n-val', type=int, default=BENCH_COUNTS['n_val'],
                        help='validation scenes (also of the mining data set)')
    parser.add_argument('--n-negatives', type=int, default=BENCH_COUNTS['n_negatives_test'],
                        help='held-out negative scenes (also of the mining data set)')
    parser.add_argument('--n-pool', type=int, default=MINING_COUNTS['n_negatives_pool'],
                        help='mining pool scenes')
    parser.add_argument('--seeds', default='0,1,2,3,4')
    parser.add_argument('--configs', default=';'.join(DEFAULT_CONFIGS),
                        help="labels separated by ';', or 'all' (every one of CONFIGS)")
    parser.add_argument('--mining-rounds', type=int, default=3)
    parser.add_argument('--mining-base-epochs', type=int, default=2,
                        help='epochs of the model before mining (x0.1 lr for the last: it ends '
                             'at the fine-tuning lr)')
    parser.add_argument('--mining-epochs', type=int, default=1,
                        help='fine-tuning epochs per mining round')
    parser.add_argument('--mining-lr', type=float, default=0.002)
    parser.add_argument('--from-scratch', action='store_true',
                        help='train the backbone from scratch (default: from the shipped '
                             'pretrained backbone, as the demo does)')
    parser.add_argument('--jobs', type=int, default=2, help='trainings run side by side')
    parser.add_argument('--num-workers', type=int, default=1, help='data-loader workers per job')
    parser.add_argument('--threads', type=int, default=None,
                        help='MXNet threads per job (default: cores // jobs)')
    args = parser.parse_args(argv)
    start = time.time()
    args.seed_list = [int(s) for s in args.seeds.split(',') if s.strip()]
    parts = {p.strip() for p in args.parts.split(',') if p.strip()}
    if parts - {'policies', 'mining'}:
        parser.error('--parts takes policies and/or mining')
    known = [label for label, _, _ in CONFIGS]
    wanted = known if args.configs.strip() == 'all' else [
        w.strip() for w in args.configs.split(';') if w.strip()]
    if set(wanted) - set(known):
        parser.error('unknown configurations {}; choose from {}'.format(
            sorted(set(wanted) - set(known)), '; '.join(known)))
    chosen = [c for c in CONFIGS if c[0] in wanted]
    if BASELINE not in [c[0] for c in chosen]:
        chosen.insert(0, CONFIGS[0])
    threads = args.threads or max(1, (os.cpu_count() or 1) // args.jobs)
    runner = Runner(args.num_workers, threads, args.jobs,
                    pretrained_base=not args.from_scratch)
    schedule = _schedule(args.epochs, args.lr)
    lines = ['# Accuracy evidence on the demo data', '',
             'Command: `python bench/accuracy.py {}`. {}'.format(
                 ' '.join(argv if argv is not None else sys.argv[1:]), machine_info()), '']
    minutes = {}

    if 'policies' in parts:
        tic = time.time()
        data = _data(os.path.join(args.work, 'demo_data'), n_train=args.n_train,
                     n_val=args.n_val, n_negatives_test=args.n_negatives, n_negatives_pool=0)

        def policy_run(label, hard, settings, seed):
            t0 = time.time()
            path = runner.train(run_dir(args.work, label, seed), data, seed, hard=hard,
                                **dict(schedule, **settings))
            print('{} seed {}: done ({:.0f} s)'.format(label, seed, time.time() - t0),
                  flush=True)
            return path

        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            # Seed-major order: a stopped bench has whole seeds to compare.
            futures = {(label, seed): pool.submit(policy_run, label, hard, settings, seed)
                       for seed in args.seed_list for label, hard, settings in chosen}
            tables = {key: load_table(future.result()) for key, future in futures.items()}
        lines += policy_section(tables, [c[0] for c in chosen], args.seed_list, args)
        minutes['policies'] = (time.time() - tic) / 60

    if 'mining' in parts and args.mining_rounds:
        from gluoncv_hard.demo.sources import MINING_HELDOUT_BACKGROUNDS
        tic = time.time()
        data = _data(os.path.join(args.work, 'demo_heldout'), n_train=args.n_train,
                     heldout_backgrounds=MINING_HELDOUT_BACKGROUNDS, n_val=args.n_val,
                     n_negatives_test=args.n_negatives, n_negatives_pool=args.n_pool)
        seed = args.seed_list[0]
        base_dir = run_dir(os.path.join(args.work, 'mining'), 'base', seed)
        # The base ends at the fine-tuning lr, so a round gains nothing the control cannot.
        runner.train(base_dir, data, seed, hard=HardConfig(),
                     **_schedule(args.mining_base_epochs, args.lr))
        init = os.path.join(base_dir, 'run_last.params')
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            history = pool.submit(runner.mining, os.path.join(args.work, 'mining', 'rounds'),
                                  data, init, args.mining_rounds, args.mining_epochs,
                                  args.mining_lr, seed)
            control_params = []

            def control():
                previous = init
                for k in range(1, args.mining_rounds + 1):
                    out = os.path.join(args.work, 'mining', 'control', 'round_{}'.format(k))
                    runner.train(out, data, seed, init=previous, lr=args.mining_lr,
                                 epochs=args.mining_epochs, lr_warmup=0,
                                 lr_decay_epoch=(args.mining_epochs + 1.0,),
                                 val_interval=args.mining_epochs)
                    previous = os.path.join(out, 'run_last.params')
                    control_params.append(previous)
            pool.submit(control).result()
            history = history.result()
        round_tables = [load_table(os.path.join(base_dir, 'predictions.npz'))]
        for entry in history['rounds'][1:]:
            path = os.path.join(args.work, 'mining', 'rounds',
                                'round_{}_predictions.npz'.format(entry['round']))
            round_tables.append(load_table(runner.predict(entry['checkpoint'], data, path)))
        control_tables = [round_tables[0]] + [
            load_table(os.path.join(os.path.dirname(p), 'predictions.npz'))
            for p in control_params]
        plot_rounds(round_tables, control_tables, os.path.splitext(args.out)[0] + '_mining.png')
        lines += mining_section(history, round_tables, control_tables, args)
        minutes['mining'] = (time.time() - tic) / 60

    lines.append('Total time: {:.0f} min ({}; {} jobs side by side). Runs already finished in '
                 'the work folder are reused, so this is the full cost only when it starts '
                 'empty.'.format((time.time() - start) / 60, ', '.join(
                     '{} {:.0f} min'.format(k, v) for k, v in minutes.items()), args.jobs))
    text = '\n'.join(lines) + '\n'
    write_text_atomic(args.out, text)
    print(text)
    runner.pool.shutdown()


if __name__ == '__main__':
    main()
