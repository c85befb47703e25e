"""predict_dataset: detections per image in data-set order, quietly on a trained network."""
import mxnet as mx
import numpy as np
from gluoncv.data.batchify import FasterRCNNTrainBatchify
from mxnet.gluon.data import SimpleDataset

from gluoncv_hard import FasterRCNNDefaultTrainTransform
from gluoncv_hard.engine.predict import predict_dataset
from gluoncv_hard.modeling.faster_rcnn import label_parts

RNG = np.random.default_rng(0)
IMAGES = [mx.nd.array(RNG.integers(0, 255, (h, 200, 3)), dtype='uint8') for h in (120, 160)]
LABELS = [np.array([[10, 20, 60, 80, 0, 1], [100, 30, 150, 90, 0, 0]], np.float32),
          np.zeros((0, 6), np.float32)]


def test_predictions_in_order_without_unused_parameter_warnings(make_tiny_net, recwarn):
    net = make_tiny_net('tiny')
    net.hybridize(static_alloc=True)
    # One training forward first, as in the train script: validation then rebuilds the graph.
    transform = FasterRCNNDefaultTrainTransform(net.short, net.max_size, net, ashape=net.ashape)
    data, label = (x.as_in_context(mx.cpu()) for x in
                   FasterRCNNTrainBatchify(net, 1)([transform(IMAGES[0], LABELS[0])])[:2])
    with mx.autograd.record():
        net(data, *label_parts(label))
    net.hybridize(static_alloc=True)

    predictions = list(predict_dataset(net, SimpleDataset(list(zip(IMAGES, LABELS))),
                                       [mx.cpu()], indices=[1, 0]))
    assert [p.index for p in predictions] == [1, 0]
    for p, image in zip(predictions, [IMAGES[1], IMAGES[0]]):
        assert p.boxes.shape == (len(p.scores), 4) and p.labels.shape == p.scores.shape
        # Boxes come back in original-image pixels, clipped to the image.
        assert (p.boxes >= 0).all() and (p.boxes[:, [0, 2]] <= image.shape[1]).all()
        assert (p.boxes[:, [1, 3]] <= image.shape[0]).all()
    np.testing.assert_array_equal(predictions[1].gt_label, LABELS[0])
    # The RCNN box encoder's constants serve training only; their warning is noise.
    assert not [w for w in recwarn if 'is not used by any computation' in str(w.message)]


class _WholeInputDetector(mx.gluon.Block):
    """One detection covering the whole network input (inference interface of GluonCV)."""
    short, max_size = 320, 512

    def forward(self, x):
        box = mx.nd.array([[[0, 0, 1e4, 1e4]]], ctx=x.context)
        return mx.nd.zeros((1, 1, 1)), mx.nd.ones((1, 1, 1)) * 0.9, box


def test_boxes_end_at_the_original_image_border():
    # 120x200 resizes to 307x512: GluonCV's scale is 307/120, so the input's right edge maps to
    # x = 200.13 in the original image unless predictions are clipped there.
    image = mx.nd.zeros((120, 200, 3), dtype='uint8')
    dataset = SimpleDataset([(image, np.zeros((0, 6), np.float32))])
    (prediction,) = predict_dataset(_WholeInputDetector(), dataset, [mx.cpu()])
    np.testing.assert_allclose(prediction.boxes, [[0, 0, 200, 120]], atol=1e-4)
