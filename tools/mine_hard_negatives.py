#!/usr/bin/env python
"""Image-level hard negative mining: the pool images a trained detector fires on most.

Thin wrapper of ``gluoncv_hard.cli.mine.main`` (installed as ``gluoncv-hard-mine``); run with
``--help`` for the options and see docs/mining.md. In a source checkout:
``PYTHONPATH=. python tools/mine_hard_negatives.py``.
"""
import sys

from gluoncv_hard.cli.mine import main

__all__ = ['main']

if __name__ == '__main__':
    sys.exit(main())
