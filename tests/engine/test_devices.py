"""parse_contexts: CPU contexts, and errors that name ``gpus``/``cpu_contexts``."""
import mxnet as mx
import pytest

from gluoncv_hard.engine.devices import available_gpus, parse_contexts
from gluoncv_hard.errors import InputError, SetupError


def test_cpu_contexts():
    assert parse_contexts('') == [mx.cpu(0)]
    assert parse_contexts(' ', cpu_contexts=2) == [mx.cpu(0), mx.cpu(1)]


@pytest.mark.parametrize('gpus, cpu_contexts, param, message', [
    ('', 0, 'cpu_contexts', 'cpu_contexts must be at least 1, got 0'),
    ('0,x', 1, 'gpus', "gpus '0,x': expected comma-separated GPU ids"),
    ('1,1', 1, 'gpus', "gpus '1,1': ids must be distinct and >= 0"),
    ('-1', 1, 'gpus', "gpus '-1': ids must be distinct and >= 0"),
])
def test_malformed_settings_are_input_errors(gpus, cpu_contexts, param, message):
    with pytest.raises(InputError) as error:
        parse_contexts(gpus, cpu_contexts)
    assert error.value.param == param and str(error.value).startswith(message)


@pytest.mark.skipif(available_gpus() > 0, reason='this machine has a GPU')
def test_a_gpu_this_machine_lacks_is_a_setup_error():
    with pytest.raises(SetupError, match="gpus '0' asks for GPU 0 but MXNet sees 0 GPU") as e:
        parse_contexts('0')
    assert e.value.param == 'gpus' and "gpus='')" in str(e.value)
