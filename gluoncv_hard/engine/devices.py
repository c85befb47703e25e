"""Training and inference contexts from ``gpus``, checked before any work starts."""
import mxnet as mx

from gluoncv_hard.errors import InputError, SetupError

__all__ = ['parse_contexts', 'available_gpus']


def available_gpus():
    """Number of GPUs MXNet can use (0 with the CPU build of MXNet)."""
    try:
        return mx.context.num_gpus()
    except mx.base.MXNetError:
        return 0


def parse_contexts(gpus, cpu_contexts=1):
    """Contexts for ``gpus`` (e.g. ``'0,1'``); empty means CPU.

    Parameters
    ----------
    gpus : str
        Comma-separated GPU ids, or ``''`` for CPU.
    cpu_contexts : int
        With ``gpus=''``, this many CPU contexts (``cpu(0)``, ``cpu(1)`` ...): exercises the
        multi-device code path on a machine without GPUs.

    Raises
    ------
    InputError
        For malformed or repeated ids (``param='gpus'``), or ``cpu_contexts < 1``.
    SetupError
        For ids this machine does not have (``param='gpus'``).
    """
    text = (gpus or '').strip()
    if not text:
        if cpu_contexts < 1:
            raise InputError('cpu_contexts must be at least 1, got {}'.format(cpu_contexts),
                             param='cpu_contexts')
        return [mx.cpu(i) for i in range(cpu_contexts)]
    try:
        ids = [int(part) for part in text.split(',') if part.strip()]
    except ValueError:
        raise InputError("gpus {!r}: expected comma-separated GPU ids such as '0' or '0,1', "
                         "or '' for CPU".format(gpus), param='gpus') from None
    if len(set(ids)) != len(ids) or min(ids) < 0:
        raise InputError('gpus {!r}: ids must be distinct and >= 0'.format(gpus), param='gpus')
    found = available_gpus()
    missing = [i for i in ids if i >= found]
    if missing:
        raise SetupError(
            'gpus {!r} asks for GPU {} but MXNet sees {} GPU(s) on this machine. Install the '
            "GPU build (pip install -e '.[cu112]', see README) on a machine with CUDA 11.2, or "
            "use the CPU (gpus='').".format(gpus, missing[0], found), param='gpus')
    return [mx.gpu(i) for i in ids]
