"""Train Faster R-CNN end to end with hard ground-truth boxes (GluonCV-style command line).

    python scripts/train_faster_rcnn.py --help

Installed as ``gluoncv-hard-train``. The implementation is ``gluoncv_hard.train_loop``.
"""
import sys

from gluoncv_hard.cli.train import main

if __name__ == '__main__':
    sys.exit(main())
