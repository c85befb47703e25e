#!/usr/bin/env python
"""Rounds of hard negative mining: train, evaluate, mine the pool, retrain.

Thin wrapper of ``gluoncv_hard.cli.mining_rounds.main`` (installed as
``gluoncv-hard-mining-rounds``); run with ``--help`` for the options and see docs/mining.md.
In a source checkout: ``PYTHONPATH=. python tools/mining_rounds.py``.
"""
import sys

from gluoncv_hard.cli.mining_rounds import main

__all__ = ['main']

if __name__ == '__main__':
    sys.exit(main())
