"""Non-finite RPN proposals never reach ROIAlign (which reads out of bounds for them)."""
import subprocess
import sys
import textwrap

import mxnet as mx
import numpy as np
import pytest
from gluoncv.model_zoo.rcnn.rpn.proposal import RPNProposal

from gluoncv_hard.modeling.proposal import FiniteRPNProposal


def test_non_finite_rows_become_invalid_and_finite_ones_stay_bit_identical():
    anchors = mx.nd.array([[[0, 0, 10, 10], [5, 5, 20, 20], [2, 2, 30, 30], [2, 2, 30, 30]]])
    scores = mx.nd.array([[[0.9], [np.nan], [0.5], [0.4]]])
    # A NaN delta gives NaN corners; an infinite one is clipped to the image by GluonCV.
    deltas = mx.nd.array([[[0.1, 0.1, 0.2, 0.2], [0, 0, 0, 0], [np.nan, 0, 0, 0],
                           [0, 0, np.inf, 0]]])
    img = mx.nd.zeros((1, 3, 64, 64))
    stock, finite = RPNProposal(0.0, 1, (1, 1, 1, 1)), FiniteRPNProposal(0.0, 1, (1, 1, 1, 1))
    expected = stock(anchors, scores, deltas, img).asnumpy()
    out = finite(anchors, scores, deltas, img).asnumpy()
    assert np.isnan(expected[0, 1, 0]) and np.isnan(expected[0, 2, 1:]).any()
    np.testing.assert_array_equal(out[0, [0, 3]], expected[0, [0, 3]])
    np.testing.assert_array_equal(out[0, 1:3], -1)


def test_the_networks_use_it(tiny_c4_net, tiny_fpn_net):
    for net in (tiny_c4_net, tiny_fpn_net):
        assert isinstance(net.rpn.region_proposer, FiniteRPNProposal)


SCRIPT = textwrap.dedent('''
    import sys
    import mxnet as mx, numpy as np
    import gluoncv_hard
    from gluoncv_hard.errors import TrainingDiverged
    from gluoncv_hard.evaluation import faster_rcnn_to_arrays
    mx.random.seed(1)
    np.random.seed(1)
    net = gluoncv_hard.get_model(sys.argv[1], classes=['face'])
    net.initialize()
    x = mx.nd.random.uniform(shape=(1, 3, 256, 320))
    net(x)
    original = {name: p.data().copy() for name, p in net.collect_params().items()}
    if sys.argv[2] == 'hybrid':
        net.hybridize()
    for scale in (1e3, 1e6, 1e12):
        for name, p in net.collect_params().items():
            if 'weight' in name:  # finite weights whose activations and boxes overflow
                p.set_data(original[name] * scale)
        try:
            faster_rcnn_to_arrays(*net(x))
            print('finite')
        except TrainingDiverged:
            print('diverged')
''')


@pytest.mark.parametrize('network, mode', [
    ('tiny', 'imperative'),
    pytest.param('tiny', 'hybrid', marks=pytest.mark.slow),
    pytest.param('tiny_fpn', 'imperative', marks=pytest.mark.slow),
    pytest.param('tiny_fpn', 'hybrid', marks=pytest.mark.slow)])
def test_inference_with_overflowing_weights_does_not_crash(network, mode):
    # In a subprocess: before the fix this died by SIGSEGV in ROIAlign (it would kill pytest).
    done = subprocess.run([sys.executable, '-c', SCRIPT, network, mode], check=False,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert set(done.stdout.split()) <= {'finite', 'diverged'}
    assert len(done.stdout.split()) == 3
