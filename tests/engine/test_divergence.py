"""The divergence guard: every non-finite loss, gradient, parameter or BatchNorm statistic stops
training with a message naming it and the last good checkpoint."""
import mxnet as mx
import numpy as np
import pytest

from gluoncv_hard.engine.divergence import DivergenceGuard, all_finite, non_finite_arrays
from gluoncv_hard.errors import TrainingDiverged


def test_non_finite_arrays_names_exactly_the_bad_ones():
    named = [('ok', mx.nd.ones((3, 4))), ('nan', mx.nd.array([1, np.nan])),
             ('inf16', mx.nd.array([-np.inf, 0], dtype='float16')),
             ('huge', mx.nd.array([3e38, -3e38])),  # its sum of squares overflows; it is finite
             ('ok64', mx.nd.array([1e300], dtype='float64')),
             ('other_device', mx.nd.array([np.nan], ctx=mx.cpu(1)))]
    assert non_finite_arrays(named) == ['nan', 'inf16', 'other_device']
    assert all_finite([a for _, a in named[:1] + named[3:5]])
    assert not all_finite([named[1][1]])
    many = [('a{}'.format(i), mx.nd.ones((2,))) for i in range(450)]  # more than one chunk
    many[420][1][0] = np.nan
    assert non_finite_arrays(many) == ['a420']


def _net_and_trainer():
    net = mx.gluon.nn.HybridSequential()
    net.add(mx.gluon.nn.Dense(4, in_units=3), mx.gluon.nn.BatchNorm(in_channels=4))
    net.initialize()
    trainer = mx.gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.1})
    return net, trainer


def test_guard_checks_losses_gradients_parameters_and_batchnorm_statistics():
    net, trainer = _net_and_trainer()
    guard = DivergenceGuard(net, trainer, last_good='run_last.params', lr=0.5)
    with mx.autograd.record():
        loss = net(mx.nd.ones((2, 3))).sum()
    loss.backward()
    where = 'at epoch 3 iteration 7'
    guard.check_losses(['a', 'b'], [1.0, 2.0], where)
    guard.check_gradients(where)
    guard.check_parameters(where)

    with pytest.raises(TrainingDiverged) as e:
        guard.check_losses(['a', 'b'], [1.0, np.inf], where)
    assert str(e.value) == (
        'loss is not finite at epoch 3 iteration 7 (a=1.0, b=inf); stopped without saving. The '
        'last good checkpoint is run_last.params. Lower the learning rate (lr, now 0.5) or add a '
        'warm-up (lr_warmup).')

    net[0].weight.grad()[:] = np.nan
    with pytest.raises(TrainingDiverged, match=r'^the gradient of parameter 0\.weight is not '
                                               r'finite at epoch 3 iteration 7; stopped'):
        guard.check_gradients(where)
    # Under AMP overflowing gradients are the loss scaler's business.
    DivergenceGuard(net, trainer, check_gradients=False).check_gradients(where)

    net[1].running_var.set_data(mx.nd.array([1, 1, np.inf, 1]))
    net[1].running_mean.set_data(mx.nd.array([np.nan, 1, 1, 1]))
    guard.last_good = None
    with pytest.raises(TrainingDiverged, match=r'^parameters 1\.running_mean, 1\.running_var '
                                               r'\(BatchNorm running statistics\) are not finite '
                                               r'.*The last good checkpoint is none'):
        guard.check_parameters(where)


def test_a_non_finite_gradient_is_named_after_the_update_it_spoiled():
    net, trainer = _net_and_trainer()
    guard = DivergenceGuard(net, trainer, last_good='run_last.params')
    with mx.autograd.record():
        loss = net(mx.nd.ones((2, 3))).sum()
    loss.backward()
    net[0].bias.grad()[1] = np.inf
    trainer.step(2)
    with pytest.raises(TrainingDiverged, match=r'^the gradient of parameter 0\.bias is not finite '
                                               r'at epoch 0 iteration 4 \(the update carried it '
                                               r'into the parameter\); stopped without saving'):
        guard.check_parameters('at epoch 0 iteration 4')

