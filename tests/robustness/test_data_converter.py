"""Robustness of ``gluoncv-hard-convert``: every bad input, output path and fault gives a clear
error (exit 2, the file or flag named, no traceback) with nothing written, no input changed and
no temporary file left; a few documented behaviours are asserted as such.

Each case builds its inputs under ``tmp_path/in`` and returns the command line; the harness
snapshots the whole of ``tmp_path`` around the run.
"""
import json
import os
import signal
import subprocess
import sys

import pytest
from fixtures import small_voc, voc_xml, write_coco, write_image, write_text

from gluoncv_hard.cli.convert import convert_main
from robustness.harness import changed, clear_error, debris, run_main, snapshot

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def _voc(tmp):
    """The small VOC set of the fixtures (written once per case)."""
    root = os.path.join(tmp, 'in', 'VOC')
    return root if os.path.isdir(root) else small_voc(root)


def _voc_args(tmp, *extra):
    return ['--format', 'voc', '--root', _voc(tmp), '--sets', 'train,val'] + list(extra)


def _xml(tmp, text):
    """The small VOC set with annotation ``a.xml`` replaced by ``text``."""
    root = _voc(tmp)
    write_text(os.path.join(root, 'Annotations', 'a.xml'), text)
    return ['--format', 'voc', '--root', root, '--sets', 'train']


def _size_xml(width, height='60'):
    return ('<annotation><size><width>{}</width><height>{}</height></size><object><name>dog'
            '</name><bndbox><xmin>11</xmin><ymin>21</ymin><xmax>41</xmax><ymax>51</ymax>'
            '</bndbox></object></annotation>'.format(width, height))


def _object_xml(body):
    return '<annotation><object>{}</object></annotation>'.format(body)


GOOD_BOX = '<bndbox><xmin>11</xmin><ymin>21</ymin><xmax>41</xmax><ymax>51</ymax></bndbox>'


def _coco(tmp, images=None, annotations=None, categories=None, raw=None):
    folder = os.path.join(tmp, 'in')
    write_image(os.path.join(folder, 'img', 'a.jpg'), 80, 60)
    path = os.path.join(folder, 'ann.json')
    if raw is not None:
        with open(path, 'wb') as f:
            f.write(raw)
    else:
        write_coco(path, [{'id': 1, 'file_name': 'a.jpg', 'width': 80, 'height': 60}]
                   if images is None else images,
                   [{'id': 1, 'image_id': 1, 'category_id': 1, 'bbox': [10, 10, 20, 20]}]
                   if annotations is None else annotations,
                   [{'id': 1, 'name': 'car'}] if categories is None else categories)
    return ['--format', 'coco', '--ann', path, '--images', os.path.join(folder, 'img')]


def _csv(tmp, text):
    folder = os.path.join(tmp, 'in')
    write_image(os.path.join(folder, 'img', 'a.jpg'), 80, 60)
    write_image(os.path.join(folder, 'img', 'b.jpg'), 40, 30, seed=1)
    path = write_text(os.path.join(folder, 'boxes.csv'), text)
    return ['--format', 'csv', '--csv', path, '--images', os.path.join(folder, 'img')]


CSV_HEADER = 'image,xmin,ymin,xmax,ymax,class,hard\n'


def _out(tmp, name='out/x.lst'):
    return ['--out', os.path.join(tmp, name)]


def _undecodable_jpeg(path):
    write_image(path, 40, 30)
    with open(path, 'r+b') as f:
        f.seek(200)  # past the header: the size still reads, the pixels do not decode
        f.write(b'\xff\xd9' + b'\0' * 64)


def case_out_is_rec(tmp):
    return _voc_args(tmp, '--rec') + _out(tmp, 'v.rec'), ['--out', 'ends with .rec']


def case_out_is_idx(tmp):
    return _voc_args(tmp, '--rec') + _out(tmp, 'v.idx'), ['--out', 'ends with .idx']


def case_out_is_rec_without_rec(tmp):
    return _voc_args(tmp) + _out(tmp, 'v.rec'), ['ends with .rec']


def case_out_is_manifest(tmp):
    return _voc_args(tmp) + _out(tmp, 'v.manifest.json'), ['ends with .manifest.json']


def case_out_is_classes_name(tmp):
    return _voc_args(tmp) + _out(tmp, 'v.classes.txt'), ['ends with .classes.txt']


def case_out_is_the_coco_input(tmp):
    args = _coco(tmp)
    return args + ['--out', args[3]], ['--out', 'is an input of this conversion', 'ann.json']


def case_out_is_the_csv_input(tmp):
    args = _csv(tmp, CSV_HEADER + 'a.jpg,1,1,9,9,car,0\n')
    return args + ['--out', args[3]], ['is an input of this conversion', 'boxes.csv']


def case_out_is_the_class_file(tmp):
    classes = write_text(os.path.join(tmp, 'in', 'c.txt'), 'cat\ndog\n')
    return _voc_args(tmp, '--classes', classes) + ['--out', classes], ['c.txt', 'is an input']


def case_out_is_a_voc_annotation(tmp):
    root = _voc(tmp)
    return _voc_args(tmp) + ['--out', os.path.join(root, 'Annotations', 'a.xml')], [
        'a.xml', 'is an input of this conversion']


def case_out_is_an_image(tmp):
    root = _voc(tmp)
    return _voc_args(tmp) + ['--out', os.path.join(root, 'JPEGImages', 'b.jpg')], [
        'b.jpg', 'is an input of this conversion']


def case_out_is_a_hard_link_to_the_input(tmp):
    args = _coco(tmp)
    link = os.path.join(tmp, 'in', 'link.json')
    os.link(args[3], link)
    return args + ['--out', link], ['link.json', 'is an input of this conversion']


def case_out_is_a_symlink_to_the_input(tmp):
    args = _coco(tmp)
    link = os.path.join(tmp, 'in', 'sym.json')
    os.symlink(args[3], link)
    return args + ['--out', link], ['sym.json', 'is an input of this conversion']


def case_rec_output_is_the_coco_input(tmp):
    folder = os.path.join(tmp, 'in')
    write_image(os.path.join(folder, 'img', 'a.jpg'), 80, 60)
    ann = write_coco(os.path.join(folder, 'ann.rec'), [
        {'id': 1, 'file_name': 'a.jpg', 'width': 80, 'height': 60}], [], [])
    return ['--format', 'coco', '--ann', ann, '--images', os.path.join(folder, 'img'), '--rec',
            '--out', os.path.join(folder, 'ann.lst')], ['ann.rec', 'is an input']


def case_out_is_a_folder(tmp):
    os.makedirs(os.path.join(tmp, 'out', 'x.lst'))
    return _voc_args(tmp) + _out(tmp), ['x.lst (the .lst) is a folder']


def case_out_ends_with_a_slash(tmp):
    return _voc_args(tmp) + ['--out', os.path.join(tmp, 'out') + os.sep], ['must name the .lst']


def case_classes_output_is_a_folder(tmp):
    os.makedirs(os.path.join(tmp, 'out', 'x.classes.txt'))
    return _voc_args(tmp) + _out(tmp), ['x.classes.txt (the class list) is a folder']


def case_rec_output_is_a_folder(tmp):
    os.makedirs(os.path.join(tmp, 'out', 'x.idx'))
    return _voc_args(tmp, '--rec') + _out(tmp), ['x.idx (the .idx) is a folder']


def case_output_folder_under_a_file(tmp):
    write_text(os.path.join(tmp, 'out'), 'a file\n')
    return _voc_args(tmp) + _out(tmp, 'out/sub/x.lst'), ['is a file, not a folder']


def case_missing_output_folders_are_created(tmp):
    return _voc_args(tmp) + _out(tmp, 'new/deeper/x.lst'), None


def case_image_root_not_holding_the_images(tmp):
    other = os.path.join(tmp, 'in', 'elsewhere')
    os.makedirs(other)
    return _voc_args(tmp, '--image-root', other) + _out(tmp), ['is not below image_root']


def case_reencode_undecodable_jpeg(tmp):
    folder = os.path.join(tmp, 'in', 'neg')
    _undecodable_jpeg(os.path.join(folder, 'a.jpg'))
    return ['--negatives', folder, '--rec', '--reencode'] + _out(tmp), [
        '--reencode: 1 error', 'a.jpg: OpenCV cannot decode']


def case_reencode_two_undecodable_jpegs(tmp):
    folder = os.path.join(tmp, 'in', 'neg')
    _undecodable_jpeg(os.path.join(folder, 'a.jpg'))
    write_image(os.path.join(folder, 'b.jpg'), 30, 30)
    _undecodable_jpeg(os.path.join(folder, 'c.jpg'))
    return ['--negatives', folder, '--rec', '--reencode'] + _out(tmp), [
        '2 errors', 'a.jpg: OpenCV cannot decode', 'c.jpg: OpenCV cannot decode']


def case_voc_width_inf(tmp):
    return _xml(tmp, _size_xml('inf')) + _out(tmp), ['a.xml: <size> gives width x height = inf']


def case_voc_width_nan(tmp):
    return _xml(tmp, _size_xml('nan')) + _out(tmp), ['a.xml: <size> gives width x height = nan']


def case_voc_width_fraction(tmp):
    return _xml(tmp, _size_xml('80.5')) + _out(tmp), ['a.xml: <size>', 'whole pixels']


def case_voc_width_negative(tmp):
    return _xml(tmp, _size_xml('-80')) + _out(tmp), ['a.xml: <size>', 'whole pixels']


def case_voc_width_text(tmp):
    return _xml(tmp, _size_xml('wide')) + _out(tmp), ['a.xml: <size> needs numeric <width>']


def case_voc_root_not_annotation(tmp):
    return _xml(tmp, '<html><object><name>dog</name></object></html>') + _out(tmp), [
        'a.xml: the root element is <html>, not <annotation>']


def case_voc_malformed_xml(tmp):
    return _xml(tmp, '<annotation><object>') + _out(tmp), ['a.xml: malformed XML']


def case_voc_not_xml_at_all(tmp):
    return _xml(tmp, '\x00\x01binary') + _out(tmp), ['a.xml: malformed XML']


def case_voc_object_without_name(tmp):
    return _xml(tmp, _object_xml(GOOD_BOX)) + _out(tmp), ['has no <name>']


def case_voc_object_without_box(tmp):
    return _xml(tmp, _object_xml('<name>dog</name>')) + _out(tmp), ['has no <bndbox>']


def case_voc_box_text(tmp):
    return _xml(tmp, _object_xml('<name>dog</name><bndbox><xmin>one</xmin></bndbox>')) + \
        _out(tmp), ["<bndbox><xmin> is 'one'"]


def case_voc_box_inf(tmp):
    box = GOOD_BOX.replace('<xmax>41', '<xmax>inf')
    return _xml(tmp, _object_xml('<name>dog</name>' + box)) + _out(tmp), [
        'non-finite coordinate']


def case_voc_box_nan(tmp):
    box = GOOD_BOX.replace('<ymin>21', '<ymin>nan')
    return _xml(tmp, _object_xml('<name>dog</name>' + box)) + _out(tmp), [
        'non-finite coordinate']


def case_voc_box_inverted(tmp):
    box = GOOD_BOX.replace('<xmax>41', '<xmax>5')
    return _xml(tmp, _object_xml('<name>dog</name>' + box)) + _out(tmp), ['inverted']


def case_voc_box_outside(tmp):
    box = GOOD_BOX.replace('<xmax>41', '<xmax>400')
    return _xml(tmp, _object_xml('<name>dog</name>' + box)) + _out(tmp), [
        'extends past the 80x60 image', '--clip']


def case_voc_difficult_two(tmp):
    return _xml(tmp, _object_xml('<name>dog</name><difficult>2</difficult>' + GOOD_BOX)) + \
        _out(tmp), ['hard flag is 2']


def case_voc_difficult_text(tmp):
    return _xml(tmp, _object_xml('<name>dog</name><difficult>yes</difficult>' + GOOD_BOX)) + \
        _out(tmp), ["<difficult> is 'yes'"]


def case_voc_name_with_a_newline(tmp):
    return _xml(tmp, _object_xml('<name>big\ndog</name>' + GOOD_BOX)) + _out(tmp), [
        'contains a control character']


def case_voc_image_set_climbs_out(tmp):
    root = _voc(tmp)
    write_text(os.path.join(root, 'ImageSets', 'Main', 'train.txt'), 'a\n../../secret\n')
    return ['--format', 'voc', '--root', root, '--sets', 'train'] + _out(tmp), [
        "train.txt:2: image id '../../secret' leads outside the VOC folder"]


def case_voc_missing_image_set(tmp):
    return ['--format', 'voc', '--root', _voc(tmp), '--sets', 'nope'] + _out(tmp), [
        'nope.txt: cannot read the image set']


def case_voc_missing_image(tmp):
    root = _voc(tmp)
    os.remove(os.path.join(root, 'JPEGImages', 'a.jpg'))
    return _voc_args(tmp) + _out(tmp), ['a.jpg', 'image file is missing']


def case_voc_image_is_text(tmp):
    root = _voc(tmp)
    write_text(os.path.join(root, 'JPEGImages', 'a.jpg'), 'not an image\n')
    return _voc_args(tmp) + _out(tmp), ['a.jpg', 'unreadable image']


def case_voc_image_is_empty(tmp):
    root = _voc(tmp)
    write_text(os.path.join(root, 'JPEGImages', 'a.jpg'), '')
    return _voc_args(tmp) + _out(tmp), ['a.jpg', 'unreadable image']


def case_voc_image_header_cut(tmp):
    root = _voc(tmp)
    path = os.path.join(root, 'JPEGImages', 'a.jpg')
    with open(path, 'rb') as f:
        head = f.read(40)
    with open(path, 'wb') as f:
        f.write(head)
    return _voc_args(tmp) + _out(tmp), ['a.jpg', 'header is truncated']


def case_voc_size_differs_from_image(tmp):
    root = _voc(tmp)
    write_text(os.path.join(root, 'Annotations', 'a.xml'), voc_xml(
        [{'name': 'dog', 'box': (11, 21, 41, 51)}], 60, 80))
    return _voc_args(tmp) + _out(tmp), ['annotation says the image is 60x80 but the file is '
                                        '80x60', 'swapped']


def case_voc_image_listed_twice(tmp):
    root = _voc(tmp)
    write_text(os.path.join(root, 'ImageSets', 'Main', 'val.txt'), 'c\na\n')
    return _voc_args(tmp) + _out(tmp), ['image is listed twice']


def case_voc_unknown_class(tmp):
    classes = write_text(os.path.join(tmp, 'in', 'c.txt'), 'dog\n')
    return _voc_args(tmp, '--classes', classes) + _out(tmp), ["unknown class 'cat'"]


def case_coco_image_id_list(tmp):
    return _coco(tmp, images=[{'id': [1], 'file_name': 'a.jpg'}]) + _out(tmp), [
        'images[0]: image id [1] is not an integer']


def case_coco_annotation_id_list(tmp):
    return _coco(tmp, annotations=[{'id': [1, 2], 'image_id': 1, 'category_id': 1,
                                    'bbox': [1, 1, 5, 5]}]) + _out(tmp), [
        'annotations[0]: annotation id [1, 2] is not an integer']


def case_coco_category_id_list(tmp):
    return _coco(tmp, categories=[{'id': [1], 'name': 'car'}]) + _out(tmp), [
        'categories[0]: category id [1] is not an integer']


def case_coco_category_id_dict(tmp):
    return _coco(tmp, categories=[{'id': {'a': 1}, 'name': 'car'}]) + _out(tmp), [
        'category id', 'is not an integer']


def case_coco_reference_by_list(tmp):
    return _coco(tmp, annotations=[{'id': 1, 'image_id': [1], 'category_id': 1,
                                    'bbox': [1, 1, 5, 5]}]) + _out(tmp), [
        'refers to unknown image_id [1]']


def case_coco_category_reference_by_dict(tmp):
    return _coco(tmp, annotations=[{'id': 1, 'image_id': 1, 'category_id': {'x': 1},
                                    'bbox': [1, 1, 5, 5]}]) + _out(tmp), [
        "refers to unknown category_id {'x': 1}"]


def case_coco_file_name_int(tmp):
    return _coco(tmp, images=[{'id': 1, 'file_name': 7}]) + _out(tmp), [
        'images[0]: file_name 7 is not a string']


def case_coco_file_name_list(tmp):
    return _coco(tmp, images=[{'id': 1, 'file_name': ['a.jpg']}]) + _out(tmp), [
        "file_name ['a.jpg'] is not a string"]


def case_coco_deep_json(tmp):
    return _coco(tmp, raw=b'[' * 100000 + b']' * 100000) + _out(tmp), [
        'ann.json: JSON nested too deeply']


def case_coco_deep_json_in_an_object(tmp):
    raw = b'{"images": ' + b'[' * 100000 + b']' * 100000 + b'}'
    return _coco(tmp, raw=raw) + _out(tmp), ['ann.json: JSON nested too deeply']


def case_coco_not_utf8(tmp):
    return _coco(tmp, raw=b'\xff\xfe{\x00}') + _out(tmp), ['ann.json: not UTF-8 text']


def case_coco_malformed_json(tmp):
    return _coco(tmp, raw=b'{"images": [}') + _out(tmp), ['ann.json:1:13: malformed JSON']


def case_coco_top_level_list(tmp):
    return _coco(tmp, raw=b'[]') + _out(tmp), ['not a COCO detection file']


def case_coco_annotations_not_a_list(tmp):
    raw = json.dumps({'images': [], 'annotations': {'a': 1}, 'categories': []}).encode()
    return _coco(tmp, raw=raw) + _out(tmp), ['"annotations" is a dict, not a list']


def case_coco_duplicate_annotation_id(tmp):
    annotation = {'id': 4, 'image_id': 1, 'category_id': 1, 'bbox': [1, 1, 5, 5]}
    return _coco(tmp, annotations=[annotation, dict(annotation, bbox=[20, 20, 5, 5])]) + \
        _out(tmp), ['annotations[1] (id 4): annotation id 4 is used twice (first at '
                    'annotations[0])']


def case_coco_duplicate_image_id(tmp):
    image = {'id': 1, 'file_name': 'a.jpg'}
    return _coco(tmp, images=[image, image]) + _out(tmp), ['duplicate image id']


def case_coco_category_name_not_a_string(tmp):
    return _coco(tmp, categories=[{'id': 1, 'name': ['car']}]) + _out(tmp), [
        "category name ['car'] is not a non-empty string"]


def case_coco_category_name_with_nul(tmp):
    return _coco(tmp, categories=[{'id': 1, 'name': 'c\x00r'}]) + _out(tmp), [
        'contains a control character']


def case_coco_bbox_strings(tmp):
    return _coco(tmp, annotations=[{'id': 1, 'image_id': 1, 'category_id': 1,
                                    'bbox': ['1', '1', '5', '5']}]) + _out(tmp), [
        'must be [x, y, width, height]']


def case_coco_iscrowd_text(tmp):
    return _coco(tmp, annotations=[{'id': 1, 'image_id': 1, 'category_id': 1,
                                    'bbox': [1, 1, 5, 5], 'iscrowd': 'yes'}]) + _out(tmp), [
        '"iscrowd" is \'yes\'']


def case_coco_iscrowd_true(tmp):
    return _coco(tmp, annotations=[{'id': 1, 'image_id': 1, 'category_id': 1,
                                    'bbox': [1, 1, 5, 5], 'iscrowd': True}]) + _out(tmp), [
        '"iscrowd" is True']


def case_coco_fractional_image_size(tmp):
    return _coco(tmp, images=[{'id': 1, 'file_name': 'a.jpg', 'width': 80.5,
                               'height': 60}]) + _out(tmp), ['width x height = 80.5 x 60']


def case_coco_missing_image_file(tmp):
    return _coco(tmp, images=[{'id': 1, 'file_name': 'gone.jpg'}]) + _out(tmp), [
        'gone.jpg', 'image file is missing']


def case_csv_class_column_twice(tmp):
    return _csv(tmp, 'image,xmin,ymin,xmax,ymax,class,class\na.jpg,1,1,9,9,car,dog\n') + \
        _out(tmp), ['boxes.csv:1: header is', 'column(s) named twice: class']


def case_csv_duplicate_row(tmp):
    return _csv(tmp, CSV_HEADER + 'a.jpg,1,1,9,9,car,0\nb.jpg,1,1,9,9,car,0\n'
                'a.jpg,1,1,9,9,car,0\n') + _out(tmp), ['boxes.csv:4: the row repeats line 2']


def case_csv_negative_and_box_rows(tmp):
    return _csv(tmp, CSV_HEADER + 'a.jpg,,,,,,\na.jpg,1,1,9,9,car,0\n') + _out(tmp), [
        'boxes.csv:2: image a.jpg has this row without a box', '1 box row(s)']


def case_csv_missing_column(tmp):
    return _csv(tmp, 'image,xmin,ymin,xmax,ymax\na.jpg,1,1,9,9\n') + _out(tmp), [
        'missing column(s) class']


def case_csv_unknown_column(tmp):
    return _csv(tmp, CSV_HEADER[:-1] + ',score\na.jpg,1,1,9,9,car,0,0.5\n') + _out(tmp), [
        'unknown column(s) score']


def case_csv_class_with_nul(tmp):
    return _csv(tmp, CSV_HEADER + 'a.jpg,1,1,9,9,c\x00r,0\n') + _out(tmp), [
        'contains a control character']


def case_csv_box_not_numeric(tmp):
    return _csv(tmp, CSV_HEADER + 'a.jpg,1,one,9,9,car,0\n') + _out(tmp), ['is not numeric']


def case_csv_hard_two(tmp):
    return _csv(tmp, CSV_HEADER + 'a.jpg,1,1,9,9,car,2\n') + _out(tmp), ['hard flag is 2.0']


def case_csv_short_row(tmp):
    return _csv(tmp, CSV_HEADER + 'a.jpg,1,1\n') + _out(tmp), [
        'boxes.csv:2: row does not have the 7 fields']


def case_csv_not_utf8(tmp):
    args = _csv(tmp, '')
    with open(args[3], 'wb') as f:
        f.write(CSV_HEADER.encode() + b'\xff\xfe.jpg,1,1,9,9,car,0\n')
    return args + _out(tmp), ['boxes.csv', 'malformed CSV']


def case_csv_empty_image(tmp):
    return _csv(tmp, CSV_HEADER + ',1,1,9,9,car,0\n') + _out(tmp), ['empty image column']


def case_negatives_missing_folder(tmp):
    return ['--negatives', os.path.join(tmp, 'in', 'none')] + _out(tmp), [
        'negatives folder does not exist']


def case_negatives_folder_without_images(tmp):
    folder = os.path.join(tmp, 'in', 'txt')
    write_text(os.path.join(folder, 'readme.txt'), 'x\n')
    return ['--negatives', folder] + _out(tmp), ['negatives folder holds no image']


def case_classes_file_with_nul(tmp):
    classes = write_text(os.path.join(tmp, 'in', 'c.txt'), 'cat\nd\x00g\n')
    return _voc_args(tmp, '--classes', classes) + _out(tmp), [
        '--classes', 'c.txt:2: class name', 'control character']


def case_classes_file_with_a_duplicate(tmp):
    classes = write_text(os.path.join(tmp, 'in', 'c.txt'), 'cat\ndog\ncat\n')
    return _voc_args(tmp, '--classes', classes) + _out(tmp), ["class 'cat' is listed twice"]


def case_classes_file_missing(tmp):
    return _voc_args(tmp, '--classes', os.path.join(tmp, 'in', 'none.txt')) + _out(tmp), [
        '--classes', 'none.txt']


def case_classes_file_binary(tmp):
    path = os.path.join(tmp, 'in', 'c.txt')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'wb') as f:
        f.write(b'\xff\xfe\xfa')
    return _voc_args(tmp, '--classes', path) + _out(tmp), ['c.txt: not UTF-8 text']


ERROR_CASES = {name[len('case_'):]: function for name, function in sorted(globals().items())
               if name.startswith('case_')}
DOCUMENTED = ('missing_output_folders_are_created',)


@pytest.mark.parametrize('name', sorted(ERROR_CASES))
def test_bad_input_is_a_clear_error_and_writes_nothing(name, tmp_path, capsys):
    tmp = str(tmp_path)
    os.makedirs(os.path.join(tmp, 'in'), exist_ok=True)
    argv, needles = ERROR_CASES[name](tmp)
    before = snapshot(tmp)
    status = run_main(convert_main, argv + ['--no-progress'])
    err = capsys.readouterr().err
    assert debris(tmp) == []
    if name in DOCUMENTED:
        # Documented: a missing output folder (and its parents) is created.
        assert status == 0, err
        assert set(changed(before, snapshot(tmp))) == {
            'new/deeper/x.lst', 'new/deeper/x.classes.txt', 'new/deeper/x.manifest.json'}
        return
    clear_error(status, err, *needles)
    assert changed(before, snapshot(tmp)) == []


# --- outputs replaced as a set, over an earlier conversion ----------------------------------

def test_a_rerun_replaces_the_whole_set_and_keeps_the_class_file_input(tmp_path, capsys):
    """Documented: converting again to the same --out replaces the set; --classes may name the
    class list written there (it is rewritten with the same names)."""
    tmp = str(tmp_path)
    out = os.path.join(tmp, 'x.lst')
    assert convert_main(_voc_args(tmp, '--rec') + ['--out', out, '--no-progress']) == 0
    first = snapshot(tmp)
    classes = os.path.join(tmp, 'x.classes.txt')
    assert convert_main(_voc_args(tmp, '--rec', '--classes', classes, '--hard-if-smaller', '25')
                        + ['--out', out, '--no-progress']) == 0
    capsys.readouterr()
    second = snapshot(tmp)
    assert second['x.classes.txt'] == first['x.classes.txt']
    assert {'x.lst', 'x.rec', 'x.manifest.json'} <= set(changed(first, second))
    from gluoncv_hard.data.datasets import open_dataset
    dataset, names = open_dataset('rec', out[:-4] + '.rec')
    assert names == ['cat', 'dog'] and len(dataset) == 3


# --- faults of the file system --------------------------------------------------------------

@pytest.fixture
def tiny_tmpfs(tmp_path):
    """A 96 KiB tmpfs mounted under tmp_path (needs root and mount; skipped otherwise)."""
    point = tmp_path / 'small'
    point.mkdir()
    if os.geteuid() != 0 or subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=96k', 'tmpfs',
                                            str(point)], capture_output=True,
                                           check=False).returncode:
        pytest.skip('cannot mount a tmpfs here (not root, or no mount permission)')
    yield str(point)
    subprocess.run(['umount', '-l', str(point)], check=False)


def _big_voc(tmp):
    """A VOC set of 6 noisy 160x160 JPEGs: about 200 KiB, more than the tiny tmpfs holds."""
    from fixtures import make_voc
    return make_voc(os.path.join(tmp, 'in', 'BIG'), {
        'i{}'.format(k): (160, 160, [{'name': 'cat', 'box': (11, 11, 60, 60)}])
        for k in range(6)})


def test_a_full_disk_is_a_clear_error_with_nothing_left(tiny_tmpfs, tmp_path, capsys):
    root = _big_voc(str(tmp_path))
    write_text(os.path.join(tiny_tmpfs, 'x.lst'), 'old list\n')
    before = snapshot(tiny_tmpfs)
    status = convert_main(['--format', 'voc', '--root', root, '--out',
                           os.path.join(tiny_tmpfs, 'x.lst'), '--rec', '--no-progress'])
    clear_error(status, capsys.readouterr().err, '--out: cannot write the outputs of',
                'No space left on device', 'nothing was written', 'free some space')
    assert snapshot(tiny_tmpfs) == before and debris(tiny_tmpfs) == []


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder that cannot be written: a read-only tmpfs as root, else chmod 555."""
    point = tmp_path / 'ro'
    point.mkdir()
    write_text(str(point / 'keep.txt'), 'x\n')
    if os.geteuid() == 0:
        if subprocess.run(['mount', '-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', str(point)],
                          capture_output=True, check=False).returncode:
            pytest.skip('root, but cannot mount a read-only tmpfs here')
        yield str(point)
        subprocess.run(['umount', '-l', str(point)], check=False)
    else:
        point.chmod(0o555)
        yield str(point)
        point.chmod(0o755)


def test_a_read_only_output_folder_is_refused_before_any_work(read_only_folder, tmp_path,
                                                              capsys):
    for out in ('x.lst', 'sub/x.lst'):
        status = convert_main(_voc_args(str(tmp_path)) + [
            '--out', os.path.join(read_only_folder, out), '--no-progress'])
        clear_error(status, capsys.readouterr().err, '--out: cannot write into',
                    read_only_folder, 'read-only')


_LIMITED = """
import resource, signal, sys
sys.path[:0] = {paths!r}
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (60000, 60000))
from gluoncv_hard.cli.convert import convert_main
sys.exit(convert_main({argv!r}))
"""


@pytest.mark.slow
def test_a_write_the_kernel_refuses_is_a_clear_error(tmp_path):
    """A real failing write without root: files may not grow past 60 kB (RLIMIT_FSIZE), so
    packing the .rec fails inside ``write`` with EFBIG, as on a full disk."""
    root = _big_voc(str(tmp_path))
    out = os.path.join(str(tmp_path), 'out', 'x.lst')
    os.makedirs(os.path.dirname(out))
    before = snapshot(str(tmp_path))
    code = _LIMITED.format(paths=[ROOT, os.path.join(ROOT, 'tests')], argv=[
        '--format', 'voc', '--root', root, '--out', out, '--rec', '--no-progress'])
    run = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         timeout=120, check=False)
    clear_error(run.returncode, run.stderr, '--out: cannot write the outputs of',
                'File too large', 'nothing was written')
    assert changed(before, snapshot(str(tmp_path))) == [] and debris(str(tmp_path)) == []


# --- a kill between the renames of the set --------------------------------------------------

_KILL_AT_RENAME = """
import os, signal, sys
sys.path[:0] = {paths!r}
real, count = os.replace, [0]
def replace(src, dst):
    if count[0] == {kill_at}:
        os.kill(os.getpid(), signal.SIGKILL)
    count[0] += 1
    real(src, dst)
os.replace = replace
from gluoncv_hard.cli.convert import convert_main
sys.exit(convert_main({argv!r}))
"""


def _read_set(out, root):
    """What each reader makes of a conversion's outputs: ``(images, classes, labels)``, or
    ``'refused'`` (a clear error)."""
    from gluoncv_hard.data.datasets import open_dataset
    from gluoncv_hard.errors import InputError
    outcomes = []
    for kind, path in (('lst', out), ('rec', out[:-4] + '.rec')):
        try:
            dataset, classes = open_dataset(kind, path, data_root=os.path.join(root,
                                                                               'JPEGImages'))
            outcomes.append((len(dataset), classes,
                             [dataset[i][1].round(3).tolist() for i in range(len(dataset))]))
        except InputError as e:
            assert any(word in str(e) for word in ('manifest', '.idx', '.rec')), str(e)
            outcomes.append('refused')
    return outcomes


@pytest.mark.slow
@pytest.mark.parametrize('kill_at', range(6))
def test_a_set_mixed_by_a_kill_between_renames_is_refused(tmp_path, kill_at):
    """The set is renamed .rec, .idx, .classes.txt, .lst, .manifest.json. Killed (SIGKILL)
    before rename ``kill_at``, the files on disk mix two conversions; every reader must then
    read one whole conversion or refuse with a clear error, never a mix."""
    tmp = str(tmp_path)
    root = _voc(tmp)
    classes = write_text(os.path.join(tmp, 'in', 'c.txt'), 'dog\ncat\n')
    old_args = ['--format', 'voc', '--root', root, '--rec', '--sets', 'train', '--no-progress']
    new_args = ['--format', 'voc', '--root', root, '--rec', '--sets', 'val,train', '--classes',
                classes, '--no-progress']
    references = []
    for args, name in ((old_args, 'old'), (new_args, 'new')):
        reference = os.path.join(tmp, name, 'x.lst')
        assert convert_main(args + ['--out', reference]) == 0
        references.append(_read_set(reference, root)[0])
    assert references[0][:2] == (2, ['cat', 'dog']) and references[1][:2] == (3, ['dog', 'cat'])
    out = os.path.join(tmp, 'out', 'x.lst')
    assert convert_main(old_args + ['--out', out]) == 0
    code = _KILL_AT_RENAME.format(paths=[ROOT], kill_at=kill_at, argv=new_args + ['--out', out])
    run = subprocess.run([sys.executable, '-c', code], capture_output=True, timeout=300,
                         check=False)
    assert run.returncode == (-signal.SIGKILL if kill_at < 5 else 0), run.stderr
    outcomes = _read_set(out, root)
    for outcome in outcomes:
        assert outcome == 'refused' or outcome in references, outcome
    if kill_at == 0:
        assert outcomes == [references[0]] * 2  # nothing renamed: the old set, whole
    elif kill_at == 5:
        assert outcomes == [references[1]] * 2  # everything renamed: the new set, whole
    else:
        # Part of the new set is in place: whatever holds a new file is refused.
        assert outcomes == ['refused', 'refused'] if kill_at >= 3 else \
            outcomes == [references[0], 'refused']
