"""Helpers shared by the benchmark scripts: timing side by side, machine info, tables."""
import os
import platform
import statistics
import time


def machine_info():
    from importlib import metadata

    import mxnet as mx
    import numpy as np
    cpu = platform.processor() or platform.machine()
    try:
        with open('/proc/cpuinfo') as f:
            names = [line.split(':', 1)[1].strip() for line in f
                     if line.startswith('model name')]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return ('{}, {} cores, Python {}, MXNet {}, GluonCV {}, NumPy {}'.format(
        cpu, os.cpu_count(), platform.python_version(), mx.__version__,
        # gluoncv 0.10.5.post0 reports 0.11.0 in __version__; the distribution is the truth.
        metadata.version('gluoncv'), np.__version__))


def time_per_call(fn, calls):
    """Seconds per call of ``fn()`` averaged over ``calls`` calls."""
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def side_by_side(baseline, candidate, repeats, calls):
    """Interleave the two so machine load hits both alike; returns per-repeat times."""
    baseline()
    candidate()  # warm-up: caches, lazy initialisation
    base_t, cand_t = [], []
    for _ in range(repeats):
        base_t.append(time_per_call(baseline, calls))
        cand_t.append(time_per_call(candidate, calls))
    return base_t, cand_t


def ratio_summary(numerators, denominators):
    """``(min, median, max)`` of the per-repeat ratios."""
    ratios = [n / d for n, d in zip(numerators, denominators)]
    return min(ratios), statistics.median(ratios), max(ratios)


def markdown_table(header, rows):
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    lines += ['| ' + ' | '.join(str(c) for c in row) + ' |' for row in rows]
    return '\n'.join(lines)
