import numpy as np
import pytest
from fixtures import write_image

from gluoncv_hard import schema
from gluoncv_hard.data.items import Source, SourceItem, SourceObject
from gluoncv_hard.data.problems import ProblemLog
from gluoncv_hard.data.validation import validate_items


def _obj(name, box, hard=0, truncated=False):
    return SourceObject(name, *box, hard=hard, truncated=truncated,
                        where='ann.xml object ({})'.format(name))


def _item(path, objects=(), size=(None, None), image_id='img'):
    return SourceItem(image_id, path, 'ann-{}'.format(image_id), size[0], size[1], tuple(objects))


def _validate(items, **kwargs):
    log = ProblemLog()
    result = validate_items([Source('test', items)], log, **kwargs)
    return result, log


@pytest.fixture
def image(tmp_path):
    return write_image(str(tmp_path / 'img.jpg'), 100, 50)


def test_valid_item_becomes_pixel_label(image):
    result, log = _validate([_item(image, [_obj('dog', (10, 5, 30, 25), hard=1),
                                           _obj('cat', (0, 0, 100, 50))], size=(100, 50))])
    assert not log.errors and not log.warnings
    assert result.class_names == ['cat', 'dog']
    record, = result.records
    assert (record.width, record.height) == (100, 50)
    np.testing.assert_array_equal(record.label, [[10, 5, 30, 25, 1, 1], [0, 0, 100, 50, 0, 0]])
    assert record.label.dtype == np.float32
    assert result.hard_boxes_by_reason == {'annotation': 1, 'smaller': 0, 'truncated': 0}


def test_negative_item_gets_empty_label(image):
    result, log = _validate([_item(image)])
    assert not log.errors
    assert result.records[0].label.shape == (0, schema.LABEL_WIDTH)


def test_missing_image(tmp_path):
    result, log = _validate([_item(str(tmp_path / 'gone.jpg'))])
    assert result.records == []
    assert 'ann-img (image {}): image file is missing'.format(tmp_path / 'gone.jpg') in \
        str(log.errors[0])


def test_corrupt_image(tmp_path):
    path = tmp_path / 'bad.jpg'
    path.write_bytes(b'\xff\xd8\xff\xe0\x00\x10JFIF')
    result, log = _validate([_item(str(path))])
    assert result.records == []
    assert 'unreadable image: header is truncated' in str(log.errors[0])
    assert 'bad.jpg' in str(log.errors[0])


def test_truncated_image_body_is_a_warning(tmp_path, image):
    data = open(image, 'rb').read()
    path = tmp_path / 'cut.jpg'
    path.write_bytes(data[:len(data) - 100])
    result, log = _validate([_item(str(path))])
    assert not log.errors and len(result.records) == 1
    assert 'may be truncated' in str(log.warnings[0])


@pytest.mark.parametrize('size,message', [
    ((120, 50), 'annotation says the image is 120x50 but the file is 100x50'),
    ((50, 100), 'width and height swapped'),
])
def test_stated_size_must_match(image, size, message):
    result, log = _validate([_item(image, size=size)])
    assert result.records == [] and message in str(log.errors[0])


@pytest.mark.parametrize('box,message', [
    ((30, 5, 10, 25), 'inverted or has zero area'),
    ((10, 5, 10, 25), 'inverted or has zero area'),
    ((10, 5, float('nan'), 25), 'non-finite'),
    ((-1, 5, 30, 25), 'extends past the 100x50 image'),
    ((10, 5, 30, 51), 'extends past the 100x50 image'),
])
def test_bad_boxes_are_errors(image, box, message):
    _, log = _validate([_item(image, [_obj('dog', box)])])
    assert len(log.errors) == 1
    assert message in str(log.errors[0]) and 'ann.xml object (dog)' in str(log.errors[0])


def test_hard_flag_must_be_0_or_1(image):
    _, log = _validate([_item(image, [_obj('dog', (1, 1, 5, 5), hard=2)])])
    assert 'hard flag is 2; it must be 0 or 1' in str(log.errors[0])


def test_clip_fixes_and_drops_with_warnings(image):
    result, log = _validate([_item(image, [_obj('dog', (-5, 5, 30, 60)),
                                           _obj('cat', (120, 5, 130, 25)),
                                           _obj('cat', (1, 1, 5, 5))])], clip=True)
    assert not log.errors
    assert (result.clipped_boxes, result.dropped_boxes) == (1, 1)
    np.testing.assert_array_equal(result.records[0].label,
                                  [[0, 5, 30, 50, 1, 0], [1, 1, 5, 5, 0, 0]])
    warnings = [str(w) for w in log.warnings]
    assert '= (-5, 5, 30, 60) in 0-based pixels clipped to the 100x50 image: (0, 5, 30, 50)' \
        in warnings[0]
    assert 'lies outside the 100x50 image: dropped' in warnings[1]


def test_unknown_class_with_fixed_list(image):
    result, log = _validate([_item(image, [_obj('dog', (1, 1, 5, 5)), _obj('cow', (1, 1, 5, 5))])],
                            class_names=['dog', 'cat'])
    assert result.class_names == ['dog', 'cat']
    assert len(log.errors) == 1
    assert "ann.xml object (cow): unknown class 'cow'" in str(log.errors[0])
    assert 'known: dog, cat' in str(log.errors[0])


def test_declared_classes_join_inferred_list(image):
    log = ProblemLog()
    result = validate_items([Source('coco', [_item(image, [_obj('b', (1, 1, 5, 5))])],
                                    declared_classes=['c', 'a'])], log)
    assert result.class_names == ['a', 'b', 'c']
    assert result.records[0].label[0, schema.CLASS_ID] == 1


def test_duplicate_image_is_an_error(image):
    result, log = _validate([_item(image, image_id='first'), _item(image, image_id='second')])
    assert len(result.records) == 1
    assert 'image is listed twice (first at ann-first)' in str(log.errors[0])
    assert str(log.errors[0]).startswith('ann-second')


def test_hard_rules(image):
    result, log = _validate([_item(image, [
        _obj('x', (0, 0, 40, 7)),                      # shorter side 7 < 8: hard by size
        _obj('x', (0, 0, 40, 8)),                      # 8 is not below 8
        _obj('x', (0, 0, 40, 20), truncated=True),     # hard by truncation
        _obj('x', (0, 0, 4, 4), hard=1),               # already hard: counted as annotation
    ])], hard_if_smaller=8, hard_if_truncated=True)
    assert not log.errors
    np.testing.assert_array_equal(result.records[0].label[:, schema.HARD], [1, 0, 1, 1])
    assert result.hard_boxes_by_reason == {'annotation': 1, 'smaller': 1, 'truncated': 1}


def test_truncated_is_not_hard_without_the_rule(image):
    result, _ = _validate([_item(image, [_obj('x', (0, 0, 40, 20), truncated=True)])])
    assert result.records[0].label[0, schema.HARD] == 0


def test_all_errors_are_collected(tmp_path, image):
    items = [_item(str(tmp_path / 'gone{}.jpg'.format(i)), image_id=str(i)) for i in range(30)]
    items.append(_item(image, [_obj('dog', (5, 5, 1, 1))], image_id='x'))
    _, log = _validate(items)
    assert len(log.errors) == 31
