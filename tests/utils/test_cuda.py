"""The CUDA 11 wheels are found and preloaded so that MXNet's GPU build links against them.

Without a GPU build here, the mechanism is tested with compiled stand-ins: one small shared
library per soname of ``CUDA_LIBRARIES`` in an ``nvidia/*/lib`` tree laid out like the wheels,
and a library that links against all of them the way ``libmxnet.so`` does. It loads only after
the preload. Where the real wheels (and ``mxnet-cu112``) are installed, the last tests load
them and check ``libmxnet.so`` with ``ldd``; elsewhere they are skipped.
"""
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest
from optional import missing

from gluoncv_hard.utils import cuda

CUDA_PY = cuda.__file__


def _compiler():
    compiler = shutil.which('cc') or shutil.which('gcc')
    if compiler is None:
        missing('cc', 'a C compiler builds the stand-in libraries')
    return compiler


def _compile(compiler, source, out, *flags):
    src = out + '.c'
    with open(src, 'w') as f:
        f.write(source)
    subprocess.run([compiler, '-shared', '-fPIC', '-o', out, src] + list(flags), check=True)


@pytest.fixture(scope='module')
def stand_ins(tmp_path_factory):
    """``(site, consumer)``: a fake site-packages with the wheels' layout and a library that
    needs every soname (``DT_NEEDED``) and sums a function of each."""
    compiler = _compiler()
    root = tmp_path_factory.mktemp('cuda')
    site = root / 'site'
    link = []
    for i, library in enumerate(cuda.CUDA_LIBRARIES):
        lib = site / 'nvidia' / library.folder / 'lib'
        lib.mkdir(parents=True, exist_ok=True)
        _compile(compiler, 'int marker_{}(void) {{ return {}; }}\n'.format(i, i + 1),
                 str(lib / library.soname), '-Wl,-soname,' + library.soname)
        link += ['-L' + str(lib), '-l:' + library.soname]
    calls = ' + '.join('marker_{}()'.format(i) for i in range(len(cuda.CUDA_LIBRARIES)))
    declarations = ''.join('int marker_{}(void);\n'.format(i)
                           for i in range(len(cuda.CUDA_LIBRARIES)))
    consumer = str(root / 'libconsumer.so')
    _compile(compiler, declarations + 'int total(void) {{ return {}; }}\n'.format(calls),
             consumer, *(link + ['-Wl,--no-as-needed']))
    return str(site), consumer


def _in_fresh_python(code, **env):
    """Run ``code`` in a new interpreter with ``cuda`` loaded from its file (no mxnet import);
    returns what it printed as JSON."""
    prelude = textwrap.dedent('''
        import ctypes, importlib.util, json, os, sys
        spec = importlib.util.spec_from_file_location('cuda', {!r})
        cuda = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(cuda)
    ''').format(CUDA_PY)
    environment = {k: v for k, v in os.environ.items()
                   if k not in ('LD_LIBRARY_PATH', cuda.NO_PRELOAD_ENV)}
    environment.update(env)
    done = subprocess.run([sys.executable, '-c', prelude + textwrap.dedent(code)],
                          env=environment, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_consumer_links_only_after_the_preload(stand_ins):
    site, consumer = stand_ins
    result = _in_fresh_python('''
        out = {{}}
        try:
            ctypes.CDLL({consumer!r})
            out['before'] = 'loaded'
        except OSError as e:
            out['before'] = str(e)
        out['loaded'] = cuda.preload_cuda_libraries(force=True, search_path=[{site!r}])
        out['total'] = ctypes.CDLL({consumer!r}).total()
        print(json.dumps(out))
    '''.format(consumer=consumer, site=site))
    assert 'cannot open shared object file' in result['before']
    assert [os.path.basename(p) for p in result['loaded']] == [
        library.soname for library in cuda.CUDA_LIBRARIES]
    # Every function resolved, to the preloaded library of its soname.
    n = len(cuda.CUDA_LIBRARIES)
    assert result['total'] == n * (n + 1) // 2


def test_the_environment_switch_turns_the_preload_off(stand_ins):
    site, _ = stand_ins
    result = _in_fresh_python('''
        print(json.dumps(cuda.preload_cuda_libraries(force=True, search_path=[{!r}])))
    '''.format(site), **{cuda.NO_PRELOAD_ENV: '1'})
    assert result == []


def test_discovery_and_ld_library_path(stand_ins):
    site, _ = stand_ins
    dirs = cuda.wheel_library_dirs([site])
    assert set(dirs) == {library.folder for library in cuda.CUDA_LIBRARIES}
    for library in cuda.CUDA_LIBRARIES:
        assert cuda.find_in_wheels(library.soname, [site]) == os.path.join(
            dirs[library.folder], library.soname)
    assert cuda.find_in_wheels('libnotcuda.so.1', [site]) is None
    assert cuda.ld_library_path([site]).split(os.pathsep) == list(dirs.values())
    assert cuda.wheel_library_dirs([os.path.join(site, 'nothing')]) == {}


def test_the_cpu_build_preloads_nothing():
    if cuda.gpu_build():
        pytest.skip('this environment has the GPU build')
    # gluoncv_hard was imported by this test module: the preload ran and did nothing.
    assert cuda.preloaded() == [] and cuda.preload_errors() == {}
    assert 'CPU build' in cuda.explain_load_failure(OSError('libmxnet.so: broken'))


def test_import_names_the_libraries_when_mxnet_cannot_load(tmp_path):
    # A stand-in mxnet that fails the way the GPU build does without a driver.
    fake = tmp_path / 'mxnet'
    fake.mkdir()
    (fake / '__init__.py').write_text(
        "raise OSError('libcuda.so.1: cannot open shared object file: No such file')\n")
    package_root = os.path.dirname(os.path.dirname(os.path.dirname(CUDA_PY)))
    done = subprocess.run(
        [sys.executable, '-c', 'import gluoncv_hard'], capture_output=True, text=True,
        check=False,
        env=dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), package_root])))
    assert done.returncode != 0
    assert 'ImportError: mxnet' in done.stderr and 'libcuda.so.1' in done.stderr


def _real_wheels():
    dirs = cuda.wheel_library_dirs()
    return len(dirs) == len({library.folder for library in cuda.CUDA_LIBRARIES})


@pytest.mark.skipif(not _real_wheels(), reason='the nvidia-*-cu11 wheels are not installed '
                    "(pip install -e '.[cu112]')")
def test_the_real_wheels_are_found_and_load():
    result = _in_fresh_python('''
        loaded = cuda.preload_cuda_libraries(force=True)
        with open('/proc/self/maps') as f:
            maps = f.read()
        print(json.dumps({'loaded': loaded, 'mapped': [p for p in loaded if p in maps]}))
    ''')
    assert len(result['loaded']) == len(cuda.CUDA_LIBRARIES)
    assert result['mapped'] == result['loaded']


@pytest.mark.skipif(not (_real_wheels() and cuda.gpu_build()),
                    reason='needs mxnet-cu112 and the nvidia-*-cu11 wheels')
def test_ldd_resolves_everything_of_libmxnet_but_the_driver():
    library = os.path.join(os.path.dirname(importlib.util.find_spec('mxnet').origin),
                           'libmxnet.so')
    done = subprocess.run(['ldd', library], stdout=subprocess.PIPE, text=True, check=False,
                          env=dict(os.environ, LD_LIBRARY_PATH=cuda.ld_library_path()))
    missing_libraries = [line.split()[0] for line in done.stdout.splitlines()
                         if 'not found' in line]
    assert missing_libraries in ([cuda.DRIVER_LIBRARY], [])  # [] where a driver is installed
