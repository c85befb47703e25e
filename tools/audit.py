#!/usr/bin/env python
"""Audit a labelled data set with k-fold cross-validated detections (missed boxes, false
alarms, suspected unlabelled objects), written as a static HTML page.

Thin wrapper of ``gluoncv_hard.cli.audit.main`` (installed as ``gluoncv-hard-audit``); run with
``--help`` for the options and see docs/audit.md. In a source checkout:
``PYTHONPATH=. python tools/audit.py``.
"""
import sys

from gluoncv_hard.cli.audit import main

__all__ = ['main']

if __name__ == '__main__':
    sys.exit(main())
