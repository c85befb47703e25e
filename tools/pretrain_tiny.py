#!/usr/bin/env python
"""Pretrain the tiny network's backbone offline on the demo's patch task.

Thin wrapper of ``gluoncv_hard.cli.pretrain_tiny.main`` (installed as
``gluoncv-hard-pretrain-tiny``); run with ``--help`` for the options and see
docs/pretrained_backbone.md. In a source checkout: ``PYTHONPATH=. python tools/pretrain_tiny.py``.
"""
import sys

from gluoncv_hard.cli.pretrain_tiny import main

__all__ = ['main']

if __name__ == '__main__':
    sys.exit(main())
