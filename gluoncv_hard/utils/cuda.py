"""The CUDA 11 libraries of MXNet's GPU build, found in NVIDIA's wheels and loaded before MXNet.

``libmxnet.so`` of ``mxnet-cu112==1.9.1`` links against the sonames of :data:`CUDA_LIBRARIES`
and the driver's ``libcuda.so.1`` (read from its ``DT_NEEDED`` entries). The extra
``.[cu112]`` installs them as the ``nvidia-*-cu11`` wheels (``site-packages/nvidia/*/lib``),
which the dynamic linker does not search. :func:`preload_cuda_libraries`, called by
``gluoncv_hard/__init__.py`` before anything imports mxnet, loads them with ``RTLD_GLOBAL``:
when ``libmxnet.so`` is loaded next, the linker finds each soname already loaded and uses it.
So a machine needs the NVIDIA driver only, not a CUDA 11.2 toolkit or ``LD_LIBRARY_PATH``.

The preload does nothing with the CPU build of MXNet (no ``mxnet-cu11x`` distribution
installed), once ``mxnet`` is already imported (too late to matter), or when the environment
sets ``GLUONCV_HARD_NO_CUDA_PRELOAD=1`` (to use a system CUDA instead). Only the standard
library is used here: importing this module must not import mxnet.
"""
import collections
import ctypes
import importlib.metadata
import importlib.util
import os
import sys

__all__ = ['CUDA_LIBRARIES', 'DRIVER_LIBRARY', 'GPU_DISTRIBUTIONS', 'NO_PRELOAD_ENV',
           'CudaLibrary', 'gpu_build', 'wheel_library_dirs', 'find_in_wheels',
           'preload_cuda_libraries', 'preloaded', 'preload_errors', 'library_report',
           'ld_library_path', 'explain_load_failure']


CudaLibrary = collections.namedtuple('CudaLibrary', 'soname distribution folder')
CudaLibrary.__doc__ = ('A library, the wheel that ships it, and its folder '
                       '``site-packages/nvidia/FOLDER/lib``.')


# In load order: a library after those it needs (cuBLAS needs cuBLASLt, cuSOLVER both).
CUDA_LIBRARIES = (
    CudaLibrary('libcudart.so.11.0', 'nvidia-cuda-runtime-cu11', 'cuda_runtime'),
    CudaLibrary('libnvrtc.so.11.2', 'nvidia-cuda-nvrtc-cu11', 'cuda_nvrtc'),
    CudaLibrary('libnvToolsExt.so.1', 'nvidia-nvtx-cu11', 'nvtx'),
    CudaLibrary('libcublasLt.so.11', 'nvidia-cublas-cu11', 'cublas'),
    CudaLibrary('libcublas.so.11', 'nvidia-cublas-cu11', 'cublas'),
    CudaLibrary('libcufft.so.10', 'nvidia-cufft-cu11', 'cufft'),
    CudaLibrary('libcurand.so.10', 'nvidia-curand-cu11', 'curand'),
    CudaLibrary('libcusolver.so.11', 'nvidia-cusolver-cu11', 'cusolver'),
    # libcudnn.so.8 opens its sub-libraries (libcudnn_cnn_infer.so.8, ...) by name at run time
    # and finds them beside itself (its RUNPATH is $ORIGIN).
    CudaLibrary('libcudnn.so.8', 'nvidia-cudnn-cu11', 'cudnn'),
    CudaLibrary('libnccl.so.2', 'nvidia-nccl-cu11', 'nccl'),
)
DRIVER_LIBRARY = 'libcuda.so.1'
# Distributions of MXNet 1.9 built against CUDA 11 (the wheels' libraries fit both).
GPU_DISTRIBUTIONS = ('mxnet-cu112', 'mxnet-cu110')
NO_PRELOAD_ENV = 'GLUONCV_HARD_NO_CUDA_PRELOAD'
INSTALL_FIX = "pip install -c constraints.txt -e '.[cu112]'"
# The CPU and GPU builds both install the package ``mxnet``: one has to go first.
SWITCH_FIX = 'pip uninstall -y mxnet && ' + INSTALL_FIX

_LOADED = []   # paths loaded by preload_cuda_libraries
_ERRORS = {}   # soname -> why loading it failed


def gpu_build():
    """The installed GPU distribution of MXNet (e.g. ``'mxnet-cu112'``), or None."""
    for name in GPU_DISTRIBUTIONS:
        try:
            importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        return name
    return None


def wheel_library_dirs(search_path=None):
    """``{folder: path}`` of the ``nvidia/FOLDER/lib`` directories that exist.

    Parameters
    ----------
    search_path : list of str, optional
        Directories that may hold an ``nvidia`` package (default: where Python finds it,
        without importing it).
    """
    if search_path is None:
        spec = importlib.util.find_spec('nvidia')
        roots = list(spec.submodule_search_locations or []) if spec else []
    else:
        roots = [os.path.join(p, 'nvidia') for p in search_path]
    found = {}
    for root in roots:
        for library in CUDA_LIBRARIES:
            lib = os.path.join(root, library.folder, 'lib')
            if library.folder not in found and os.path.isdir(lib):
                found[library.folder] = lib
    return found


def find_in_wheels(soname, search_path=None):
    """The path of ``soname`` inside the NVIDIA wheels, or None."""
    for library in CUDA_LIBRARIES:
        if library.soname == soname:
            lib = wheel_library_dirs(search_path).get(library.folder)
            path = os.path.join(lib, soname) if lib else None
            return path if path and os.path.isfile(path) else None
    return None


def preload_cuda_libraries(force=False, search_path=None):
    """Load the wheels' CUDA libraries with ``RTLD_GLOBAL`` (module docstring).

    Parameters
    ----------
    force : bool
        Load them even with the CPU build of MXNet or after mxnet was imported (tests, doctor).
    search_path : list of str, optional
        As for :func:`wheel_library_dirs`.

    Returns
    -------
    list of str
        The paths loaded by this call. A library that is not in the wheels is left to the
        system's linker (a system CUDA, ``LD_LIBRARY_PATH``); one that fails to load is
        recorded in :func:`preload_errors`, and MXNet's import then names what is missing.
    """
    if os.environ.get(NO_PRELOAD_ENV, '') not in ('', '0'):
        return []
    if not force and ('mxnet' in sys.modules or gpu_build() is None):
        return []
    loaded = []
    dirs = wheel_library_dirs(search_path)
    for library in CUDA_LIBRARIES:
        lib = dirs.get(library.folder)
        path = os.path.join(lib, library.soname) if lib else None
        if not path or not os.path.isfile(path):
            continue
        try:
            ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
        except OSError as e:
            _ERRORS[library.soname] = str(e)
            continue
        loaded.append(path)
        if path not in _LOADED:
            _LOADED.append(path)
    return loaded


def preloaded():
    """Paths that :func:`preload_cuda_libraries` has loaded in this process."""
    return list(_LOADED)


def preload_errors():
    """``{soname: error}`` of the libraries that failed to load in this process."""
    return dict(_ERRORS)


def _system_loads(soname):
    """Whether the system's dynamic linker finds and loads ``soname`` (``LD_LIBRARY_PATH``,
    ``ld.so.cache``, ``/usr/lib``...); returns ``(bool, error text)``."""
    try:
        ctypes.CDLL(soname)
    except OSError as e:
        return False, str(e)
    return True, ''


def library_report(search_path=None):
    """Where each library of the GPU build comes from, for ``gluoncv-hard-doctor``.

    Loads (and so checks) every library it finds; meant for the doctor, not for import time.

    Returns
    -------
    list of dict
        One per library of :data:`CUDA_LIBRARIES` and the driver: ``soname``, ``found``
        (bool), ``where`` (a path inside the wheels, ``'system'``, or ``''``), ``fix`` (how to
        get it when missing, else ``''``).
    """
    report = []
    for library in CUDA_LIBRARIES:
        path = find_in_wheels(library.soname, search_path)
        if path:
            try:
                ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
                report.append(dict(soname=library.soname, found=True, where=path, fix=''))
                continue
            except OSError as e:
                report.append(dict(soname=library.soname, found=False, where=path,
                                   fix='{} is installed but does not load ({}); reinstall it: '
                                       'pip install --force-reinstall -c constraints.txt '
                                       '{}'.format(library.distribution, e,
                                                   library.distribution)))
                continue
        ok, _ = _system_loads(library.soname)
        report.append(dict(soname=library.soname, found=ok, where='system' if ok else '',
                           fix='' if ok else 'pip install -c constraints.txt {}'.format(
                               library.distribution)))
    ok, error = _system_loads(DRIVER_LIBRARY)
    report.append(dict(soname=DRIVER_LIBRARY, found=ok, where='system' if ok else '',
                       fix='' if ok else 'install the NVIDIA driver (it provides {}; no CUDA '
                       'toolkit is needed): {}'.format(DRIVER_LIBRARY, error)))
    return report


def ld_library_path(search_path=None):
    """``LD_LIBRARY_PATH`` entries (``':'``-joined) of the wheels' library folders, for
    programs that load mxnet without importing gluoncv_hard first."""
    return os.pathsep.join(wheel_library_dirs(search_path).values())


def explain_load_failure(error):
    """The message of the ``ImportError`` that ``import gluoncv_hard`` raises when mxnet's
    library does not load (``error``, an ``OSError``): what failed, where each CUDA library
    was looked for, and the fixes. It stands in for ``gluoncv-hard-doctor``, which cannot run
    without mxnet."""
    build = gpu_build()
    lines = ['mxnet ({}) could not load its library: {}'.format(build or 'CPU build', error)]
    if build:
        lines.append('The CUDA libraries of the GPU build:')
        for library in library_report():
            lines.append('  {} {}'.format(library['soname'], library['where'] if library[
                'found'] else 'MISSING: ' + library['fix']))
        lines.append('Only the NVIDIA driver has to come from the system; the rest comes with '
                     '{}. To use a system CUDA 11 instead, set {}=1 and LD_LIBRARY_PATH.'.format(
                         INSTALL_FIX, NO_PRELOAD_ENV))
    return '\n'.join(lines)
