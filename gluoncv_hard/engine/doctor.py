"""What this machine can run: the checks behind ``gluoncv-hard-doctor``.

:func:`diagnose` gathers, without training anything: the versions of the stack, MXNet's build
features (CUDA, CUDNN, NCCL, MKLDNN), the GPUs MXNet sees, where each CUDA library of the GPU
build comes from (:func:`gluoncv_hard.utils.cuda.library_report`), whether Horovod is installed
and with which frameworks, controllers and tensor operations, and which pretrained backbones
are already in ``$MXNET_HOME/models``. :func:`problems` says what stands in the way of GPU or
Horovod training, each with its fix.
"""
import glob
import importlib.metadata
import os
import shutil
import sys

import mxnet as mx

from gluoncv_hard.engine.devices import available_gpus
from gluoncv_hard.engine.distributed import HOROVOD_BUILD_ENV, HOROVOD_INSTALL
from gluoncv_hard.errors import InputError
from gluoncv_hard.modeling.tiny_backbone import BACKBONE_ENV, backbone_path, read_backbone
from gluoncv_hard.modeling.zoo import NETWORKS, TINY_NETWORKS
from gluoncv_hard.utils import cuda

__all__ = ['FEATURES', 'diagnose', 'problems', 'format_report', 'versions', 'mxnet_features',
           'horovod_status', 'pretrained_weights', 'models_dir']

FEATURES = ('CUDA', 'CUDNN', 'NCCL', 'MKLDNN')
HOROVOD_FRAMEWORKS = (('mxnet', 'MXNet'), ('torch', 'PyTorch'), ('tensorflow', 'TensorFlow'))


def _distribution_version(*names):
    """``(name, version)`` of the first installed distribution of ``names``, else None."""
    for name in names:
        try:
            return name, importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def versions():
    """``{package: version text}`` of the stack (distributions, not ``__version__``, where
    they differ: gluoncv 0.10.5.post0 reports 0.11.0)."""
    import cv2
    import numpy
    out = {'python': sys.version.split()[0]}
    build = _distribution_version('mxnet', *cuda.GPU_DISTRIBUTIONS)
    out['mxnet'] = '{} ({})'.format(mx.__version__, build[0] if build else 'unknown build')
    gluoncv = _distribution_version('gluoncv')
    out['gluoncv'] = gluoncv[1] if gluoncv else 'not installed'
    out['numpy'] = numpy.__version__
    opencv = [name for name in ('opencv-python', 'opencv-python-headless',
                                'opencv-contrib-python') if _distribution_version(name)]
    out['opencv'] = '{} ({})'.format(cv2.__version__, ', '.join(opencv) or 'unknown build')
    for name in ('pycocotools', 'horovod'):
        found = _distribution_version(name)
        out[name] = found[1] if found else 'not installed'
    gluoncv_hard = _distribution_version('gluoncv-hard')
    out['gluoncv-hard'] = gluoncv_hard[1] if gluoncv_hard else 'not installed (source tree)'
    return out


def mxnet_features():
    """``{feature: enabled}`` for :data:`FEATURES` (``mx.runtime.Features``)."""
    features = mx.runtime.Features()
    return {name: bool(features.is_enabled(name)) for name in FEATURES}


def horovod_status():
    """What Horovod offers here.

    Returns
    -------
    dict
        ``installed`` (bool), ``version``, ``frameworks`` (names whose extension was built),
        ``controllers`` (``'Gloo'``, ``'MPI'``), ``tensor_operations`` (``'NCCL'`` ...),
        ``horovodrun`` (its path or None), ``error`` (why the MXNet extension did not load).
        Frameworks are read from the built extension files, not by importing PyTorch or
        TensorFlow; controllers from the MXNet extension.
    """
    status = dict(installed=False, version=None, frameworks=[], controllers=[],
                  tensor_operations=[], horovodrun=None, error='')
    try:
        import horovod
    except ImportError as e:
        status['error'] = str(e)
        return status
    status.update(installed=True, version=getattr(horovod, '__version__', None))
    root = os.path.dirname(horovod.__file__)
    for folder, name in HOROVOD_FRAMEWORKS:
        if glob.glob(os.path.join(root, folder, 'mpi_lib*.so')):
            status['frameworks'].append(name)
    bin_dir = os.path.dirname(sys.executable)
    status['horovodrun'] = shutil.which('horovodrun', path=bin_dir) or shutil.which('horovodrun')
    try:
        import horovod.mxnet as hvd
    except ImportError as e:  # the extension is missing or does not match this mxnet
        status['error'] = str(e).splitlines()[0]
        return status
    status['controllers'] = [name for name, built in (('Gloo', hvd.gloo_built()),
                                                      ('MPI', hvd.mpi_built())) if built]
    status['tensor_operations'] = [name for name, built in (
        ('NCCL', hvd.nccl_built()), ('CCL', hvd.ccl_built()), ('DDL', hvd.ddl_built()),
        ('Gloo', hvd.gloo_built()), ('MPI', hvd.mpi_built())) if built]
    return status


def models_dir():
    """``$MXNET_HOME/models`` (default ``~/.mxnet/models``), where GluonCV keeps weights."""
    return os.path.expanduser(os.path.join(
        os.environ.get('MXNET_HOME', os.path.join('~', '.mxnet')), 'models'))


def pretrained_weights():
    """The pretrained backbones of ``--network`` (``--pretrained-base``) and other weight files
    already on disk: ``{'dir', 'backbones': [{'network', 'path', 'present'}], 'other': [...]}``
    (nothing is ever downloaded here)."""
    from gluoncv.model_zoo.model_store import short_hash
    root = models_dir()
    backbones = []
    for network in NETWORKS:
        if network in TINY_NETWORKS:
            continue
        path = os.path.join(root, '{}-{}.params'.format(network, short_hash(network)))
        backbones.append(dict(network=network, path=path, present=os.path.isfile(path)))
    known = {b['path'] for b in backbones}
    other = sorted(p for p in glob.glob(os.path.join(root, '*.params')) if p not in known)
    return {'dir': root, 'backbones': backbones, 'other': other, 'tiny': tiny_backbone_status()}


def tiny_backbone_status():
    """The backbone ``--pretrained-base`` loads for the ``tiny`` network (shipped in the
    package, or ``$GLUONCV_HARD_TINY_BACKBONE``; ``tiny_fpn`` has none), checked as loading checks
    it (sidecar, size, SHA-256): ``{'network', 'path', 'usable', 'problem'}``."""
    path = backbone_path()
    try:
        read_backbone(path)
        problem = ''
    except InputError as e:
        problem = str(e)
    return dict(network='tiny', path=path, usable=not problem, problem=problem)


def _gpus():
    try:
        return available_gpus(), ''
    except Exception as e:  # noqa: BLE001 -- a GPU build without a usable driver raises
        return 0, str(e).splitlines()[0]


def diagnose():
    """Every check (module docstring) as a JSON-serialisable dict."""
    features = mxnet_features()
    gpus, gpu_error = _gpus()
    return {
        'versions': versions(),
        'mxnet_features': features,
        'gpu_build': cuda.gpu_build(),
        'gpus': gpus,
        'gpu_error': gpu_error,
        'cuda_libraries': cuda.library_report(),
        'cuda_preloaded': cuda.preloaded(),
        'cuda_preload_errors': cuda.preload_errors(),
        'horovod': horovod_status(),
        'weights': pretrained_weights(),
    }


def problems(report, gpu=False, horovod=False):
    """What keeps the asked-for setup from working: a list of ``(what, fix)``.

    Parameters
    ----------
    report : dict
        From :func:`diagnose`.
    gpu : bool
        GPU training with MXNet (and, with ``horovod``, Horovod's GPU operations).
    horovod : bool
        Horovod training (``horovodrun ... gluoncv-hard-train --horovod``).
    """
    found = []
    if gpu:
        if not report['mxnet_features']['CUDA']:
            found.append(('MXNet is the CPU build (feature CUDA off)',
                          'install the GPU build and its CUDA 11 runtime wheels: '
                          '{}'.format(cuda.SWITCH_FIX)))
        else:
            for library in report['cuda_libraries']:
                if not library['found']:
                    found.append(('{} not found'.format(library['soname']), library['fix']))
            if report['gpus'] == 0:
                found.append(('MXNet sees no GPU{}'.format(
                    ' ({})'.format(report['gpu_error']) if report['gpu_error'] else ''),
                    'check nvidia-smi (driver loaded, GPU visible) and CUDA_VISIBLE_DEVICES'))
    if horovod:
        status = report['horovod']
        if not status['installed']:
            found.append(('Horovod is not installed', HOROVOD_INSTALL))
        elif 'MXNet' not in status['frameworks'] or status['error']:
            found.append(('Horovod was built without MXNet support{}'.format(
                ' ({})'.format(status['error']) if status['error'] else ''),
                'rebuild it against the installed mxnet: pip uninstall -y horovod && {} pip '
                'install --no-cache-dir --no-build-isolation -c constraints.txt horovod'.format(
                    HOROVOD_BUILD_ENV)))
        else:
            if not status['controllers']:
                found.append(('Horovod has neither Gloo nor MPI',
                              'rebuild it with HOROVOD_WITH_GLOO=1 (see {})'.format(
                                  HOROVOD_INSTALL)))
            if not status['horovodrun']:
                found.append(('horovodrun is not on PATH',
                              'run it from the environment Horovod is installed in ({})'.format(
                                  os.path.dirname(sys.executable))))
            if gpu and 'NCCL' not in status['tensor_operations']:
                found.append(('Horovod has no NCCL operations: GPU gradients would go '
                              'through the CPU',
                              'rebuild it with HOROVOD_GPU_OPERATIONS=NCCL (needs the CUDA '
                              'toolkit and NCCL headers; not tested by this project) and '
                              '--no-cache-dir'))
    return found


def _mark(ok):
    return '[x]' if ok else '[ ]'


def format_report(report):
    """The report as text for a terminal."""
    lines = ['Versions']
    lines += ['  {:<14} {}'.format(name, value) for name, value in report['versions'].items()]
    lines.append('MXNet build features')
    lines += ['  {} {}'.format(_mark(on), name) for name, on in report['mxnet_features'].items()]
    lines.append('GPUs visible to MXNet: {}{}'.format(
        report['gpus'], ' ({})'.format(report['gpu_error']) if report['gpu_error'] else ''))
    needed = report['mxnet_features']['CUDA']
    lines.append('CUDA libraries ({})'.format(
        'needed by this GPU build of MXNet' if needed else
        'not needed by the CPU build of MXNet; listed for a GPU install'))
    for library in report['cuda_libraries']:
        lines.append('  {} {:<20} {}'.format(
            _mark(library['found']), library['soname'],
            library['where'] if library['found'] else
            'missing: ' + library['fix'] if needed else 'missing'))
    if not needed:
        lines.append('  (GPU install: {})'.format(cuda.SWITCH_FIX))
    if report['cuda_preloaded']:
        lines.append('  ({} loaded from the NVIDIA wheels when gluoncv_hard was imported)'.format(
            len(report['cuda_preloaded'])))
    for soname, error in report['cuda_preload_errors'].items():
        lines.append('  preloading {} failed: {}'.format(soname, error))
    status = report['horovod']
    if status['installed']:
        lines.append('Horovod {}'.format(status['version']))
        lines.append('  frameworks:        {}'.format(', '.join(status['frameworks']) or 'none'))
        lines.append('  controllers:       {}'.format(', '.join(status['controllers']) or
                                                      'none'))
        lines.append('  tensor operations: {}'.format(', '.join(status['tensor_operations'])
                                                      or 'none'))
        lines.append('  horovodrun:        {}'.format(status['horovodrun'] or 'not on PATH'))
        if status['error']:
            lines.append('  MXNet extension:   {}'.format(status['error']))
    else:
        lines.append('Horovod: not installed (install: {})'.format(HOROVOD_INSTALL))
    weights = report['weights']
    lines.append('Pretrained weights in {}'.format(weights['dir']))
    for backbone in weights['backbones']:
        lines.append('  {} {:<14} {}'.format(_mark(backbone['present']), backbone['network'],
                                             backbone['path'] if backbone['present'] else
                                             'missing (needed by --pretrained-base)'))
    for path in weights['other']:
        lines.append('  [x] {}'.format(os.path.basename(path)))
    tiny = weights['tiny']
    lines.append('Pretrained backbone of {} (--pretrained-base; shipped, or ${})'.format(
        tiny['network'], BACKBONE_ENV))
    lines.append('  {} {}'.format(_mark(tiny['usable']), tiny['path'] + (
        ' (sidecar, size and SHA-256 checked)' if tiny['usable'] else
        ': not usable: ' + tiny['problem'])))
    return '\n'.join(lines)
