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


@contextlib.contextmanager
def stop_on_signals():
    """Within the block, SIGINT and SIGTERM raise :class:`Interrupted` (previous handlers are
    restored on exit).

    Processes forked meanwhile (data-loader workers) inherit the handler; in them a signal acts
    as by default (the process ends, silently) instead of raising in their task loop.
    """
    if not _in_main_thread():
        yield
        return
    owner = os.getpid()

    def raise_interrupted(signum, frame):
        if os.getpid() != owner:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        raise Interrupted('', signum)

    previous = {s: signal.signal(s, raise_interrupted) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


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

    previous = {s: signal.signal(s, remember) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if pending:
            signal.raise_signal(pending[0])
