#!/usr/bin/env python
"""Convert VOC / COCO / CSV annotations and negative folders to a detection .lst (and .rec).

Thin wrapper of ``gluoncv_hard.cli.convert.convert_main`` (installed as ``gluoncv-hard-convert``);
run with ``--help`` for the options and docs/data.md for the formats.
"""
import sys

from gluoncv_hard.cli.convert import convert_main as main

if __name__ == '__main__':
    sys.exit(main())
