"""``gluoncv-hard-doctor`` on this CPU machine: the report, and the exit status of what is
asked for (``--gpu`` cannot work here; ``--horovod`` works where Horovod is built)."""
import importlib.util
import json
import os
import shutil
import sys

import pytest

from gluoncv_hard.cli import doctor
from gluoncv_hard.engine.doctor import problems
from gluoncv_hard.utils import cuda


def horovod_usable():
    """Decided apart from the doctor: the MXNet extension imports and horovodrun exists."""
    if importlib.util.find_spec('horovod') is None:
        return False
    try:
        import horovod.mxnet  # noqa: F401
    except ImportError:
        return False
    return bool(shutil.which('horovodrun', path=os.path.dirname(sys.executable))
                or shutil.which('horovodrun'))


@pytest.fixture(scope='module')
def report():
    return doctor.diagnose()


def test_report_of_this_machine(capsys, monkeypatch, tmp_path):
    from gluoncv.model_zoo.model_store import short_hash
    models = tmp_path / 'models'
    models.mkdir()
    (models / 'resnet50_v1b-{}.params'.format(short_hash('resnet50_v1b'))).write_bytes(b'x')
    (models / 'faster_rcnn_resnet50_v1b_voc-447328d8.params').write_bytes(b'x')
    monkeypatch.setenv('MXNET_HOME', str(tmp_path))
    assert doctor.main([]) == 0
    out = capsys.readouterr().out
    import numpy
    # Versions: the gluoncv distribution (0.10.5.post0), not its __version__ (0.11.0).
    assert 'gluoncv        0.10.5.post0' in out
    assert 'numpy          {}'.format(numpy.__version__) in out
    assert '[ ] CUDA' in out and '[x] MKLDNN' in out  # the CPU build of mxnet 1.9.1
    assert 'GPUs visible to MXNet: 0' in out
    for library in cuda.CUDA_LIBRARIES:
        assert library.soname in out
    assert 'libcuda.so.1' in out and 'not needed by the CPU build' in out
    assert '[x] resnet50_v1b' in out and '[ ] resnet101_v1d' in out
    assert 'faster_rcnn_resnet50_v1b_voc-447328d8.params' in out
    assert ('Horovod 0.28.1' in out) == horovod_usable()
    from gluoncv_hard.modeling.tiny_backbone import SHIPPED_BACKBONE
    assert '[x] {} (sidecar, size and SHA-256 checked)'.format(SHIPPED_BACKBONE) in out


def test_report_names_a_damaged_tiny_backbone(capsys, monkeypatch, tmp_path):
    from gluoncv_hard.modeling.tiny_backbone import (
        SHIPPED_BACKBONE,
        backbone_sidecar_path,
    )
    copy = tmp_path / 'backbone.params'
    data = bytearray(open(SHIPPED_BACKBONE, 'rb').read())
    data[-1] ^= 0xFF
    copy.write_bytes(bytes(data))
    shutil.copy(backbone_sidecar_path(SHIPPED_BACKBONE), backbone_sidecar_path(str(copy)))
    monkeypatch.setenv('GLUONCV_HARD_TINY_BACKBONE', str(copy))
    assert doctor.main([]) == 0  # only a report: nothing was asked for
    out = capsys.readouterr().out
    assert '[ ] {}: not usable: '.format(copy) in out
    assert 'damaged or replaced' in out
    monkeypatch.setenv('GLUONCV_HARD_TINY_BACKBONE', str(tmp_path / 'absent.params'))
    assert doctor.main([]) == 0
    assert 'does not exist' in capsys.readouterr().out


def test_gpu_is_not_usable_on_the_cpu_build(capsys):
    assert doctor.main(['--gpu']) == 2
    err = capsys.readouterr().err
    assert 'MXNet is the CPU build' in err
    assert "pip uninstall -y mxnet && pip install -c constraints.txt -e '.[cu112]'" in err


def test_horovod_status_matches_what_is_installed(capsys):
    status = doctor.main(['--horovod'])
    captured = capsys.readouterr()
    if horovod_usable():
        assert status == 0
        assert 'frameworks:        MXNet' in captured.out
        assert 'controllers:       Gloo' in captured.out
    else:
        assert status == 2
        assert 'HOROVOD_WITH_MXNET=1' in captured.err and '--no-build-isolation' in captured.err


def test_json_report(capsys):
    assert doctor.main(['--json']) == 0
    data = json.loads(capsys.readouterr().out)
    assert data['mxnet_features'] == {'CUDA': False, 'CUDNN': False, 'NCCL': False,
                                      'MKLDNN': True}
    assert data['gpus'] == 0 and data['gpu_build'] is None
    assert [lib['soname'] for lib in data['cuda_libraries']] == [
        library.soname for library in cuda.CUDA_LIBRARIES] + [cuda.DRIVER_LIBRARY]


def test_problems_name_a_fix_for_each_gap(report):
    gpu_build = dict(report, mxnet_features=dict(report['mxnet_features'], CUDA=True),
                     cuda_libraries=[dict(soname='libcudnn.so.8', found=False, where='',
                                          fix='pip install -c constraints.txt '
                                              'nvidia-cudnn-cu11')],
                     gpus=0, gpu_error='')
    found = dict(problems(gpu_build, gpu=True))
    assert found['libcudnn.so.8 not found'] == 'pip install -c constraints.txt nvidia-cudnn-cu11'
    assert 'nvidia-smi' in found['MXNet sees no GPU']
    no_mxnet_ext = dict(report, horovod=dict(installed=True, version='0.28.1', frameworks=[],
                                             controllers=[], tensor_operations=[],
                                             horovodrun=None, error=''))
    (what, fix), = problems(no_mxnet_ext, horovod=True)
    assert 'without MXNet support' in what and '--no-cache-dir' in fix
    assert problems(report) == []  # nothing asked, nothing in the way
