"""gluoncv-hard: hard ground truth and hard negative mining for GluonCV Faster R-CNN.

The names below are the public API; they mirror GluonCV's where they replace a GluonCV class.
Sub-packages: ``gluoncv_hard.data`` (readers, converters), ``gluoncv_hard.evaluation`` (hard-aware
metrics), ``gluoncv_hard.demo`` (offline demo data).
"""
from . import schema
from .matching import HardConfig
from .model import HardFasterRCNN, get_model
from .rcnn_target import RCNNTargetSampler
from .rpn_target import RPNTargetGenerator, RPNTargetSampler
from .transform import FasterRCNNDefaultTrainTransform

__version__ = '0.1.0'

__all__ = ['schema', 'HardConfig', 'RPNTargetSampler', 'RPNTargetGenerator',
           'FasterRCNNDefaultTrainTransform', 'RCNNTargetSampler', 'HardFasterRCNN', 'get_model']
