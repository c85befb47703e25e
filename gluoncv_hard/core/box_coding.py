"""Regression targets of the RPN in NumPy (GluonCV's normalized box-center encoding)."""
import numpy as np

__all__ = ['encode_center_targets']


def encode_center_targets(anchors, boxes, stds=(1., 1., 1., 1.), means=(0., 0., 0., 0.)):
    """Encode ``boxes`` relative to ``anchors`` as ``((dx, dy, log dw, log dh) - means) / stds``.

    Same definition as ``gluoncv.nn.coder.NumPyNormalizedBoxCenterEncoder`` (widths ``x2 - x1``,
    centers ``x1 + w / 2``), but for matched pairs only, instead of every anchor against every
    box: the RPN has a few hundred positives among ~10^5 anchors.

    Parameters
    ----------
    anchors : (P, 4) float array, corner encoded
    boxes : (P, 4) float array, the GT box matched to each anchor
    stds, means : 4 floats

    Returns
    -------
    (P, 4) float32
    """
    anchors = np.asarray(anchors, dtype=np.float32)
    boxes = np.asarray(boxes, dtype=np.float32)
    aw = anchors[:, 2] - anchors[:, 0]
    ah = anchors[:, 3] - anchors[:, 1]
    bw = boxes[:, 2] - boxes[:, 0]
    bh = boxes[:, 3] - boxes[:, 1]
    codes = np.stack([
        (boxes[:, 0] + bw / 2 - anchors[:, 0] - aw / 2) / aw,
        (boxes[:, 1] + bh / 2 - anchors[:, 1] - ah / 2) / ah,
        np.log(bw / aw),
        np.log(bh / ah),
    ], axis=1)
    return ((codes - np.asarray(means, np.float32)) / np.asarray(stds, np.float32)).astype(
        np.float32)
