"""SIGINT/SIGTERM as exceptions that clean up, and sections that a signal must not cut.

A process killed by the default SIGTERM action runs no ``finally`` clause: temporary files stay
behind. :func:`stop_on_signals` turns SIGTERM (and SIGINT) into :class:`Interrupted`, which
unwinds like ``KeyboardInterrupt`` (every ``finally`` runs; command lines exit with
``128 + signal number``). :func:`deferred_signals` holds those signals back during a few
renames that must happen together, then delivers them.

Python runs signal handlers in the main thread only; from other threads both context managers do
nothing (a signal is then handled by whatever the main thread has installed).
"""
import contextlib
import os
import signal
import threading

__all__ = ['Interrupted', 'STOP_SIGNALS', 'stop_on_signals', 'deferred_signals']

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(KeyboardInterrupt):
    """A stop signal arrived (``signum``); the message says what was left behind.

    A ``KeyboardInterrupt`` so that code which already handles Ctrl-C handles SIGTERM the same
    way (and ``except Exception`` does not swallow it).
    """

    def __init__(self, message='', signum=signal.SIGINT):
        super().__init__(message)
        self.signum = int(signum)

    @property
    def signal_name(self):
        return signal.Signals(self.signum).name


def _in_main_thread():
    return threading.current_thread() is threading.main_thread()


# Our handlers -> the handlers they replaced, while installed. A forked child (a data-loader
# worker) gets the replaced ones back at once: a Python handler runs only when the child's main
# thread returns to Python, and a worker blocked in a semaphore while an MXNet engine thread
# takes the signal would never die, so the parent's pool.terminate() would wait forever.
_REPLACED = {}


def _restore_in_child():
    for signum in STOP_SIGNALS:
        handler = signal.getsignal(signum)
        while handler in _REPLACED:
            handler = _REPLACED[handler][signum]
        try:
            signal.signal(signum, handler)
        except (ValueError, OSError, TypeError):  # not the main thread; nothing to restore
            pass


os.register_at_fork(after_in_child=_restore_in_child)


@contextlib.contextmanager
def _installed(handler):
    previous = {s: signal.signal(s, handler) for s in STOP_SIGNALS}
    _REPLACED[handler] = previous
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)
        del _REPLACED[handler]


@contextlib.contextmanager
def stop_on_signals():
    """Within the block, SIGINT and SIGTERM raise :class:`Interrupted` (previous handlers are
    restored on exit).

    Processes forked meanwhile (data-loader workers) get the previous handlers back (for
    SIGTERM usually the default: the worker ends, silently).
    """
    if not _in_main_thread():
        yield
        return
    owner = os.getpid()

    def raise_interrupted(signum, frame):
        if os.getpid() != owner:  # a child forked without the at-fork reset
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        raise Interrupted('', signum)

    with _installed(raise_interrupted):
        yield


@contextlib.contextmanager
def deferred_signals():
    """Hold SIGINT and SIGTERM back until the block has finished, then deliver them to the
    handlers that were installed before (the first one that arrived; repeats are one).

    For short sections only (a few renames): a signal waits until the block ends.
    """
    if not _in_main_thread():
        yield
        return
    pending = []

    def remember(signum, frame):
        pending.append(signum)

    try:
        with _installed(remember):
            yield
    finally:
        if pending:
            signal.raise_signal(pending[0])
