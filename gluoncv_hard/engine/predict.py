"""Run a Faster R-CNN over a data set and yield detections in original-image pixels.

Decoding and resizing run in data-loader workers while the network works; each context gets one
image at a time (GluonCV's Faster R-CNN infers one image per forward pass).
"""
import warnings
from typing import NamedTuple

import numpy as np
from gluoncv.data.transforms.presets.rcnn import FasterRCNNDefaultValTransform
from gluoncv.nn.bbox import BBoxClipToImage
from mxnet.gluon.data import DataLoader, Dataset

from gluoncv_hard.evaluation import faster_rcnn_to_arrays

__all__ = ['Prediction', 'predict_dataset', 'network_input_size']

UNUSED_ENCODER_WARNING = r'Parameter [\w, ]*boxcenterencoder[\w, ]* is not used by any computation'


class Prediction(NamedTuple):
    """Detections of one image.

    Attributes
    ----------
    index : int -- position in the data set
    boxes : (K, 4) float64 -- ``xmin, ymin, xmax, ymax`` in original-image pixels
    scores : (K,) float64
    labels : (K,) int64 -- class ids
    gt_label : (N, 6) float32 -- the data set's label for the image
    """
    index: int
    boxes: np.ndarray
    scores: np.ndarray
    labels: np.ndarray
    gt_label: np.ndarray


def network_input_size(net):
    """``(short, max_size)`` the network was built for (the last scale of a random range)."""
    short = net.short[-1] if isinstance(net.short, (tuple, list)) else net.short
    return short, net.max_size


class _Indexed(Dataset):
    """``(tensor, original label, scale, index, (height, width))`` per image of ``dataset``."""

    def __init__(self, dataset, indices, short, max_size):
        self._dataset = dataset
        self._indices = indices
        self._transform = FasterRCNNDefaultValTransform(short, max_size)

    def __len__(self):
        return len(self._indices)

    def __getitem__(self, i):
        index = self._indices[i]
        img, label = self._dataset[index]
        tensor, _, scale = self._transform(img, label)
        return (tensor, np.asarray(label, np.float32), float(scale.asscalar()), index,
                img.shape[:2])


def _keep_as_list(samples):
    # GluonCV's Append batchify turns labels into NDArrays, which fails for images without boxes.
    return samples


def predict_dataset(net, dataset, ctx, indices=None, num_workers=0):
    """Yield a :class:`Prediction` per image, in data-set order.

    Parameters
    ----------
    net : GluonCV Faster R-CNN (parameters on ``ctx``); it is not hybridized here
    dataset : detection data set returning ``(img, label)``
    ctx : list of mx.Context
    indices : sequence of int, optional (default: every image)
    num_workers : int, threads decoding and resizing images while the network runs
    """
    indices = list(range(len(dataset))) if indices is None else list(indices)
    short, max_size = network_input_size(net)
    loader = DataLoader(_Indexed(dataset, indices, short, max_size), batch_size=len(ctx),
                        shuffle=False, last_batch='keep', batchify_fn=_keep_as_list,
                        num_workers=num_workers, thread_pool=True)
    clipper = BBoxClipToImage()
    for batch in loader:
        outputs = []
        for (tensor, label, scale, index, size), device in zip(batch, ctx):
            x = tensor.expand_dims(0).as_in_context(device)
            with warnings.catch_warnings():
                # The RCNN box encoder's constants serve training only; building the hybridized
                # inference graph warns that they are unused, once per validation.
                warnings.filterwarnings('ignore', message=UNUSED_ENCODER_WARNING)
                ids, scores, boxes = net(x)
            outputs.append((ids, scores, clipper(boxes, x), scale, index, label, size))
        for ids, scores, boxes, scale, index, label, (height, width) in outputs:
            det_boxes, det_scores, det_labels = faster_rcnn_to_arrays(ids, scores, boxes, scale)
            # GluonCV's scale is the height ratio; the width was rounded separately, so a box
            # clipped to the network input can end a fraction of a pixel beyond the image.
            np.clip(det_boxes[:, 0::2], 0, width, out=det_boxes[:, 0::2])
            np.clip(det_boxes[:, 1::2], 0, height, out=det_boxes[:, 1::2])
            yield Prediction(index, det_boxes, det_scores, det_labels, label)
