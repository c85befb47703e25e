import pytest
from fixtures import write_text

from gluoncv_hard.data.csv_source import csv_source
from gluoncv_hard.data.problems import ProblemLog


def _read(tmp_path, text):
    log = ProblemLog()
    return csv_source(write_text(tmp_path / 'boxes.csv', text), str(tmp_path), log), log


def test_rows_group_by_image_with_negatives(tmp_path):
    source, log = _read(tmp_path, 'image,xmin,ymin,xmax,ymax,class,hard\n'
                                  'a.jpg,1,2,30,40,dog,1\n'
                                  'b.jpg,,,,,,\n'
                                  'a.jpg, 5, 5, 9.5, 9, cat,\n')
    assert not log.errors
    a, b = source.items
    assert a.image_id == 'a.jpg' and a.where.endswith('boxes.csv:2')
    assert [(o.name, o.xmin, o.ymin, o.xmax, o.ymax, o.hard) for o in a.objects] == [
        ('dog', 1, 2, 30, 40, 1), ('cat', 5, 5, 9.5, 9, 0)]
    assert b.objects == ()
    assert 'boxes.csv:4 (cat in a.jpg)' in a.objects[1].where


def test_hard_column_is_optional(tmp_path):
    source, log = _read(tmp_path, 'image,xmin,ymin,xmax,ymax,class\na.jpg,1,2,3,4,x\n')
    assert not log.errors and source.items[0].objects[0].hard == 0


@pytest.mark.parametrize('header,message', [
    ('image,x0,ymin,xmax,ymax,class', 'missing column(s) xmin'),
    ('image,xmin,ymin,xmax,ymax,class,score', 'unknown column(s) score'),
    ('', 'header is (empty)'),
])
def test_bad_header(tmp_path, header, message):
    source, log = _read(tmp_path, header + '\na.jpg,1,2,3,4,x\n')
    assert source.items == []
    assert message in str(log.errors[0]) and 'boxes.csv:1' in str(log.errors[0])
    assert 'image,xmin,ymin,xmax,ymax,class[,hard]' in str(log.errors[0])


@pytest.mark.parametrize('row,message', [
    ('a.jpg,1,2,3', 'does not have the 7 fields'),
    ('a.jpg,1,2,3,4,x,0,extra', 'does not have the 7 fields'),
    ('a.jpg,1,,3,4,x,0', 'empty ymin'),
    ('a.jpg,1,2,3,four,x,0', 'not numeric'),
    ('a.jpg,1,2,3,4,x,maybe', "hard is 'maybe'"),
    (',1,2,3,4,x,0', 'empty image column'),
])
def test_bad_rows_name_the_line(tmp_path, row, message):
    source, log = _read(tmp_path, 'image,xmin,ymin,xmax,ymax,class,hard\n'
                                  'ok.jpg,1,2,3,4,x,0\n' + row + '\n')
    assert len(log.errors) == 1
    assert message in str(log.errors[0]) and 'boxes.csv:3' in str(log.errors[0])
    assert [item.image_id for item in source.items] == ['ok.jpg']
