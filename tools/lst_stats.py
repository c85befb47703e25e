#!/usr/bin/env python
"""Counts of a detection .lst or .rec: images, negatives, boxes and hard boxes per class, sizes.

Thin wrapper of ``gluoncv_hard.data.cli.stats_main`` (installed as ``gluoncv-hard-lst-stats``).
"""
import sys

from gluoncv_hard.cli.convert import stats_main as main

if __name__ == '__main__':
    sys.exit(main())
