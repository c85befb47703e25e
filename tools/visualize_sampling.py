#!/usr/bin/env python
"""Draw the anchors / RoIs the samplers train on for one image, under a hard policy.

Thin wrapper of ``gluoncv_hard.cli.visualize_sampling.main`` (installed as
``gluoncv-hard-visualize-sampling``); run with ``--help`` for the options and see
docs/visual_checks.md. In a source checkout: ``PYTHONPATH=. python tools/visualize_sampling.py``.
"""
import sys

from gluoncv_hard.cli.visualize_sampling import main

__all__ = ['main']

if __name__ == '__main__':
    sys.exit(main())
