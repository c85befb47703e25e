"""gluoncv-hard: hard ground truth and hard negative mining for GluonCV Faster R-CNN.

The names below are the public API; they mirror GluonCV's where they replace a GluonCV class.
Sub-packages: ``gluoncv_hard.data`` (readers, converters), ``gluoncv_hard.evaluation`` (hard-aware
metrics), ``gluoncv_hard.demo`` (offline demo data).
"""
# With the GPU build of MXNet, load the CUDA 11 runtime from its wheels before anything below
# imports mxnet, so that only the NVIDIA driver has to be installed (see utils/cuda.py).
from gluoncv_hard.utils.cuda import explain_load_failure, preload_cuda_libraries

preload_cuda_libraries()
try:
    import mxnet  # noqa: F401 -- loaded here to explain a failure (e.g. no NVIDIA driver)
except OSError as _error:
    raise ImportError(explain_load_failure(_error)) from _error

from gluoncv_hard import schema
from gluoncv_hard.core.config import HardConfig
from gluoncv_hard.data.transform import FasterRCNNDefaultTrainTransform
from gluoncv_hard.modeling.faster_rcnn import HardFasterRCNN
from gluoncv_hard.modeling.rcnn_target import RCNNTargetSampler
from gluoncv_hard.modeling.rpn_target import RPNTargetGenerator, RPNTargetSampler
from gluoncv_hard.modeling.zoo import get_model

__version__ = '0.1.0'

__all__ = ['schema', 'HardConfig', 'RPNTargetSampler', 'RPNTargetGenerator',
           'FasterRCNNDefaultTrainTransform', 'RCNNTargetSampler', 'HardFasterRCNN', 'get_model']
