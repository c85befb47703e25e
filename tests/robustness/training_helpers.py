"""Shared pieces of the training side of the robustness suite: command lines, file checks."""
import glob
import os
import pickle
import subprocess
import sys

import mxnet as mx
import numpy as np

from gluoncv_hard.utils.atomic import parse_temp_name

TRAIN_MODULE = 'gluoncv_hard.cli.train'


def train_args(demo, prefix, *extra, epochs=2, lr=0.01, seed=233):
    """Flags of a small real training of the tiny network on the demo data."""
    return ['--network', 'tiny', '--dataset', 'voc', '--data-root', demo, '--train', 'train',
            '--val', 'val', '--num-workers', '0', '--log-interval', '0', '--epochs', str(epochs),
            '--lr', str(lr), '--seed', str(seed), '--save-prefix', prefix,
            '--save-interval', '1'] + list(extra)


def start_training(args, **kwargs):
    """``python -m gluoncv_hard.cli.train ARGS`` as a real process (stdout/stderr piped)."""
    return subprocess.Popen([sys.executable, '-m', TRAIN_MODULE] + list(args),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def temps_in(folder):
    """Temporary files of :mod:`gluoncv_hard.utils.atomic` (or any dot-file ending in .tmp)."""
    return sorted(name for name in os.listdir(folder)
                  if parse_temp_name(name) or (name.startswith('.') and name.endswith('.tmp')))


def non_finite_values(folder):
    """``{file: count}`` of NaN/inf values in every .params/.states and every JSON number."""
    found = {}
    for path in sorted(glob.glob(os.path.join(folder, '*'))):
        if path.endswith(('.params', '.states')):
            loaded = mx.nd.load(path)
            arrays = loaded.values() if isinstance(loaded, dict) else loaded
            bad = sum(int((~np.isfinite(a.asnumpy().astype(np.float64))).sum()) for a in arrays)
        elif path.endswith(('.json', '.jsonl')):
            with open(path) as f:
                text = f.read()
            bad = sum(text.count(word) for word in ('NaN', 'Infinity'))
        else:
            continue
        if bad:
            found[os.path.basename(path)] = bad
    return found


def snapshot(folder):
    """``{name: bytes}`` of the regular files in ``folder`` (logs excluded)."""
    result = {}
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if os.path.isfile(path) and not name.endswith('_train.log'):
            with open(path, 'rb') as f:
                result[name] = f.read()
    return result


class Payload:
    """Unpickling this creates the file ``marker``: proof that loading a file ran code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, 'w'))


def write_pickle_payload(path, marker):
    with open(path, 'wb') as f:
        pickle.dump(Payload(marker), f, protocol=2)
