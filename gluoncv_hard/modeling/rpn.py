"""GluonCV's region proposal network, made to work on inputs with few anchors.

GluonCV's ``RPN`` keeps ``post_nms`` proposals per image (``rpn_train_post_nms`` in training,
``rpn_test_post_nms`` in inference) by slicing them out of its NMS output, and fails inside MXNet
(``slice_axis ... Invalid end for end=2000 as axis_size is 864``) when an input has fewer anchors
than that: a small ``short``, or an image much longer than it is high. :class:`RPN` pads the NMS
output with rows of -1 first, the rows NMS already gives the proposals it suppressed, which every
later stage ignores (score -1). An input with at least ``post_nms`` anchors gives exactly GluonCV's
proposals; a smaller one gives all its proposals and empty rows, as if NMS had removed the rest.
"""
from gluoncv.model_zoo.rcnn.rpn import rpn as gluoncv_rpn
from mxnet import autograd

__all__ = ['RPN', 'pad_proposals']


class RPN(gluoncv_rpn.RPN):
    """GluonCV's ``RPN`` (same constructor, parameters and outputs) whose proposals never run
    short; see the module docstring."""

    def hybrid_forward(self, F, img, *x):
        # GluonCV 0.10.5's RPN.hybrid_forward; only the padding before the last slice is new.
        if autograd.is_training():
            pre_nms, post_nms = self._train_pre_nms, self._train_post_nms
        else:
            pre_nms, post_nms = self._test_pre_nms, self._test_post_nms
        anchors = []
        rpn_pre_nms_proposals = []
        raw_rpn_scores = []
        raw_rpn_boxes = []
        if self._multi_level:
            for i, feat in enumerate(x):  # P2 ... P6
                anchor = self.anchor_generator[i](feat)
                rpn_score, rpn_box, raw_rpn_score, raw_rpn_box = self.rpn_head(feat)
                rpn_pre = self.region_proposer(anchor, rpn_score, rpn_box, img)
                if self._per_level_nms:
                    with autograd.pause():
                        rpn_pre = F.contrib.box_nms(rpn_pre, overlap_thresh=self._nms_thresh,
                                                    topk=pre_nms // len(x), coord_start=1,
                                                    score_index=0, id_index=-1)
                anchors.append(anchor)
                rpn_pre_nms_proposals.append(rpn_pre)
                raw_rpn_scores.append(raw_rpn_score)
                raw_rpn_boxes.append(raw_rpn_box)
            rpn_pre_nms_proposals = F.concat(*rpn_pre_nms_proposals, dim=1)
            raw_rpn_scores = F.concat(*raw_rpn_scores, dim=1)
            raw_rpn_boxes = F.concat(*raw_rpn_boxes, dim=1)
        else:
            x = x[0]
            anchors = self.anchor_generator(x)
            x = self.conv1(x)
            raw_rpn_scores = self.score(x).transpose(axes=(0, 2, 3, 1)).reshape((0, -1, 1))
            rpn_scores = F.sigmoid(F.stop_gradient(raw_rpn_scores))
            raw_rpn_boxes = self.loc(x).transpose(axes=(0, 2, 3, 1)).reshape((0, -1, 4))
            rpn_boxes = F.stop_gradient(raw_rpn_boxes)
            rpn_pre_nms_proposals = self.region_proposer(anchors, rpn_scores, rpn_boxes, img)

        with autograd.pause():
            if self._per_level_nms and self._multi_level:
                tmp = F.contrib.box_nms(rpn_pre_nms_proposals, overlap_thresh=2.,
                                        topk=pre_nms + 1, coord_start=1, score_index=0,
                                        id_index=-1, force_suppress=True)
            else:
                tmp = F.contrib.box_nms(rpn_pre_nms_proposals, overlap_thresh=self._nms_thresh,
                                        topk=pre_nms, coord_start=1, score_index=0, id_index=-1,
                                        force_suppress=True)
            # (B, N, 5) -> (B, N + post_nms, 5): the slice below needs post_nms rows.
            empty = F.broadcast_axis(F.ones_like(F.slice_axis(tmp, axis=1, begin=0, end=1)) * -1,
                                     axis=1, size=post_nms)
            result = F.slice_axis(F.concat(tmp, empty, dim=1), axis=1, begin=0, end=post_nms)
            rpn_scores = F.slice_axis(result, axis=-1, begin=0, end=1)
            rpn_boxes = F.slice_axis(result, axis=-1, begin=1, end=None)

        if autograd.is_training():
            return rpn_scores, rpn_boxes, raw_rpn_scores, raw_rpn_boxes, anchors
        return rpn_scores, rpn_boxes


def pad_proposals(net):
    """Make the RPN of a GluonCV Faster R-CNN ``net`` a :class:`RPN`, in place (the block, its
    children and parameters stay); returns ``net``."""
    if type(net.rpn) is gluoncv_rpn.RPN:
        net.rpn.__class__ = RPN
    elif not isinstance(net.rpn, RPN):
        raise TypeError('expected a GluonCV RPN, got {}'.format(type(net.rpn).__name__))
    return net
