"""RPN proposals that never hand a NaN or infinite box to the RoI operators.

A diverging network (or one whose finite weights make the box regression overflow) decodes
proposals with NaN or infinite corners; MXNet's ``ROIAlign`` reads memory outside the feature map
for them and the process dies by SIGSEGV, with no message. In training, the RCNN sampler zeroes
such proposals (:func:`gluoncv_hard.modeling.rcnn_target.match_rois`); at inference they go
straight from the RPN to ``ROIAlign``. :class:`FiniteRPNProposal` marks them invalid where they
are made, the way GluonCV already marks proposals below ``min_size`` (score and box -1), so that
non-maximum suppression drops them and the RoI operators get only finite boxes.
"""
from gluoncv.model_zoo.rcnn.rpn.proposal import RPNProposal
from mxnet import autograd

__all__ = ['FiniteRPNProposal', 'make_proposals_finite']


class FiniteRPNProposal(RPNProposal):
    """GluonCV's ``RPNProposal``; rows with a non-finite score or corner become ``-1``.

    Output: ``(B, N, 5)`` rows ``score, xmin, ymin, xmax, ymax`` as GluonCV's. Finite rows are
    unchanged (same values, so trainings repeat to the bit).
    """

    def hybrid_forward(self, F, anchor, score, bbox_pred, img):
        pre = super().hybrid_forward(F, anchor, score, bbox_pred, img)
        with autograd.pause():
            # x * 0 is 0 for every finite x and NaN for NaN and +-inf.
            finite = F.min((pre * 0) == 0, axis=-1, keepdims=True)
            finite = F.broadcast_axes(finite, axis=2, size=5)
            return F.where(finite, pre, F.ones_like(pre) * -1)


def make_proposals_finite(rpn):
    """Turn ``rpn.region_proposer`` (GluonCV's ``RPNProposal``) into a
    :class:`FiniteRPNProposal` in place (it has no parameters; names do not change)."""
    proposer = rpn.region_proposer
    if isinstance(proposer, RPNProposal) and not isinstance(proposer, FiniteRPNProposal):
        proposer.__class__ = FiniteRPNProposal
    return rpn
