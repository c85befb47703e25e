import os

import pytest
from fixtures import make_voc, small_voc, voc_xml, write_image, write_text

from gluoncv_hard.data.problems import ProblemLog
from gluoncv_hard.data.voc import VocParseError, parse_voc_xml, voc_source


def test_coordinates_are_shifted_to_0_based_and_flags_read(tmp_path):
    path = write_text(tmp_path / 'a.xml', voc_xml([
        {'name': 'dog', 'box': (11, 21, 41, 51), 'difficult': 1, 'truncated': 1},
        {'name': ' cat ', 'box': (1.5, 1, 5, 6)},
    ], width=80, height=60))
    width, height, objects = parse_voc_xml(path)
    assert (width, height) == (80, 60)
    dog, cat = objects
    assert (dog.name, dog.xmin, dog.ymin, dog.xmax, dog.ymax) == ('dog', 10, 20, 40, 50)
    assert (dog.difficult, dog.truncated) == (1, 1)
    assert (cat.name, cat.xmin, cat.ymin, cat.xmax, cat.ymax) == ('cat', 0.5, 0, 4, 5)
    # Missing <difficult>/<truncated> mean 0.
    assert (cat.difficult, cat.truncated) == (0, 0)


@pytest.mark.parametrize('size', ['', '<size><width>0</width><height>0</height></size>'])
def test_missing_or_zero_size_is_none(tmp_path, size):
    path = write_text(tmp_path / 'a.xml', '<annotation>{}<object><name>x</name><bndbox><xmin>1'
                      '</xmin><ymin>1</ymin><xmax>3</xmax><ymax>3</ymax></bndbox></object>'
                      '</annotation>'.format(size))
    width, height, objects = parse_voc_xml(path)
    assert width is None and height is None and len(objects) == 1


def test_empty_difficult_is_0(tmp_path):
    path = write_text(tmp_path / 'a.xml', voc_xml([{'name': 'x', 'box': (1, 1, 3, 3),
                                                   'difficult': ''}]))
    assert parse_voc_xml(path)[2][0].difficult == 0


@pytest.mark.parametrize('text,message', [
    ('<annotation><object>', 'malformed XML'),
    ('<annotation><object><bndbox/></object></annotation>', 'object 0: <object> has no <name>'),
    ('<annotation><object><name>dog</name></object></annotation>', 'has no <bndbox>'),
    ('<annotation><object><name>dog</name><bndbox><xmin>a</xmin><ymin>1</ymin><xmax>3</xmax>'
     '<ymax>3</ymax></bndbox></object></annotation>', r"<xmin> is 'a'"),
    ('<annotation><object><name>dog</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>3</xmax>'
     '</bndbox></object></annotation>', '<ymax> is None'),
    ('<annotation><object><name>dog</name><difficult>yes</difficult><bndbox><xmin>1</xmin>'
     '<ymin>1</ymin><xmax>3</xmax><ymax>3</ymax></bndbox></object></annotation>',
     "<difficult> is 'yes'; it must be 0 or 1"),
    ('<annotation><size><width>big</width><height>1</height></size></annotation>',
     '<size> needs numeric'),
])
def test_malformed_xml_names_file_and_problem(tmp_path, text, message):
    path = write_text(tmp_path / 'bad.xml', text)
    with pytest.raises(VocParseError, match=message) as error:
        parse_voc_xml(path)
    assert str(error.value).startswith(path)


def test_voc_source_reads_sets_in_order(tmp_path):
    root = small_voc(tmp_path / 'VOC')
    log = ProblemLog()
    source = voc_source(root, ['val', 'train'], log)
    assert not log.errors
    assert [item.image_id for item in source.items] == ['c', 'a', 'b']
    c = source.items[0]
    assert c.image_path == os.path.join(root, 'JPEGImages', 'c.jpg')
    assert (c.width, c.height) == (50, 70)
    assert c.objects[0].truncated and c.objects[0].hard == 0
    assert source.items[2].objects[0].hard == 1
    assert 'b.xml object 0 (dog)' in source.items[2].objects[0].where


def test_voc_source_without_sets_reads_every_annotation(tmp_path):
    root = small_voc(tmp_path / 'VOC')
    log = ProblemLog()
    assert [i.image_id for i in voc_source(root, None, log).items] == ['a', 'b', 'c']


def test_voc_source_finds_png_images(tmp_path):
    root = make_voc(tmp_path / 'VOC', {'p': (20, 10, [])}, extension='.png')
    item = voc_source(root, ['train'], ProblemLog()).items[0]
    assert item.image_path.endswith(os.path.join('JPEGImages', 'p.png'))


def test_voc_source_reports_every_problem(tmp_path):
    root = small_voc(tmp_path / 'VOC')
    write_text(os.path.join(root, 'Annotations', 'b.xml'), '<annotation>')
    write_text(os.path.join(root, 'ImageSets', 'Main', 'train.txt'), 'a\nb\nmissing\n')
    log = ProblemLog()
    source = voc_source(root, ['train', 'nosuchset'], log)
    assert [i.image_id for i in source.items] == ['a']
    messages = [str(p) for p in log.errors]
    assert len(messages) == 3
    # Set files are read first, then the annotations they list.
    assert 'nosuchset.txt: cannot read the image set' in messages[0]
    assert 'b.xml: malformed XML' in messages[1]
    assert 'train.txt:3: annotation' in messages[2] and 'missing.xml cannot be read' in messages[2]


def test_voc_source_needs_annotations_folder(tmp_path):
    write_image(str(tmp_path / 'x.jpg'), 4, 4)
    log = ProblemLog()
    assert voc_source(str(tmp_path), None, log).items == []
    assert 'no Annotations/ folder' in str(log.errors[0])
