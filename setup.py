"""Packaging for gluoncv-hard.

Every version pin lives in ``constraints.txt``; this file only says which packages are needed
and reads their pins from there, so the two can never disagree.
"""
import os
import re

from setuptools import find_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def read_pins(path=os.path.join(HERE, 'constraints.txt')):
    """Return ``{normalized_name: requirement_string}`` from a pip constraints file."""
    pins = {}
    with open(path, encoding='utf-8') as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if not line:
                continue
            name = re.split(r'[<>=!~ ;\[]', line, maxsplit=1)[0]
            pins[name.lower().replace('_', '-')] = line
    return pins


PINS = read_pins()


def pinned(*names):
    return [PINS[name] for name in names]


setup(
    name='gluoncv-hard',
    version='0.1.0',
    description='Hard ground truth and hard negative mining for GluonCV Faster R-CNN',
    long_description=open(os.path.join(HERE, 'README.md'), encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    license='Apache-2.0',
    python_requires='>=3.8',
    packages=find_packages(include=['gluoncv_hard', 'gluoncv_hard.*']),
    install_requires=pinned('gluoncv', 'numpy', 'opencv-python', 'scikit-image', 'pandas',
                            'matplotlib', 'scipy', 'tqdm'),
    extras_require={
        'cpu': pinned('mxnet'),
        'cu112': pinned('mxnet-cu112'),
        'dev': pinned('pytest', 'hypothesis'),
    },
    entry_points={'console_scripts': [
        'gluoncv-hard-demo = gluoncv_hard.cli.demo:main',
        'gluoncv-hard-train = gluoncv_hard.cli.train:main',
        'gluoncv-hard-eval = gluoncv_hard.cli.evaluate:main',
        'gluoncv-hard-mine = gluoncv_hard.cli.mine:main',
        'gluoncv-hard-mining-rounds = gluoncv_hard.cli.mining_rounds:main',
        'gluoncv-hard-audit = gluoncv_hard.cli.audit:main',
        'gluoncv-hard-explain = gluoncv_hard.cli.explain:main',
        'gluoncv-hard-visualize-sampling = gluoncv_hard.cli.visualize_sampling:main',
        'gluoncv-hard-make-demo = gluoncv_hard.cli.make_demo:main',
        'gluoncv-hard-demo-preview = gluoncv_hard.cli.demo_preview:main',
        'gluoncv-hard-convert = gluoncv_hard.cli.convert:convert_main',
        'gluoncv-hard-lst-stats = gluoncv_hard.cli.convert:stats_main',
    ]},
)
