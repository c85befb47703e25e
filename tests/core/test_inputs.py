"""Wrong shapes are the caller's mistake: InputError naming the parameter, never a silent
reshape."""
import numpy as np
import pytest

from gluoncv_hard.core.candidates import near_hard_mask, overlaps_from_boxes, overlaps_from_ious
from gluoncv_hard.core.config import HardConfig
from gluoncv_hard.core.inputs import as_boxes, as_flags, as_matrix
from gluoncv_hard.core.matching import assign_boxes, assign_ious
from gluoncv_hard.errors import InputError

THRESH = dict(pos_thresh=0.7, neg_thresh=0.3)
BOXES = np.array([[0, 0, 10, 10], [5, 5, 20, 20]], np.float32)
CONFIG = HardConfig()


@pytest.mark.parametrize('call, param, message', [
    (lambda: assign_boxes(BOXES, BOXES, [False], CONFIG, **THRESH), 'hard',
     'hard has 1 flags for 2 GT boxes'),
    (lambda: assign_boxes(BOXES, np.zeros((2, 5)), [0, 0], CONFIG, **THRESH), 'gt_boxes',
     r'gt_boxes must be an \(N, 4\) array .* got shape \(2, 5\)'),
    (lambda: assign_boxes(BOXES[:, :3], BOXES, [0, 0], CONFIG, **THRESH), 'candidates',
     r'got shape \(2, 3\)'),
    (lambda: assign_boxes(BOXES, BOXES, [0, 0], CONFIG, valid=[True], **THRESH), 'valid',
     'valid has 1 flags for 2 candidates'),
    (lambda: assign_ious(np.zeros(3), [0, 0, 0], CONFIG, **THRESH), 'ious', '2-D'),
    (lambda: assign_ious(np.zeros((2, 2)), [0], CONFIG, **THRESH), 'hard', 'hard has 1'),
    (lambda: assign_ious(np.zeros((2, 2)), [0, 0], CONFIG, valid=[1, 1, 1], **THRESH), 'valid',
     'valid has 3'),
    (lambda: assign_ious(np.zeros((2, 2)), [0, 1], CONFIG, candidates=BOXES,
                         gt_boxes=BOXES[:1], **THRESH), 'gt_boxes', 'gt_boxes has 1 rows'),
    (lambda: assign_ious(np.zeros((3, 2)), [0, 1], CONFIG, candidates=BOXES, gt_boxes=BOXES,
                         **THRESH), 'candidates', 'candidates has 2 rows but ious 3'),
    (lambda: assign_ious(np.zeros((2, 1)), [1], CONFIG, **THRESH), 'candidates',
     'pass candidates= and gt_boxes='),
    (lambda: near_hard_mask(BOXES, np.zeros(5), CONFIG), 'hard_boxes', r'got shape \(5,\)'),
    (lambda: overlaps_from_boxes(BOXES.reshape(1, 2, 4), BOXES, [0, 0], CONFIG), 'candidates',
     r'\(1, 2, 4\)'),
    (lambda: overlaps_from_ious(np.zeros((2, 2)), [0, 0, 0], CONFIG), 'hard', 'hard has 3'),
])
def test_wrong_shapes_raise_input_error(call, param, message):
    with pytest.raises(InputError, match=message) as info:
        call()
    assert info.value.param == param


def test_helpers_accept_what_gluoncv_passes():
    assert as_boxes(np.zeros(0)).shape == (0, 4)
    assert as_boxes([[1, 2, 3, 4]]).dtype == np.float32
    # GluonCV hands flags as (M, 1) columns.
    np.testing.assert_array_equal(as_flags(np.array([[0.], [1.]]), 2, 'hard'), [False, True])
    assert as_flags([0.5], 1, 'hard', dtype=np.float32).tolist() == [0.5]
    assert as_matrix(np.zeros((0, 3)), 'ious').shape == (0, 3)
