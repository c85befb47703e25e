"""Finite checks of a training step: losses, gradients, parameters and auxiliary states.

A diverging Faster R-CNN does not always show it in its losses: a NaN backbone passes through
ReLU as 0 and the losses stay finite while the parameters, or BatchNorm's running statistics
(auxiliary states, which no gradient touches), are NaN. :class:`DivergenceGuard` therefore checks
everything a checkpoint would hold, after every iteration, and raises
:class:`gluoncv_hard.errors.TrainingDiverged` before anything non-finite can be saved.
"""
from collections import defaultdict

import mxnet as mx
import numpy as np

from gluoncv_hard.errors import TrainingDiverged

__all__ = ['all_finite', 'non_finite_arrays', 'DivergenceGuard']

# multi_sum_sq / multi_all_finite take at most this many arrays per call (as MXNet's AMP does).
_CHUNK = 200
# Names listed in a message; the rest are counted.
_NAMES_SHOWN = 6
_BATCHNORM_STATS = ('running_mean', 'running_var')


def _groups(named):
    """``{(context, dtype): [(name, array), ...]}``: MXNet's multi-array operators need one
    context and one dtype per call."""
    groups = defaultdict(list)
    for name, array in named:
        groups[(array.context, np.dtype(array.dtype))].append((name, array))
    return groups


def non_finite_arrays(named):
    """The names of the arrays holding NaN or infinity, in the given order.

    Parameters
    ----------
    named : iterable of (str, NDArray)
        Float arrays, any shapes, contexts and dtypes.

    Returns
    -------
    list of str
    """
    named = list(named)
    suspects = set()
    for group in _groups(named).values():
        for start in range(0, len(group), _CHUNK):
            chunk = group[start:start + _CHUNK]
            # A sum of squares is one fast pass and non-finite whenever an element is; it can
            # also overflow for finite values above ~1e19, so suspects are checked exactly.
            sums = mx.nd.multi_sum_sq(*[a for _, a in chunk], num_arrays=len(chunk)).asnumpy()
            suspects.update(id(a) for (_, a), s in zip(chunk, sums) if not np.isfinite(s))
    return [name for name, array in named
            if id(array) in suspects and not np.isfinite(array.asnumpy()).all()]


def all_finite(arrays):
    """Whether every element of every NDArray in ``arrays`` is finite."""
    return not non_finite_arrays(('', a) for a in arrays)


def _describe(names, noun):
    """'parameter a is not finite', 'parameters a, b and 3 more are not finite'."""
    names = list(dict.fromkeys(names))  # one name per device otherwise
    shown = ', '.join(names[:_NAMES_SHOWN])
    more = len(names) - _NAMES_SHOWN
    aux = all(name.endswith(_BATCHNORM_STATS) for name in names)
    return '{}{} {}{}{} {} not finite'.format(
        noun, 's' if len(names) > 1 else '', shown,
        ' and {} more'.format(more) if more > 0 else '',
        ' (BatchNorm running statistics)' if aux else '', 'are' if len(names) > 1 else 'is')


class DivergenceGuard:
    """Raises ``TrainingDiverged`` at the first non-finite value of a training step.

    Parameters
    ----------
    net : gluon.Block
        Every parameter (trainable, frozen, auxiliary) is checked after an update, under its
        structural name (the key in the ``.params`` file).
    trainer : gluon.Trainer
        Its parameters' gradients are checked before the update.
    check_gradients : bool
        False under AMP, whose loss scaler expects overflowing float16 gradients and skips
        those updates itself.
    hvd : horovod.mxnet module, optional
        Ranks agree on every check (one scalar allreduce each), so that all stop together.
    last_good : str, optional
        The checkpoint a message names as the last good one (update it after each save).
    lr : float
        The base learning rate, quoted in the message.
    """

    def __init__(self, net, trainer, check_gradients=True, hvd=None, last_good=None, lr=None):
        self._params = list(net._collect_params_with_prefix().items())
        trainable = {id(p) for p in trainer._params}
        self._trainable = [(n, p) for n, p in self._params if id(p) in trainable]
        self._check_gradients = check_gradients
        self._hvd = hvd
        self._calls = 0
        self.last_good = last_good
        self.lr = lr

    def _agree(self, bad):
        """True if this rank or (under Horovod) any rank found a problem."""
        if self._hvd is None:
            return bool(bad)
        self._calls += 1
        flag = mx.nd.array([1.0 if bad else 0.0])
        total = self._hvd.allreduce(flag, average=False,
                                    name='gluoncv_hard_finite_{}'.format(self._calls % 2))
        return total.asscalar() > 0

    def diverged(self, what, where):
        """The error for ``what`` (e.g. 'loss is not finite') found ``where`` (e.g. 'at epoch 2
        iteration 7')."""
        return self.stopped('{} {}'.format(what, where))

    def stopped(self, problem):
        """``TrainingDiverged`` saying ``problem``, that nothing was saved, the last good
        checkpoint and what to try."""
        return TrainingDiverged(
            '{}; stopped without saving. The last good checkpoint is {}. Lower the learning '
            'rate (lr{}) or add a warm-up (lr_warmup).'.format(
                problem, self.last_good or 'none (nothing saved yet)',
                '' if self.lr is None else ', now {}'.format(self.lr)))

    def check_losses(self, names, values, where):
        """``values``: the iteration's loss means (numpy, one per name)."""
        values = np.asarray(values, dtype=np.float64)
        bad = not np.isfinite(values).all()
        if self._agree(bad):
            if not bad:
                raise self.diverged('the loss of another Horovod rank is not finite', where)
            raise self.diverged('loss is not finite', '{} ({})'.format(where, ', '.join(
                '{}={}'.format(n, v) for n, v in zip(names, values))))

    def check_gradients(self, where):
        """Before ``trainer.step``: every trainable parameter's gradient, on every device."""
        if not self._check_gradients:
            return
        names = non_finite_arrays((name, grad) for name, p in self._trainable
                                  if p.grad_req != 'null' for grad in p.list_grad())
        if self._agree(names):
            raise self.diverged(_describe(names, 'the gradient of parameter') if names else
                                'a gradient of another Horovod rank is not finite', where)

    def check_parameters(self, where):
        """After ``trainer.step``: every parameter and auxiliary state (e.g. BatchNorm's running
        mean and variance), on every device.

        This one check also catches non-finite gradients (SGD carries a NaN or infinite gradient
        into its parameter, and the update is only in memory): when it fails, the gradients,
        still there after the step, are examined to say whether they were the cause. That halves
        the cost of a separate :meth:`check_gradients` before every update.
        """
        names = non_finite_arrays((name, data) for name, p in self._params
                                  for data in p.list_data())
        if not self._agree(names):
            return
        if not names:
            raise self.diverged('a parameter of another Horovod rank is not finite', where)
        bad = set(names)
        # Gradients explain only the parameters that are non-finite themselves.
        caused = non_finite_arrays((name, grad) for name, p in self._trainable
                                   if name in bad and p.grad_req != 'null'
                                   for grad in p.list_grad())
        if not (caused and self._check_gradients):
            raise self.diverged(_describe(names, 'parameter'), where)
        others = [name for name in names if name not in set(caused)]
        raise self.diverged(_describe(caused, 'the gradient of parameter'), '{} (the update '
                            'carried it into the parameter{}{})'.format(
                                where, 's' if len(set(caused)) > 1 else '',
                                '; also {}'.format(_describe(others, 'parameter'))
                                if others else ''))


