"""SIGTERM/SIGINT as exceptions that unwind (so ``finally`` cleans up), and held-back sections."""
import os
import signal

import pytest

from gluoncv_hard.utils.signals import Interrupted, deferred_signals, stop_on_signals


@pytest.mark.parametrize('signum', [signal.SIGTERM, signal.SIGINT])
def test_stop_signals_raise_interrupted_and_handlers_come_back(signum):
    before = signal.getsignal(signum)
    cleaned = []
    with pytest.raises(Interrupted) as e:
        with stop_on_signals():
            try:
                os.kill(os.getpid(), signum)
                pytest.fail('the signal did not interrupt')
            finally:
                cleaned.append(True)
    assert e.value.signum == signum and e.value.signal_name == signal.Signals(signum).name
    assert isinstance(e.value, KeyboardInterrupt) and cleaned == [True]
    assert signal.getsignal(signum) is before


def test_deferred_signals_deliver_once_after_the_block():
    order = []
    with pytest.raises(Interrupted):
        with stop_on_signals():
            with deferred_signals():
                os.kill(os.getpid(), signal.SIGTERM)
                os.kill(os.getpid(), signal.SIGINT)
                order.append('block finished')
            order.append('not reached')
    assert order == ['block finished']


def test_forked_children_get_the_previous_handlers_back():
    """A data-loader worker must die by SIGTERM at once (the pool's terminate() waits for it),
    not wait for its main thread to run a Python handler."""
    with stop_on_signals():
        pid = os.fork()
        if pid == 0:  # the child: as a data-loader worker would
            if signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
                os._exit(5)
            try:
                os.kill(os.getpid(), signal.SIGTERM)
            finally:
                os._exit(7)  # only reached if the signal did not end the child
        _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM, status
