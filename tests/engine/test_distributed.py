"""The Horovod pieces that do not need two processes: the split of the global batch, the
parameter digest, the error without Horovod, and a one-process Horovod run (no horovodrun)
that must train exactly as the plain run does."""
import json
import os
import subprocess
import sys
import textwrap

import mxnet as mx
import numpy as np
import pytest
from fixtures import small_demo
from optional import import_or_skip

from gluoncv_hard.cli import train as train_cli
from gluoncv_hard.engine.distributed import (
    HOROVOD_BUILD_ENV,
    HOROVOD_INSTALL,
    import_horovod,
    network_digest,
    parameter_digest,
)
from gluoncv_hard.engine.trainer import epoch_batches
from gluoncv_hard.errors import SetupError


@pytest.mark.parametrize('num_items', [1, 5, 6, 7, 12, 31])
@pytest.mark.parametrize('per_part, parts', [(1, 1), (2, 1), (1, 2), (2, 2), (1, 3), (3, 4)])
def test_global_batches_split_evenly_into_disjoint_shards(num_items, per_part, parts):
    shards = [epoch_batches(num_items, per_part, np.random.default_rng(7), parts, part)
              for part in range(parts)]
    whole = epoch_batches(num_items, per_part * parts, np.random.default_rng(7))
    # The same number of iterations on every rank (one more would wait forever).
    assert {len(batches) for batches in shards} == {num_items // (per_part * parts)}
    assert len(whole) == len(shards[0])
    for step, batch in enumerate(whole):
        parts_of_step = [shards[part][step] for part in range(parts)]
        assert all(len(p) == per_part for p in parts_of_step)
        # Disjoint shards whose union is the one-process batch of the same global size.
        assert sorted(i for p in parts_of_step for i in p) == sorted(batch)
    seen = [i for batches in shards for batch in batches for i in batch]
    assert len(seen) == len(set(seen))


def test_parameter_digest_is_of_values_not_of_order():
    a = {'w': np.arange(6, dtype=np.float32).reshape(2, 3), 'b': np.zeros(3, np.float32)}
    digest = parameter_digest(a)
    assert parameter_digest(dict(reversed(list(a.items())))) == digest
    one_ulp = a['w'].copy()
    one_ulp[1, 2] = np.nextafter(one_ulp[1, 2], np.float32(10))
    changed = [dict(a, w=one_ulp),
               dict(a, w=a['w'].reshape(3, 2)), dict(a, b=a['b'].astype(np.float64)),
               {'w2': a['w'], 'b': a['b']}]
    assert len({digest} | {parameter_digest(c) for c in changed}) == 5


def test_network_digest_equals_the_digest_of_the_saved_file(tmp_path, make_tiny_net):
    net = make_tiny_net('tiny')
    net(mx.nd.zeros((1, 3, 64, 64)))
    path = str(tmp_path / 'net.params')
    net.save_parameters(path)
    saved = {name: value.asnumpy() for name, value in mx.nd.load(path).items()}
    assert network_digest(net, mx.cpu()) == parameter_digest(saved)


def test_without_horovod_the_error_says_how_to_install_it(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, 'horovod', None)  # as if it were not installed
    monkeypatch.setitem(sys.modules, 'horovod.mxnet', None)
    with pytest.raises(SetupError, match='HOROVOD_WITH_MXNET=1') as error:
        import_horovod()
    assert error.value.param == 'horovod' and HOROVOD_INSTALL in str(error.value)
    status = train_cli.main(['--horovod', '--network', 'tiny', '--data-root', str(tmp_path),
                             '--save-prefix', str(tmp_path / 'run')])
    assert status == 2
    assert capsys.readouterr().err.startswith('error: --horovod training needs Horovod')
    assert not os.path.exists(str(tmp_path / 'run_last.params'))


ONE_RANK = textwrap.dedent('''
    import json, sys
    import horovod.mxnet as hvd
    from gluoncv_hard.engine.config import TrainConfig
    from gluoncv_hard.engine.distributed import horovod_contexts
    from gluoncv_hard.engine.trainer import train
    from gluoncv_hard.errors import InputError, SetupError
    out = {}
    hvd.init()
    out['contexts'] = str(horovod_contexts(hvd, ''))
    for gpus, cpu_contexts in (('', 2), ('0', 1)):
        try:
            horovod_contexts(hvd, gpus, cpu_contexts)
        except (InputError, SetupError) as e:
            out[gpus or 'cpu'] = [type(e).__name__, e.param]
    result = train(TrainConfig.create(**json.loads(sys.argv[1])))
    out['metrics'], out['last'] = list(result.metrics), result.last
    print(json.dumps(out))
''')


@pytest.mark.slow
def test_a_one_process_horovod_run_without_horovodrun(tmp_path_factory):
    """``horovod=True`` in a process that horovodrun did not start is a Horovod job of size 1:
    it trains, validates and saves as rank 0, and its contexts are checked."""
    import_or_skip('horovod.mxnet', 'horovod', reason=HOROVOD_INSTALL)
    demo = small_demo(tmp_path_factory)
    prefix = str(tmp_path_factory.mktemp('one_rank') / 'run')
    settings = dict(network='tiny', data_root=demo, epochs=1, lr=0.01, batch_size=1,
                    log_interval=0, num_workers=0, save_interval=0, horovod=True,
                    save_prefix=prefix)
    done = subprocess.run([sys.executable, '-c', ONE_RANK, json.dumps(settings)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-4000:]
    out = json.loads(done.stdout.splitlines()[-1])
    assert out['contexts'] == '[cpu(0)]'
    assert out['cpu'] == ['InputError', 'cpu_contexts']
    assert out['0'] == ['SetupError', 'gpus']  # this machine has no GPU
    (line,) = out['metrics']
    assert line['iterations'] == 6 and 'val' in line
    assert line['horovod']['ranks'] == 1 and line['horovod']['images_per_rank'] == [6]
    saved = {name: value.asnumpy() for name, value in mx.nd.load(out['last']).items()}
    assert parameter_digest(saved).startswith(line['horovod']['param_digests'][0])
    assert os.path.isfile(prefix + '_metrics.png')


def test_the_install_command_is_the_same_everywhere():
    """The Horovod build flags of the doctor's and the trainer's fix, of .ci/run (which CI
    runs) and of docs/scaling_out.md (which users copy) are the same."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

    def flags(path):
        with open(os.path.join(root, path)) as f:
            text = f.read().replace('\\\n', ' ')
        return {word for word in text.split() if word.startswith('HOROVOD_')}

    expected = set(HOROVOD_BUILD_ENV.split())
    assert flags('.ci/run') >= expected and flags('docs/scaling_out.md') >= expected
    assert set(HOROVOD_INSTALL.split()) >= expected | {'--no-build-isolation', 'horovod'}
