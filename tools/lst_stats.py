#!/usr/bin/env python
"""Counts of a detection .lst or .rec: images, negatives, boxes and hard boxes per class, sizes.

Thin wrapper of ``gluoncv_hard.cli.lst_stats.main`` (installed as ``gluoncv-hard-lst-stats``).
"""
import sys

from gluoncv_hard.cli.lst_stats import main

if __name__ == '__main__':
    sys.exit(main())
