import os

import numpy as np
import pytest
from fixtures import small_voc, write_image, write_text
from gluoncv import data as gdata

from gluoncv_hard import schema
from gluoncv_hard.data import DataError, LstDetection, RecordFileDetection, VOCDetection
from gluoncv_hard.data.convert import convert_to_lst, default_image_root, format_summary
from gluoncv_hard.data.negatives import negatives_source
from gluoncv_hard.data.problems import ProblemLog
from gluoncv_hard.data.voc import voc_source
from gluoncv_hard.errors import InputError


def _voc_sources(root, sets=('train', 'val'), negatives=()):
    log = ProblemLog()
    sources = [voc_source(root, list(sets), log)]
    sources += [negatives_source(folder, log) for folder in negatives]
    return sources, log


@pytest.fixture
def voc(tmp_path):
    root = small_voc(tmp_path / 'VOC')
    write_image(str(tmp_path / 'bg' / 'n1.png'), 30, 20, seed=5)
    return root, str(tmp_path / 'bg')


def test_lst_and_rec_read_back_like_the_voc_reader(tmp_path, voc):
    root, negatives = voc
    sources, log = _voc_sources(root, negatives=[negatives])
    out = str(tmp_path / 'out' / 'train.lst')
    result = convert_to_lst(sources, out, rec=True, log=log)
    assert result.class_names == ['cat', 'dog']
    assert open(str(tmp_path / 'out' / 'train.classes.txt')).read() == 'cat\ndog\n'
    assert result.image_root == str(tmp_path)
    assert sorted(os.listdir(str(tmp_path / 'out'))) == [
        'train.classes.txt', 'train.idx', 'train.lst', 'train.manifest.json', 'train.rec']

    reference = VOCDetection(root, ('train', 'val'), negatives=[negatives])
    from_lst = LstDetection(out, root=result.image_root)
    from_rec = RecordFileDetection(out[:-4] + '.rec')
    assert len(reference) == len(from_lst) == len(from_rec) == 4
    for i in range(4):
        img, label = reference[i]
        for other in (from_lst, from_rec):
            other_img, other_label = other[i]
            # Bytes are copied, not re-encoded: the decoded pixels are identical.
            np.testing.assert_array_equal(other_img.asnumpy(), img.asnumpy())
            assert other_label.shape == label.shape and other_label.dtype == np.float32
            np.testing.assert_allclose(other_label, label, atol=1e-3)
    assert from_lst[3][1].shape == (0, 6)
    assert from_lst.image_path(3) == os.path.join(str(tmp_path), 'bg', 'n1.png')
    # VOC difficult is the hard column all the way through.
    np.testing.assert_array_equal(from_rec[1][1][:, schema.HARD], [1, 0])


def test_gluoncv_reader_reads_records_with_boxes(tmp_path, voc):
    root, _ = voc
    sources, log = _voc_sources(root)
    out = str(tmp_path / 'train.lst')
    image_root = convert_to_lst(sources, out, rec=True, log=log).image_root
    assert image_root == os.path.join(root, 'JPEGImages')
    ours, theirs = RecordFileDetection(out[:-4] + '.rec'), gdata.RecordFileDetection(
        out[:-4] + '.rec')
    for i in range(len(ours)):
        np.testing.assert_allclose(theirs[i][1], ours[i][1], rtol=1e-6)
    theirs_lst = gdata.LstDetection(out, root=image_root)
    np.testing.assert_allclose(theirs_lst[1][1], LstDetection(out, root=image_root)[1][1],
                               rtol=1e-6)


def test_reencode_packs_jpeg(tmp_path, voc):
    root, negatives = voc
    sources, log = _voc_sources(root, negatives=[negatives])
    out = str(tmp_path / 'r.lst')
    convert_to_lst(sources, out, rec=True, reencode=True, log=log)
    from mxnet import recordio
    record_file = recordio.MXIndexedRecordIO(out[:-4] + '.idx', out[:-4] + '.rec', 'r')
    _, png_as_jpeg = recordio.unpack(record_file.read_idx(3))
    assert png_as_jpeg[:2] == b'\xff\xd8'
    img, label = RecordFileDetection(out[:-4] + '.rec')[3]
    assert img.shape == (20, 30, 3) and label.shape == (0, 6)


def test_errors_write_nothing_and_keep_old_outputs(tmp_path, voc):
    root, _ = voc
    out = tmp_path / 'train.lst'
    out.write_text('old\n')
    os.remove(os.path.join(root, 'JPEGImages', 'b.jpg'))
    write_text(os.path.join(root, 'Annotations', 'c.xml'), '<annotation><object>')
    sources, log = _voc_sources(root)
    with pytest.raises(DataError) as error:
        convert_to_lst(sources, str(out), rec=True, log=log)
    message = str(error.value)
    assert message.startswith('2 errors:')
    assert 'c.xml: malformed XML' in message and 'b.jpg' in message and 'missing' in message
    assert out.read_text() == 'old\n'
    assert sorted(os.listdir(str(tmp_path))) == ['VOC', 'bg', 'train.lst']


def test_failure_while_writing_leaves_no_partial_files(tmp_path, voc, monkeypatch):
    root, _ = voc
    sources, log = _voc_sources(root)
    import gluoncv_hard.data.convert as convert_module

    def exploding_pack(index, fields, image_bytes):
        if index == 1:
            raise OSError('disk full')
        return b'x'
    monkeypatch.setattr(convert_module, 'pack_record', exploding_pack)
    with pytest.raises(InputError, match=r'cannot write the outputs of .*out.lst \(disk full\); '
                                         r'nothing was written') as error:
        convert_to_lst(sources, str(tmp_path / 'out.lst'), rec=True, log=log)
    assert error.value.param == 'out_path'
    assert sorted(os.listdir(str(tmp_path))) == ['VOC', 'bg']


def test_no_image_is_an_error(tmp_path):
    root = small_voc(tmp_path / 'VOC')
    write_text(os.path.join(root, 'ImageSets', 'Main', 'empty.txt'), '')
    sources, log = _voc_sources(root, sets=['empty'])
    with pytest.raises(DataError, match='no image to convert'):
        convert_to_lst(sources, str(tmp_path / 'x.lst'), log=log)


def test_image_root_and_summary(tmp_path, voc):
    root, _ = voc
    sources, log = _voc_sources(root)
    out = str(tmp_path / 'x.lst')
    result = convert_to_lst(sources, out, image_root=root, log=log)
    assert open(out).readline().rstrip('\n').endswith('\t' + os.path.join('JPEGImages', 'a.jpg'))
    summary = format_summary(result)
    assert 'images: 3   negatives (no box): 0   boxes: 4   hard boxes: 1' in summary
    assert 'read it with LstDetection({!r}, root={!r})'.format(out, root) in summary


def test_default_image_root_is_deepest_common_folder(tmp_path):
    paths = [str(tmp_path / 'a' / 'b' / 'x.jpg'), str(tmp_path / 'a' / 'c' / 'y.jpg')]
    assert default_image_root(paths) == str(tmp_path / 'a')
    assert default_image_root(paths[:1]) == str(tmp_path / 'a' / 'b')
