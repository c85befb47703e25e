"""Packaging: the dependencies, with their pins read from ``constraints.txt``.

Everything else (name, version, console scripts, ...) is in ``pyproject.toml``. Every version pin
lives in ``constraints.txt``; this file only says which packages are needed and reads their pins
from there, so that ``pip install .`` and ``pip install -c constraints.txt ...`` can never
disagree.
"""
import os
import re

from setuptools import setup

CONSTRAINTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'constraints.txt')


def read_pins(path=CONSTRAINTS):
    """Return ``{normalized_name: requirement_string}`` from a pip constraints file."""
    pins = {}
    with open(path, encoding='utf-8') as f:
        for line in f:
            requirement = line.split('#', 1)[0].strip()
            if not requirement:
                continue
            name = re.split(r'[<>=!~ ;\[]', requirement, maxsplit=1)[0]
            pins[name.lower().replace('_', '-')] = requirement
    return pins


PINS = read_pins()

# The CUDA 11 runtime of mxnet-cu112, as wheels (gluoncv_hard/utils/cuda.py preloads them).
CUDA_WHEELS = ('nvidia-cuda-runtime-cu11', 'nvidia-cublas-cu11', 'nvidia-cufft-cu11',
               'nvidia-curand-cu11', 'nvidia-cusolver-cu11', 'nvidia-cuda-nvrtc-cu11',
               'nvidia-nvtx-cu11', 'nvidia-cudnn-cu11', 'nvidia-nccl-cu11')


def pinned(*names):
    return [PINS[name] for name in names]


setup(
    install_requires=pinned('gluoncv', 'numpy', 'opencv-python', 'scikit-image', 'pandas',
                            'matplotlib', 'scipy', 'tqdm'),
    extras_require={
        'cpu': pinned('mxnet'),
        'cu112': pinned('mxnet-cu112', *CUDA_WHEELS),
        'horovod': pinned('cloudpickle', 'psutil', 'pyyaml', 'packaging', 'wheel'),
        'dev': pinned('pytest', 'hypothesis', 'ruff', 'pycocotools'),
    },
)
