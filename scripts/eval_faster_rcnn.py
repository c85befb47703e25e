"""Evaluate a Faster R-CNN with hard boxes ignored, plus false detections on negative images.

    python scripts/eval_faster_rcnn.py --params runs/x_best.params --data-root demo_data \\
        --val val --neg-val demo_data/negatives/test --out report.json

Installed as ``gluoncv-hard-eval``. The implementation is ``gluoncv_hard.cli.evaluate``.
"""
import sys

from gluoncv_hard.cli.evaluate import main

if __name__ == '__main__':
    sys.exit(main())
