import os

import mxnet as mx
import numpy as np
import pytest
from fixtures import make_voc, small_voc, write_image, write_text
from gluoncv import data as gdata
from mxnet import recordio

from gluoncv_hard import schema
from gluoncv_hard.data import DataError, LstDetection, RecordFileDetection, VOCDetection
from gluoncv_hard.errors import InputNotFoundError


@pytest.fixture
def images(tmp_path):
    return [write_image(str(tmp_path / 'img' / 'a.jpg'), 100, 50),
            write_image(str(tmp_path / 'img' / 'n.png'), 40, 30, seed=1)]


def _write_rec(path, labels_and_images):
    record_file = recordio.MXIndexedRecordIO(path[:-4] + '.idx', path, 'w')
    for i, (label, image_path) in enumerate(labels_and_images):
        with open(image_path, 'rb') as f:
            record_file.write_idx(i, recordio.pack(
                recordio.IRHeader(0, np.array(label, np.float32), i, 0), f.read()))
    record_file.close()
    return path


# --- LstDetection ---------------------------------------------------------------------------

def test_lst_width5_zero_box_and_width6(tmp_path, images):
    lst = write_text(tmp_path / 'x.lst',
                     '0\t4\t5\t100\t50\t2\t0.1\t0.2\t0.5\t0.8\timg/a.jpg\n'
                     '1\t4\t6\t40\t30\timg/n.png\n'
                     '2\t4\t6\t100\t50\t1\t0.1\t0.2\t0.5\t0.8\t1\timg/a.jpg\n')
    dataset = LstDetection(lst, root=str(tmp_path))
    assert isinstance(dataset, gdata.LstDetection) and len(dataset) == 3
    img, label = dataset[0]
    assert isinstance(img, mx.nd.NDArray) and img.shape == (50, 100, 3) and img.dtype == np.uint8
    assert label.dtype == np.float32
    np.testing.assert_allclose(label, [[10, 10, 50, 40, 2, 0]], rtol=1e-6)
    img, label = dataset[1]
    assert img.shape == (30, 40, 3) and label.shape == (0, schema.LABEL_WIDTH)
    np.testing.assert_allclose(dataset[2][1], [[10, 10, 50, 40, 1, 1]], rtol=1e-6)
    assert dataset.image_id(1) == 'img/n.png'
    assert dataset.image_path(1) == os.path.join(str(tmp_path), 'img/n.png')
    # GluonCV's reader cannot parse the zero-box record: the reason ours exists.
    with pytest.raises(ValueError, match='Expected label length'):
        gdata.LstDetection(lst, root=str(tmp_path))[1]


def test_lst_pixel_coordinates(tmp_path, images):
    lst = write_text(tmp_path / 'x.lst', '0\t4\t6\t100\t50\t0\t10\t5\t20\t15\t0\timg/a.jpg\n')
    np.testing.assert_array_equal(
        LstDetection(lst, root=str(tmp_path), coord_normalized=False)[0][1],
        [[10, 5, 20, 15, 0, 0]])


def test_lst_reports_every_bad_line(tmp_path):
    write_image(str(tmp_path / 'ok.jpg'), 100, 50)
    lst = write_text(tmp_path / 'x.lst',
                     '0\t4\t6\t100\t50\t0\t0.1\t0.1\t0.2\t0.2\t0\tgone.jpg\n'
                     '1\t4\t6\t100\t50\t0\t0.1\t0.1\t0.2\tok.jpg\n'
                     '2\t4\t6\t100\t50\t0\t0.3\t0.1\t0.2\t0.2\t0\tok.jpg\n'
                     '3\t4\t6\t100\t50\t0\t0.1\t0.1\t0.2\t0.2\t3\tok.jpg\n')
    with pytest.raises(DataError) as error:
        LstDetection(lst, root=str(tmp_path))
    message = str(error.value)
    assert message.startswith('4 errors:')
    assert "{}:1: image {} does not exist; .lst image paths are relative to root ({!r})".format(
        lst, tmp_path / 'gone.jpg', str(tmp_path)) in message
    assert '{}:2: 4 box fields'.format(lst) in message
    assert '{}:3: box 0 is inverted'.format(lst) in message
    assert '{}:4: box 0 has hard flag 3.0'.format(lst) in message
    # Missing images: the error is about root (the caller's name for it, e.g. data_root).
    assert error.value.param == 'root'
    with pytest.raises(DataError) as error:
        LstDetection(lst, root=str(tmp_path), root_name='data_root')
    assert error.value.param == 'data_root' and 'relative to data_root' in str(error.value)
    # image_check='none': only the lines are checked (no image is opened).
    with pytest.raises(DataError, match='^3 errors:') as error:
        LstDetection(lst, image_check='none')
    assert error.value.param is None


def test_lst_size_mismatch_is_found_at_creation(tmp_path, images):
    lst = write_text(tmp_path / 'x.lst', '0\t4\t6\t50\t100\timg/a.jpg\n'
                                         '1\t4\t6\t40\t30\timg/n.png\n')
    with pytest.raises(DataError, match=r'^1 error:\n.*x.lst:1: the record says the image is '
                                        r'50x100 but it decodes as 100x50'):
        LstDetection(lst, root=str(tmp_path))
    # An image removed after the data set was created: a clear error when it is read.
    lst = write_text(tmp_path / 'y.lst', '0\t4\t6\t40\t30\timg/n.png\n')
    dataset = LstDetection(lst, root=str(tmp_path))
    os.remove(images[1])
    with pytest.raises(InputNotFoundError, match=r'y.lst:1: image .*n.png does not exist'):
        dataset[0]


# --- RecordFileDetection --------------------------------------------------------------------

def test_rec_width5_and_zero_box(tmp_path, images):
    rec = _write_rec(str(tmp_path / 'x.rec'), [
        ([4, 5, 100, 50, 2, 0.1, 0.2, 0.5, 0.8], images[0]),
        ([4, 6, 40, 30], images[1])])
    dataset = RecordFileDetection(rec)
    assert isinstance(dataset, gdata.RecordFileDetection) and len(dataset) == 2
    img, label = dataset[0]
    assert img.shape == (50, 100, 3) and label.dtype == np.float32
    np.testing.assert_allclose(label, [[10, 10, 50, 40, 2, 0]], rtol=1e-6)
    img, label = dataset[1]
    assert img.shape == (30, 40, 3) and label.shape == (0, 6)
    assert dataset.image_id(1) == 1
    with pytest.raises(ValueError, match='Expected label length'):
        gdata.RecordFileDetection(rec)[1]


def test_rec_bad_records_name_the_position(tmp_path, images):
    rec = _write_rec(str(tmp_path / 'x.rec'), [
        ([4, 6, 100, 50, 0, 0.1, 0.1, 0.2], images[0]),
        ([4, 6, 50, 100, 0, 0.1, 0.1, 0.2, 0.2, 0], images[0]),
        ([4, 6, 100, 50, 0, 0.1, 0.1, 0.2, 0.2, 2], images[0]),
        ([4, 6, 100, 50, 0, 0.1, 0.1, 0.2, 0.2, 0], images[0])])
    with pytest.raises(DataError) as error:
        RecordFileDetection(rec)
    message = str(error.value)
    assert message.startswith('3 errors:')
    assert 'x.rec record 0: 4 box fields' in message
    assert 'x.rec record 1: the record says the image is 50x100' in message
    assert 'x.rec record 2: box 0 has hard flag 2.0' in message


def test_rec_without_idx(tmp_path, images):
    rec = _write_rec(str(tmp_path / 'x.rec'), [([4, 6, 100, 50], images[0])])
    os.remove(rec[:-4] + '.idx')
    with pytest.raises(InputNotFoundError, match='x.idx does not exist'):
        RecordFileDetection(rec)


# --- VOCDetection ---------------------------------------------------------------------------

def test_voc_reader_matches_gluoncv_voc_coordinates(tmp_path):
    # GluonCV's reader needs <size> and <difficult> everywhere; ours does not.
    root = make_voc(tmp_path / 'VOC', {
        'a': (80, 60, [{'name': 'dog', 'box': (11, 21, 41, 51), 'difficult': 0}]),
        'b': (64, 48, [{'name': 'dog', 'box': (1, 1, 31, 21), 'difficult': 1},
                       {'name': 'cat', 'box': (33.5, 11, 64, 48), 'difficult': 0}]),
        'c': (50, 70, [{'name': 'cat', 'box': (5, 5, 25, 45), 'difficult': 1}]),
    }, sets={'train': ['a', 'b'], 'val': ['c']})
    ours = VOCDetection(root, splits=('train', 'val'))
    assert ours.classes == ('cat', 'dog') and ours.num_class == 2 and len(ours) == 3
    theirs = gdata.VOCDetection(str(tmp_path), splits=[('VOC', 'train'), ('VOC', 'val')])
    for i in range(len(ours)):
        img, label = ours[i]
        their_img, their_label = theirs[i]
        np.testing.assert_array_equal(img.asnumpy(), their_img.asnumpy())
        # Same boxes and difficult-as-hard; only the class ids differ (their 20 VOC classes).
        np.testing.assert_array_equal(label[:, schema.BOX], their_label[:, :4])
        np.testing.assert_array_equal(label[:, schema.HARD], their_label[:, 5])
        names = [ours.classes[int(c)] for c in label[:, schema.CLASS_ID]]
        assert names == [theirs.classes[int(c)] for c in their_label[:, 4]]
        assert label.dtype == np.float32


def test_voc_reader_negatives_ids_and_paths(tmp_path):
    root = small_voc(tmp_path / 'VOC')
    write_image(str(tmp_path / 'bg' / 'x.jpg'), 20, 10)
    dataset = VOCDetection(root, 'val', negatives=[str(tmp_path / 'bg')])
    assert len(dataset) == 2 and dataset.classes == ('cat',)
    assert [dataset.image_id(i) for i in range(2)] == ['c', 'bg/x.jpg']
    assert dataset.image_path(0) == os.path.join(root, 'JPEGImages', 'c.jpg')
    img, label = dataset[1]
    assert img.shape == (10, 20, 3) and label.shape == (0, 6) and label.dtype == np.float32
    # The label is a copy: callers may modify it.
    dataset[0][1][:] = -5
    assert dataset[0][1][0, 0] == 4


def test_voc_reader_fixed_classes_from_list_or_file(tmp_path):
    root = small_voc(tmp_path / 'VOC')
    classes_file = write_text(tmp_path / 'classes.txt', 'dog\ncat\nbird\n')
    for classes in (['dog', 'cat', 'bird'], classes_file):
        dataset = VOCDetection(root, ('train',), classes=classes)
        assert dataset.classes == ('dog', 'cat', 'bird')
        np.testing.assert_array_equal(dataset[1][1][:, schema.CLASS_ID], [0, 1])


def test_voc_reader_collects_errors(tmp_path):
    root = small_voc(tmp_path / 'VOC')
    os.remove(os.path.join(root, 'JPEGImages', 'a.jpg'))
    with pytest.raises(DataError) as error:
        VOCDetection(root, ('train', 'val'), classes=['dog'])
    message = str(error.value)
    assert message.startswith('3 errors:')
    assert 'a.jpg' in message and 'image file is missing' in message
    assert "b.xml object 1 (cat): unknown class 'cat'" in message
    assert "c.xml object 0 (cat): unknown class 'cat'" in message


def test_voc_reader_clip(tmp_path):
    root = make_voc(tmp_path / 'VOC', {'a': (40, 30, [{'name': 'x', 'box': (0, 1, 45, 20)}])})
    with pytest.raises(DataError, match='extends past the 40x30 image'):
        VOCDetection(root)
    with pytest.warns(UserWarning, match='clipped'):
        dataset = VOCDetection(root, clip=True)
    np.testing.assert_array_equal(dataset[0][1], [[0, 0, 40, 19, 0, 0]])


def test_voc_reader_in_a_dataloader(tmp_path):
    root = small_voc(tmp_path / 'VOC')
    dataset = VOCDetection(root, ('train', 'val')).transform(
        lambda img, label: (mx.image.imresize(img, 32, 32), label.shape[0]))
    loader = mx.gluon.data.DataLoader(dataset, batch_size=3)
    images, counts = next(iter(loader))
    assert images.shape == (3, 32, 32, 3) and counts.asnumpy().tolist() == [1, 2, 1]


# --- COCODetection, NegativeDetection, ConcatDetection ---------------------------------------

def test_coco_reader_hard_flags_and_negatives_and_concat(tmp_path):
    from fixtures import write_coco

    from gluoncv_hard.data import COCODetection, ConcatDetection, NegativeDetection
    write_image(str(tmp_path / 'img' / 'a.jpg'), 80, 60)
    write_image(str(tmp_path / 'img' / 'b.jpg'), 40, 30, seed=1)
    ann = write_coco(tmp_path / 'ann.json', [
        {'id': 1, 'file_name': 'a.jpg', 'width': 80, 'height': 60},
        {'id': 2, 'file_name': 'b.jpg', 'width': 40, 'height': 30}], [
        {'id': 1, 'image_id': 1, 'category_id': 5, 'bbox': [10, 20, 30, 10]},
        {'id': 2, 'image_id': 1, 'category_id': 5, 'bbox': [0, 0, 8, 8], 'iscrowd': 1}],
        [{'id': 5, 'name': 'zebra'}])
    coco = COCODetection(ann, str(tmp_path / 'img'))
    assert coco.classes == ('zebra',) and len(coco) == 2
    img, label = coco[0]
    assert img.shape == (60, 80, 3)
    np.testing.assert_allclose(label, [[10, 20, 40, 30, 0, 0], [0, 0, 8, 8, 0, 1]])
    assert coco[1][1].shape == (0, 6)  # an image without annotations

    write_image(str(tmp_path / 'neg' / 'x.png'), 20, 10)
    negatives = NegativeDetection(str(tmp_path / 'neg'))
    assert negatives.classes == () and negatives[0][1].shape == (0, 6)
    both = ConcatDetection([coco, negatives])
    assert len(both) == 3 and both.image_id(2) == 'neg/x.png'
    assert both[2][0].shape == (10, 20, 3)
    with pytest.raises(IndexError):
        both[3]
    with pytest.raises(DataError, match='negatives folder does not exist'):
        NegativeDetection(str(tmp_path / 'missing'))


def test_rec_reader_pickles_and_labels_read_without_images(tmp_path, images):
    import pickle
    rec = _write_rec(str(tmp_path / 'x.rec'), [
        ([4, 6, 100, 50, 0, 0.1, 0.2, 0.5, 0.8, 1], images[0]), ([4, 6, 40, 30], images[1])])
    dataset = RecordFileDetection(rec, classes=['face'])
    copy = pickle.loads(pickle.dumps(dataset))
    for i in range(2):
        np.testing.assert_array_equal(copy[i][0].asnumpy(), dataset[i][0].asnumpy())
        np.testing.assert_array_equal(copy[i][1], dataset[i][1])
    np.testing.assert_allclose(dataset.annotation(0), [[0.1, 0.2, 0.5, 0.8, 0, 1]], rtol=1e-6)
    assert [dataset.num_boxes(i) for i in range(2)] == [1, 0]


def test_class_mapped_detection_renumbers_by_the_mapping(tmp_path, images):
    from gluoncv_hard.data import ClassMappedDetection
    lst = write_text(tmp_path / 'x.lst', '0\t4\t6\t100\t50\t1\t0.1\t0.2\t0.5\t0.8\t0\timg/a.jpg\n'
                                         '1\t4\t6\t40\t30\timg/n.png\n')
    source = LstDetection(lst, root=str(tmp_path), classes=['dog', 'cat'])
    mapped = ClassMappedDetection(source, [1, 0], ['cat', 'dog'])
    assert mapped.classes == ('cat', 'dog') and len(mapped) == 2
    assert mapped[0][1][0, schema.CLASS_ID] == 0 and mapped.annotation(0)[0, schema.CLASS_ID] == 0
    assert source.annotation(0)[0, schema.CLASS_ID] == 1  # the source is left as it is
    assert mapped[1][1].shape == (0, 6) and mapped.image_id(1) == 'img/n.png'
