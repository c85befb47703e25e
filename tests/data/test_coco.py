import os

import pytest
from fixtures import write_coco, write_text

from gluoncv_hard.data.coco import coco_source
from gluoncv_hard.data.problems import ProblemLog

CATEGORIES = [{'id': 3, 'name': 'zebra'}, {'id': 1, 'name': 'ant'}, {'id': 7, 'name': 'unused'}]
IMAGES = [{'id': 10, 'file_name': 'a.jpg', 'width': 80, 'height': 60},
          {'id': 11, 'file_name': 'sub/b.png'}]


def test_boxes_hard_flags_and_negatives(tmp_path):
    ann = write_coco(tmp_path / 'ann.json', IMAGES, [
        {'id': 1, 'image_id': 10, 'category_id': 3, 'bbox': [10, 20, 30, 5]},
        {'id': 2, 'image_id': 10, 'category_id': 1, 'bbox': [0, 0, 8, 8], 'iscrowd': 1},
        {'id': 3, 'image_id': 10, 'category_id': 1, 'bbox': [1, 1, 4, 4], 'ignore': 1},
    ], CATEGORIES)
    log = ProblemLog()
    source = coco_source(ann, str(tmp_path / 'img'), log)
    assert not log.errors
    assert source.declared_classes == ['ant', 'unused', 'zebra']
    a, b = source.items
    assert a.image_path == os.path.join(str(tmp_path / 'img'), 'a.jpg')
    assert (a.width, a.height) == (80, 60) and (b.width, b.height) == (None, None)
    boxes = [(o.name, o.xmin, o.ymin, o.xmax, o.ymax, o.hard) for o in a.objects]
    assert boxes == [('zebra', 10, 20, 40, 25, 0), ('ant', 0, 0, 8, 8, 1), ('ant', 1, 1, 5, 5, 1)]
    assert b.objects == ()  # an image no annotation refers to is a negative
    assert 'annotations[1] (id 2)' in a.objects[1].where


def test_malformed_json_names_line_and_column(tmp_path):
    ann = write_text(tmp_path / 'ann.json', '{"images": [\n  {"id": 1,}\n]}')
    log = ProblemLog()
    assert coco_source(ann, str(tmp_path), log).items == []
    assert str(log.errors[0]).startswith('{}:2:'.format(ann))
    assert 'malformed JSON' in str(log.errors[0])


def test_not_a_coco_file(tmp_path):
    ann = write_text(tmp_path / 'ann.json', '[1, 2]')
    log = ProblemLog()
    coco_source(ann, str(tmp_path), log)
    assert 'no "images" list' in str(log.errors[0])


@pytest.mark.parametrize('annotation,message', [
    ({'id': 5, 'image_id': 99, 'category_id': 3, 'bbox': [0, 0, 1, 1]}, 'unknown image_id 99'),
    ({'id': 5, 'image_id': 10, 'category_id': 42, 'bbox': [0, 0, 1, 1]}, 'unknown category_id 42'),
    ({'id': 5, 'image_id': 10, 'category_id': 3, 'bbox': [0, 0, 1]}, 'bbox is'),
    ({'id': 5, 'image_id': 10, 'category_id': 3, 'bbox': [0, 0, 1, 1], 'iscrowd': 2},
     '"iscrowd" is 2; it must be 0 or 1'),
    ({'id': 5, 'image_id': 10, 'category_id': 3, 'bbox': [0, 0, 1, 1], 'ignore': '1'},
     '"ignore" is \'1\''),
])
def test_bad_annotations_are_reported_with_their_id(tmp_path, annotation, message):
    ann = write_coco(tmp_path / 'ann.json', IMAGES, [annotation], CATEGORIES)
    log = ProblemLog()
    source = coco_source(ann, str(tmp_path), log)
    assert len(log.errors) == 1
    assert message in str(log.errors[0]) and 'annotations[0] (id 5)' in str(log.errors[0])
    assert all(item.objects == () for item in source.items)


def test_duplicate_ids_are_errors(tmp_path):
    ann = write_coco(tmp_path / 'ann.json', IMAGES + [{'id': 10, 'file_name': 'c.jpg'}], [],
                     CATEGORIES + [{'id': 1, 'name': 'bee'}, {'id': 9, 'name': 'ant'}])
    log = ProblemLog()
    coco_source(ann, str(tmp_path), log)
    messages = '\n'.join(str(p) for p in log.errors)
    assert 'category id 1 is used twice' in messages
    assert "category name 'ant' is used twice" in messages
    assert 'images[2] (image id 10): duplicate image id' in messages
