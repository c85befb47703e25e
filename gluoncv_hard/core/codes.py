"""The integer codes of candidate labels and loss targets, defined once.

Two conventions meet in Faster R-CNN training, both GluonCV's:

Sampler labels (what the RPN and RCNN samplers return, and what GluonCV's RCNN target generator
reads as ``samples``):

- ``POSITIVE`` (1): trained as an object;
- ``NEGATIVE`` (-1): trained as background;
- ``IGNORE`` (0): left out of the loss.

Loss targets (what the losses read; GluonCV's ``SigmoidClassEncoder`` for the RPN, its
``MultiClassEncoder`` for the RCNN head):

- RPN objectness: ``RPN_TARGET_POSITIVE`` (1), ``RPN_TARGET_NEGATIVE`` (0), ``RPN_TARGET_IGNORE``
  (-1);
- RCNN class: the class id + 1 for objects, ``TARGET_BACKGROUND`` (0), ``TARGET_IGNORE`` (-1).

So for both stages a target above ``TARGET_BACKGROUND`` is an object, and ``TARGET_IGNORE``
(batch padding included) is never counted.

>>> import numpy as np
>>> labels = np.array([POSITIVE, NEGATIVE, IGNORE])
>>> rpn_targets(labels).tolist()
[1.0, 0.0, -1.0]
"""
import numpy as np

__all__ = ['POSITIVE', 'NEGATIVE', 'IGNORE', 'TARGET_BACKGROUND', 'TARGET_IGNORE',
           'RPN_TARGET_POSITIVE', 'RPN_TARGET_NEGATIVE', 'RPN_TARGET_IGNORE', 'rpn_targets']

POSITIVE = 1
NEGATIVE = -1
IGNORE = 0

TARGET_BACKGROUND = 0
TARGET_IGNORE = -1

RPN_TARGET_POSITIVE = 1
RPN_TARGET_NEGATIVE = TARGET_BACKGROUND
RPN_TARGET_IGNORE = TARGET_IGNORE


def rpn_targets(labels):
    """RPN objectness targets ``(N,) float32`` of sampler ``labels (N,)``: the one conversion
    from the sampler convention to the loss convention."""
    labels = np.asarray(labels)
    targets = np.full(labels.shape, RPN_TARGET_IGNORE, dtype=np.float32)
    targets[labels == POSITIVE] = RPN_TARGET_POSITIVE
    targets[labels == NEGATIVE] = RPN_TARGET_NEGATIVE
    return targets
