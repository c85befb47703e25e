"""End-to-end runs of ``gluoncv-hard-convert`` and ``gluoncv-hard-lst-stats`` through their
entry points (argv in, exit status out)."""
import json
import os

import numpy as np
import pytest
from fixtures import small_voc, write_coco, write_image, write_text

from gluoncv_hard import schema
from gluoncv_hard.cli.convert import convert_main
from gluoncv_hard.cli.lst_stats import main as stats_main
from gluoncv_hard.data import LstDetection, RecordFileDetection


def _read_lst(path):
    return [line.rstrip('\n').split('\t') for line in open(path)]


def test_voc_with_rules_negatives_and_rec(tmp_path, capsys):
    root = small_voc(tmp_path / 'VOC')
    write_image(str(tmp_path / 'bg' / 'n.jpg'), 16, 16)
    out = str(tmp_path / 'out' / 'voc.lst')
    status = convert_main(['--format', 'voc', '--root', root, '--sets', 'train,val',
                           '--negatives', str(tmp_path / 'bg'), '--hard-if-smaller', '30.5',
                           '--hard-if-truncated', '--out', out, '--rec', '--no-progress'])
    assert status == 0
    printed = capsys.readouterr().out
    assert 'images: 4   negatives (no box): 1   boxes: 4   hard boxes: 3' in printed
    # The first reason that applies counts: c's cat is truncated but also 20 px wide.
    assert '1 from annotations, 2 by --hard-if-smaller, 0 by --hard-if-truncated' in printed
    lines = _read_lst(out)
    assert [line[-1] for line in lines] == [os.path.join('VOC', 'JPEGImages', i + '.jpg')
                                            for i in 'abc'] + [os.path.join('bg', 'n.jpg')]
    assert lines[3][1:] == ['4', '6', '16', '16', os.path.join('bg', 'n.jpg')]
    dataset = LstDetection(out, root=str(tmp_path))
    # a: 30x30 dog, b: difficult dog 30x20 + cat 31x37, c: truncated cat 20x40.
    np.testing.assert_array_equal(dataset[0][1][:, schema.HARD], [1])
    np.testing.assert_array_equal(dataset[1][1][:, schema.HARD], [1, 0])
    np.testing.assert_array_equal(dataset[2][1][:, schema.HARD], [1])
    assert len(RecordFileDetection(out[:-4] + '.rec')) == 4

    assert stats_main([out, '--json']) == 0
    stats = json.loads(capsys.readouterr().out)
    assert [c['name'] for c in stats['classes']] == ['cat', 'dog']  # from voc.classes.txt
    assert (stats['images'], stats['negatives'], stats['hard_boxes']) == (4, 1, 3)
    assert stats_main([out[:-4] + '.rec']) == 0
    assert 'images: 4   negatives (no box): 1' in capsys.readouterr().out


def test_hard_if_truncated_alone(tmp_path, capsys):
    root = small_voc(tmp_path / 'VOC')
    out = str(tmp_path / 'voc.lst')
    # --data-root: the name every other command gives the data folder.
    assert convert_main(['--format', 'voc', '--data-root', root, '--hard-if-truncated',
                         '--out', out]) == 0
    assert '1 from annotations, 0 by --hard-if-smaller, 1 by --hard-if-truncated' in \
        capsys.readouterr().out
    assert [line[-2] for line in _read_lst(out)] == ['0', '0', '1']  # c's cat is truncated


def test_coco(tmp_path, capsys):
    write_image(str(tmp_path / 'img' / 'a.jpg'), 80, 60)
    write_image(str(tmp_path / 'img' / 'b.jpg'), 40, 40)
    ann = write_coco(tmp_path / 'ann.json', [
        {'id': 1, 'file_name': 'a.jpg', 'width': 80, 'height': 60},
        {'id': 2, 'file_name': 'b.jpg', 'width': 40, 'height': 40}], [
        {'id': 1, 'image_id': 1, 'category_id': 5, 'bbox': [8, 6, 40, 30], 'iscrowd': 1},
        {'id': 2, 'image_id': 1, 'category_id': 6, 'bbox': [0, 0, 8, 6]}],
        [{'id': 5, 'name': 'person'}, {'id': 6, 'name': 'car'}])
    out = str(tmp_path / 'coco.lst')
    assert convert_main(['--format', 'coco', '--ann', ann, '--images', str(tmp_path / 'img'),
                         '--out', out]) == 0
    assert open(str(tmp_path / 'coco.classes.txt')).read() == 'car\nperson\n'
    lines = _read_lst(out)
    assert lines[0][1:-1] == ['4', '6', '80', '60',
                              '1', '0.100000', '0.100000', '0.600000', '0.600000', '1',
                              '0', '0.000000', '0.000000', '0.100000', '0.100000', '0']
    assert lines[1][1:] == ['4', '6', '40', '40', 'b.jpg']


def test_csv_with_fixed_classes(tmp_path, capsys):
    write_image(str(tmp_path / 'img' / 'a.png'), 50, 50)
    csv_path = write_text(tmp_path / 'b.csv', 'image,xmin,ymin,xmax,ymax,class,hard\n'
                                              'a.png,0,0,25,50,dog,1\n')
    classes = write_text(tmp_path / 'names.txt', 'cat\ndog\n')
    out = str(tmp_path / 'csv.lst')
    assert convert_main(['--format', 'csv', '--csv', csv_path, '--images',
                         str(tmp_path / 'img'), '--classes', classes, '--out', out]) == 0
    assert _read_lst(out)[0][5:-1] == ['1', '0.000000', '0.000000', '0.500000', '1.000000', '1']
    assert open(str(tmp_path / 'csv.classes.txt')).read() == 'cat\ndog\n'


def test_negatives_only(tmp_path, capsys):
    write_image(str(tmp_path / 'bg' / 'x.jpg'), 20, 10)
    out = str(tmp_path / 'bg.lst')
    assert convert_main(['--negatives', str(tmp_path / 'bg'), '--out', out]) == 0
    assert _read_lst(out) == [['0', '4', '6', '20', '10', 'x.jpg']]
    img, label = LstDetection(out, root=str(tmp_path / 'bg'))[0]
    assert label.shape == (0, 6)


def test_bad_data_exits_2_and_writes_nothing(tmp_path, capsys):
    write_image(str(tmp_path / 'img' / 'a.jpg'), 50, 50)
    csv_path = write_text(tmp_path / 'b.csv', 'image,xmin,ymin,xmax,ymax,class\n'
                                              'a.jpg,0,0,60,50,dog\n'
                                              'a.jpg,10,10,5,20,dog\n'
                                              'gone.jpg,0,0,5,5,dog\n'
                                              'a.jpg,0,0,5,5,cow\n')
    classes = write_text(tmp_path / 'names.txt', 'dog\n')
    out = str(tmp_path / 'out.lst')
    args = ['--format', 'csv', '--csv', csv_path, '--images', str(tmp_path / 'img'), '--out', out,
            '--classes', classes, '--max-errors', '3']
    assert convert_main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: 4 errors:')
    assert 'b.csv:2 (dog in a.jpg): box (xmin, ymin, xmax, ymax) = (0, 0, 60, 50)' in err
    assert '--clip' in err
    assert 'b.csv:3 (dog in a.jpg): box (xmin, ymin, xmax, ymax) = (10, 10, 5, 20)' in err
    assert err.endswith('  ... and 1 more\nnothing was written; fix the errors above and run '
                        'again\n')
    assert 'Traceback' not in err
    assert not os.path.exists(out) and not os.path.exists(str(tmp_path / 'out.classes.txt'))
    # With --clip the box past the border is fixed; the other errors remain.
    assert convert_main(args + ['--clip']) == 2
    err = capsys.readouterr().err
    assert err.startswith('1 warning:') and '\nerror: 3 errors:' in err


def test_a_reencode_failure_names_the_flag_and_debug_shows_where(tmp_path, capsys):
    write_image(str(tmp_path / 'img' / 'a.jpg'), 40, 30)
    with open(str(tmp_path / 'img' / 'a.jpg'), 'r+b') as f:
        f.seek(200)  # past the header: the size still reads, the pixels do not decode
        f.write(b'\xff\xd9' + b'\0' * 64)
    out = str(tmp_path / 'x.lst')
    args = ['--negatives', str(tmp_path / 'img'), '--out', out, '--rec', '--reencode',
            '--no-progress']
    assert convert_main(args) == 2
    err = capsys.readouterr().err
    assert 'error: --reencode: 1 error:\n  {}: OpenCV cannot decode'.format(
        os.path.join(str(tmp_path), 'img', 'a.jpg')) in err and 'Traceback' not in err
    assert not os.path.exists(out) and sorted(os.listdir(str(tmp_path))) == ['img']
    assert convert_main(args + ['--debug']) == 2
    err = capsys.readouterr().err
    assert 'Traceback (most recent call last)' in err and 'convert_to_lst' in err


def test_duplicate_in_image_sets(tmp_path, capsys):
    root = small_voc(tmp_path / 'VOC')
    write_text(os.path.join(root, 'ImageSets', 'Main', 'val.txt'), 'c\na\n')
    out = str(tmp_path / 'x.lst')
    assert convert_main(['--format', 'voc', '--root', root, '--sets', 'train,val',
                         '--out', out]) == 2
    assert 'a.xml (image {}): image is listed twice'.format(
        os.path.join(root, 'JPEGImages', 'a.jpg')) in capsys.readouterr().err


@pytest.mark.parametrize('args,message', [
    ([], 'give --format voc|coco|csv and/or --negatives DIR'),
    (['--format', 'coco', '--ann', 'x.json'], '--format coco needs --images'),
    (['--format', 'csv', '--csv', 'x', '--images', 'y', '--hard-if-truncated'],
     '--hard-if-truncated needs --format voc'),
    (['--negatives', 'x', '--reencode'], '--reencode applies to --rec only'),
    (['--negatives', 'x', '--hard-if-smaller', '-3'], 'must be > 0'),
    (['--negatives', 'x', '--classes', 'missing-classes.txt'], '--classes'),
])
def test_usage_errors_exit_2(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as exit_info:
        convert_main(args + ['--out', str(tmp_path / 'x.lst')])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_stats_of_a_broken_or_missing_file_exits_2(tmp_path, capsys):
    lst = write_text(tmp_path / 'x.lst', '0\t4\t6\t10\t10\t1\t0.1\tx.jpg\n')
    assert stats_main([lst]) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: ') and 'x.lst:1' in err and 'Traceback' not in err
    # A hard flag of 2 passes the record parser; the label check names the file.
    lst = write_text(tmp_path / 'y.lst', '0\t4\t6\t10\t10\t0\t0.1\t0.1\t0.5\t0.5\t2\ty.jpg\n')
    assert stats_main([lst]) == 2
    assert 'hard flag' in capsys.readouterr().err
    assert stats_main([str(tmp_path / 'gone.rec')]) == 2
    assert 'gone.rec does not exist' in capsys.readouterr().err


def test_help_mentions_every_format(capsys):
    with pytest.raises(SystemExit):
        convert_main(['--help'])
    text = capsys.readouterr().out
    for flag in ('--format', '--negatives', '--hard-if-smaller', '--clip', '--rec', '--image-root',
                 'image,xmin,ymin,xmax,ymax,class[,hard]'):
        assert flag in text
