"""Per-image records and conversion of GluonCV Faster R-CNN outputs."""
import mxnet as mx
import numpy as np
import pytest

from gluoncv_hard import schema
from gluoncv_hard.errors import TrainingDiverged
from gluoncv_hard.evaluation import faster_rcnn_to_arrays, make_image_record, rescale_boxes


def padded_output():
    ids = np.array([[[1], [0], [-1], [-1]]], dtype=np.float32)
    scores = np.array([[[0.9], [0.4], [-1], [-1]]], dtype=np.float32)
    bboxes = np.array([[[1, 2, 3, 4], [10, 20, 30, 40], [-1, -1, -1, -1], [-1, -1, -1, -1]]],
                      dtype=np.float32)
    return ids, scores, bboxes


@pytest.mark.parametrize('as_ndarray', [False, True])
def test_padding_dropped_and_boxes_rescaled(as_ndarray):
    arrays = padded_output()
    if as_ndarray:
        arrays = [mx.nd.array(a) for a in arrays]
    scale = mx.nd.array([2.0]) if as_ndarray else 2.0
    boxes, scores, labels = faster_rcnn_to_arrays(*arrays, scale=scale)
    np.testing.assert_allclose(boxes, [[2, 4, 6, 8], [20, 40, 60, 80]])
    np.testing.assert_allclose(scores, [0.9, 0.4], rtol=1e-6)
    assert labels.tolist() == [1, 0] and labels.dtype == np.int64


def test_all_padding_gives_empty_arrays():
    ids, scores, bboxes = padded_output()
    boxes, scores, labels = faster_rcnn_to_arrays(np.full_like(ids, -1), scores, bboxes)
    assert boxes.shape == (0, 4) and scores.shape == (0,) and labels.shape == (0,)


def test_batch_of_two_is_rejected():
    ids, scores, bboxes = (np.concatenate([a, a]) for a in padded_output())
    with pytest.raises(ValueError, match='batch of one image'):
        faster_rcnn_to_arrays(ids, scores, bboxes)


@pytest.mark.parametrize('which', [0, 1, 2])
@pytest.mark.parametrize('value', [np.nan, np.inf])
def test_non_finite_network_output_is_divergence_not_bad_input(which, value):
    """A NaN detection comes from the network (exit 3), not from the image (exit 2)."""
    arrays = [a.copy() for a in padded_output()]
    arrays[which][0, 1, 0] = value
    with pytest.raises(TrainingDiverged, match='the network output non-finite detection {}'
                       .format(('ids', 'scores', 'boxes')[which])):
        faster_rcnn_to_arrays(*arrays)


def test_rescale_rejects_non_positive_scale():
    with pytest.raises(ValueError, match='positive'):
        rescale_boxes(np.zeros((1, 4)), 0)


@pytest.mark.slow  # about 15 s on 2 CPU cores (ResNet-50, random weights)
def test_real_faster_rcnn_output_converts():
    from gluoncv import model_zoo
    net = model_zoo.get_model('faster_rcnn_resnet50_v1b_voc', pretrained=False,
                              pretrained_base=False)
    net.initialize()
    ids, scores, bboxes = net(mx.nd.random.uniform(shape=(1, 3, 96, 128)))
    boxes, det_scores, labels = faster_rcnn_to_arrays(ids, scores, bboxes, scale=0.5)
    valid = ids.asnumpy().reshape(-1) >= 0
    assert len(boxes) == len(det_scores) == len(labels) == valid.sum()
    assert labels.min(initial=0) >= 0 and labels.max(initial=0) < len(net.classes)
    np.testing.assert_allclose(boxes, bboxes.asnumpy()[0][valid] * 0.5, rtol=1e-6)
    record = make_image_record(boxes, det_scores, labels, None, len(net.classes))
    assert len(record.det_labels) == valid.sum()


def test_record_accepts_none_padding_and_legacy_labels():
    none = make_image_record(np.zeros((0, 4)), [], [], None, 2)
    padded = make_image_record(np.zeros((0, 4)), [], [], schema.padding_label(), 2)
    assert none.gt_label.shape == padded.gt_label.shape == (0, schema.LABEL_WIDTH)
    legacy = make_image_record(np.zeros((0, 4)), [], [], [[0, 0, 5, 5, 1]], 2)
    assert legacy.gt_label[0, schema.HARD] == 0


@pytest.mark.parametrize('kwargs, message', [
    (dict(det_labels=[2]), r'detection class id 2\.0 is not an integer in \[0, 2\)'),
    (dict(det_labels=[-1]), 'drop padding'),
    (dict(det_labels=[0.5]), 'not an integer'),
    (dict(det_scores=[np.nan]), 'NaN or infinite'),
    (dict(det_scores=[0.5, 0.4]), 'disagree on the number'),
    (dict(det_boxes=[[0, 0, 1]]), r'shape \(K, 4\)'),
    (dict(gt_label=[[0, 0, 5, 5, 3, 0]]), 'ground-truth class id 3'),
    (dict(gt_label=[[0, 0, 5, 5, 0, 2]]), 'hard flag'),
])
def test_bad_input_names_the_image_and_problem(kwargs, message):
    args = dict(det_boxes=[[0, 0, 5, 5]], det_scores=[0.5], det_labels=[0],
                gt_label=[[0, 0, 5, 5, 0, 0]])
    args.update(kwargs)
    with pytest.raises(ValueError, match=message) as error:
        make_image_record(num_classes=2, where='image 7', **args)
    assert 'image 7' in str(error.value)
