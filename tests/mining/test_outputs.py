"""The files of a mining run (gluoncv_hard.mining.outputs): names, .lst lines, CSV, all or none."""
import os

import cv2
import numpy as np
import pytest
from detector_stub import write_colour_image

from gluoncv_hard.data.datasets import open_negatives
from gluoncv_hard.errors import InputError
from gluoncv_hard.mining.outputs import (
    mined_lst_lines,
    mining_csv_text,
    output_paths,
    write_mining_outputs,
)
from gluoncv_hard.mining.pool import PoolImage
from gluoncv_hard.mining.ranking import MinedRow
from gluoncv_hard.vis.draw import encode_png
from gluoncv_hard.vis.mining_sheet import mining_sheet


def rows_for(paths, selected):
    rows = []
    for rank, (path, chosen) in enumerate(zip(paths, selected), 1):
        scores = np.array([1.0 - 0.1 * rank])
        image = PoolImage(rank - 1, os.path.basename(path), path,
                          np.array([[2.0, 2.0, 20.0, 15.0]]), scores, np.zeros(1, np.int64))
        rows.append(MinedRow(rank, image, 1, False, True, chosen))
    return rows


@pytest.fixture
def rows(tmp_path):
    """Three 40x30 images in ``pool/``; the first and the last are selected."""
    os.makedirs(str(tmp_path / 'pool'))
    paths = [write_colour_image(str(tmp_path / 'pool' / name), (200, 50, 7))
             for name in ('x.png', 'y.png', 'z.png')]
    return rows_for(paths, [True, False, True])


def test_output_paths():
    assert output_paths('a/b.lst') == ('a/b.lst', 'a/b.csv', 'a/b.png')
    with pytest.raises(InputError, match='must be a .lst file') as error:
        output_paths('a/b.txt')
    assert error.value.param == 'out'


def test_lst_lines_are_zero_box_records_relative_to_the_list(rows, tmp_path):
    lines = mined_lst_lines(rows, str(tmp_path / 'out'), start_index=5)
    assert [line.split('\t')[0] for line in lines] == ['5', '6']
    assert [line.rstrip('\n').split('\t')[-1] for line in lines] == ['../pool/x.png',
                                                                     '../pool/z.png']
    assert lines[0].split('\t')[1:5] == ['4', '6', '40', '30']


def test_csv_lists_every_row(rows):
    text = mining_csv_text(rows, 0.25).splitlines()
    assert text[0] == 'rank,image,path,max_score,count_ge_0.25,num_detections,excluded,selected'
    assert [line.split(',')[-1] for line in text[1:]] == ['1', '0', '1']
    assert text[1].split(',')[3] == '0.9000'


def test_outputs_are_written_together_and_the_png_is_the_sheet(rows, tmp_path):
    out = str(tmp_path / 'out' / 'mined.lst')
    assert write_mining_outputs(out, rows, 0.5) == (out, out[:-4] + '.csv', out[:-4] + '.png')
    assert len(open_negatives(out)) == 2
    with open(out[:-4] + '.png', 'rb') as f:
        assert f.read() == encode_png(mining_sheet(rows, 0.5))
    # append keeps the records and numbers the new ones after them.
    write_mining_outputs(out, rows, 0.5, append=True)
    with open(out) as f:
        assert [int(line.split('\t')[0]) for line in f] == [0, 1, 2, 3]


def test_append_refuses_a_list_with_boxes_and_writes_nothing(rows, tmp_path):
    out = tmp_path / 'mined.lst'
    out.write_text('0\t4\t6\t40\t30\t0\t0.1\t0.1\t0.5\t0.5\t0\tpool/x.png\n')
    with pytest.raises(InputError, match='record has boxes') as error:
        write_mining_outputs(str(out), rows, 0.5, append=True)
    assert error.value.param == 'append'
    assert sorted(os.listdir(str(tmp_path))) == ['mined.lst', 'pool']
    assert cv2.imread(str(tmp_path / 'pool' / 'x.png')) is not None
