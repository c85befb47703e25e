"""Image-level hard negative mining: the whole job (mining.negatives) and gluoncv_hard.cli.mine.

Ranking and selection are tested through the real prediction path with a detector whose
output the test decides by the colour of each image (tests/detector_stub.py): a uniform image of
red R and green G gets its best detection at score R/255 and round(G/50) detections.
"""
import csv
import json
import os

import cv2
import mxnet as mx
import numpy as np
import pytest
from detector_stub import (
    SCORE_STEP,
    ColourCodedDetector,
    num_detections,
    top_score,
    write_colour_image,
)

from gluoncv_hard.cli import mine as mine_cli
from gluoncv_hard.data.datasets import open_negatives
from gluoncv_hard.engine.checkpoint import save_checkpoint
from gluoncv_hard.mining.negatives import mine_hard_negatives
from gluoncv_hard.mining.pool import open_pool, score_pool
from gluoncv_hard.mining.ranking import rank_and_select
from gluoncv_hard.vis import draw as visualize
from gluoncv_hard.vis.mining_sheet import SHEET_COLUMNS, SHEET_THUMB

CTX = [mx.cpu()]

# name -> (R, G): top score R/255, round(G/50) detections.
COLOURS = {
    'a_mid': (150, 100),      # 0.588, 2 detections
    'b_best': (250, 50),      # 0.980, 1
    'c_low': (20, 100),       # 0.078, 2
    'd_many': (180, 250),     # 0.706, 5
    'e_none': (240, 0),       # no detection at all
    'f_second': (230, 150),   # 0.902, 3
}


def make_pool(folder, colours=COLOURS):
    os.makedirs(folder, exist_ok=True)
    for name, (red, green) in colours.items():
        write_colour_image(os.path.join(folder, name + '.png'), (red, green, 7))
    return str(folder)


def selected_names(rows):
    return [os.path.splitext(os.path.basename(r.image.path))[0] for r in rows if r.selected]


@pytest.fixture(scope='module')
def pool_dir(tmp_path_factory):
    return make_pool(str(tmp_path_factory.mktemp('pool') / 'pool'))


@pytest.fixture(scope='module')
def scored(pool_dir):
    return score_pool(ColourCodedDetector(), open_pool([pool_dir]), CTX)


def test_stub_outputs_arrive_through_the_prediction_path(scored):
    by_name = {os.path.basename(s.path)[:-4]: s for s in scored}
    for name, (red, green) in COLOURS.items():
        image = by_name[name]
        assert len(image.scores) == num_detections(green)
        expected = [top_score(red) - SCORE_STEP * k for k in range(num_detections(green))]
        np.testing.assert_allclose(image.scores, expected, atol=1e-4)
    # Boxes come back in original-image pixels: the 40x30 image was scaled to 64x48 (the long
    # side is capped at max_size 64).
    box = by_name['b_best'].boxes[0]
    np.testing.assert_allclose(box, np.array([4, 4, 24, 20]) * 40 / 64, atol=1e-3)


def test_selects_exactly_the_top_n_by_max_score(scored):
    rows = rank_and_select(scored, 3)
    assert [os.path.basename(r.image.path)[:-4] for r in rows[:4]] == [
        'b_best', 'f_second', 'd_many', 'a_mid']
    assert selected_names(rows) == ['b_best', 'f_second', 'd_many']
    assert [r.rank for r in rows] == list(range(1, len(COLOURS) + 1))
    # The image without detections ranks last and never qualifies, whatever its colour.
    assert os.path.basename(rows[-1].image.path) == 'e_none.png' and not rows[-1].qualifies


def test_rank_by_count_breaks_ties_by_max_score(tmp_path):
    # Two images with 2 detections each: the one with the higher top score ranks first.
    pool = make_pool(tmp_path / 'p', {'x_two_low': (120, 100), 'y_two_high': (220, 100),
                                      'z_five': (130, 250), 'w_one': (250, 50)})
    images = score_pool(ColourCodedDetector(), open_pool([pool]), CTX)
    rows = rank_and_select(images, 3, rank_by='count', count_thresh=0.3)
    assert selected_names(rows) == ['z_five', 'y_two_high', 'x_two_low']
    assert [r.count for r in rows] == [5, 2, 2, 1]
    # The count threshold decides what counts: at 0.5 only z_five's first detection (0.51)
    # counts, and its tie with w_one (one detection at 0.98) goes to the higher score.
    rows = rank_and_select(images, 1, rank_by='count', count_thresh=0.5)
    assert [os.path.basename(r.image.path)[:-4] for r in rows] == [
        'y_two_high', 'w_one', 'z_five', 'x_two_low']
    assert [r.count for r in rows] == [2, 1, 1, 0] and selected_names(rows) == ['y_two_high']


def test_exact_ties_keep_pool_order(tmp_path):
    pool = make_pool(tmp_path / 'p', {'m1': (200, 100), 'm2': (200, 100), 'm0': (200, 100)})
    images = score_pool(ColourCodedDetector(), open_pool([pool]), CTX)
    rows = rank_and_select(images, 2)
    assert selected_names(rows) == ['m0', 'm1']  # pool order = sorted file names


def test_exclusion_and_append(tmp_path, pool_dir):
    net = ColourCodedDetector()
    first = str(tmp_path / 'round1.lst')
    summary = mine_hard_negatives(net, CTX, [pool_dir], first, 2)
    assert selected_names(summary.rows) == ['b_best', 'f_second']

    # A later round excludes what was mined before: the next two hardest are chosen.
    second = str(tmp_path / 'round2.lst')
    summary = mine_hard_negatives(net, CTX, [pool_dir], second, 2, exclude=[first])
    assert selected_names(summary.rows) == ['d_many', 'a_mid']
    assert summary.num_excluded == 2
    with open(tmp_path / 'round2.csv') as f:
        table = {r['image'].split('/')[-1]: r for r in csv.DictReader(f)}
    assert table['b_best.png']['excluded'] == '1' and table['b_best.png']['selected'] == '0'
    assert table['b_best.png']['rank'] == '1'  # still ranked: it still fools the detector

    # --append keeps the file's records and never selects them again.
    summary = mine_hard_negatives(net, CTX, [pool_dir], first, 2, append=True)
    assert selected_names(summary.rows) == ['d_many', 'a_mid']
    negatives = open_negatives(first)
    assert [os.path.basename(negatives.image_path(i)) for i in range(len(negatives))] == [
        'b_best.png', 'f_second.png', 'd_many.png', 'a_mid.png']
    with open(first) as f:
        assert [int(line.split('\t')[0]) for line in f] == [0, 1, 2, 3]

    # Without --append the file is replaced and its old content is not excluded.
    summary = mine_hard_negatives(net, CTX, [pool_dir], first, 1)
    assert selected_names(summary.rows) == ['b_best'] and len(open_negatives(first)) == 1


def test_num_larger_than_the_pool_selects_every_qualifying_image(tmp_path, pool_dir):
    summary = mine_hard_negatives(ColourCodedDetector(), CTX, [pool_dir],
                                  str(tmp_path / 'all.lst'), 100)
    # e_none has no detection; c_low's best score 0.078 is above the default minimum 0.05.
    assert sorted(selected_names(summary.rows)) == sorted(set(COLOURS) - {'e_none'})
    assert summary.num_selected == summary.num_qualifying == len(COLOURS) - 1
    assert 'fewer than requested' in summary.text()
    summary = mine_hard_negatives(ColourCodedDetector(), CTX, [pool_dir],
                                  str(tmp_path / 'all.lst'), 100, min_score=0.5)
    assert sorted(selected_names(summary.rows)) == ['a_mid', 'b_best', 'd_many', 'f_second']


def test_written_lst_is_accepted_by_open_negatives(tmp_path, pool_dir):
    out = str(tmp_path / 'sub' / 'mined.lst')  # another folder than the pool: relative paths
    summary = mine_hard_negatives(ColourCodedDetector(), CTX, [pool_dir], out, 3)
    negatives = open_negatives(out)
    assert len(negatives) == 3
    assert [os.path.realpath(negatives.image_path(i)) for i in range(3)] == [
        os.path.realpath(r.image.path) for r in summary.selected]
    img, label = negatives[0]
    assert img.shape == (30, 40, 3) and label.shape == (0, 6)
    with open(out) as f:
        fields = f.readline().rstrip('\n').split('\t')
    assert fields[1:5] == ['4', '6', '40', '30'] and fields[-1].startswith('../')
    # The mined list itself can be the pool of another run (folder and .lst agree on identity).
    again = mine_hard_negatives(ColourCodedDetector(), CTX, [out],
                                str(tmp_path / 'again.lst'), 5, exclude=[pool_dir])
    assert again.num_excluded == 3 and again.num_selected == 0


def test_csv_and_png_have_one_row_per_image_and_the_grid_size(tmp_path, pool_dir):
    out = str(tmp_path / 'mined.lst')
    summary = mine_hard_negatives(ColourCodedDetector(), CTX, [pool_dir], out, 5,
                                  count_thresh=0.6)
    with open(tmp_path / 'mined.csv') as f:
        table = list(csv.DictReader(f))
    assert len(table) == len(COLOURS)
    assert list(table[0]) == ['rank', 'image', 'path', 'max_score', 'count_ge_0.6',
                              'num_detections', 'excluded', 'selected']
    assert table[0]['image'] == 'pool/b_best.png' and table[0]['max_score'] == '0.9804'
    assert [int(r['selected']) for r in table] == [1, 1, 1, 1, 1, 0]
    assert table[2]['count_ge_0.6'] == '5' and table[2]['num_detections'] == '5'

    sheet = cv2.imread(str(tmp_path / 'mined.png'))
    cell_w, cell_h = SHEET_THUMB
    caption_h = visualize.text_panel(['a', 'b'], cell_w).shape[0]
    columns = SHEET_COLUMNS
    assert sheet.shape[1] == columns * (cell_w + 4)
    grid_h = 2 * (caption_h + cell_h + 4)  # 5 images in rows of 4
    title_h = sheet.shape[0] - grid_h - 4
    assert 20 < title_h < 120
    # The first cell (the hardest image, 40x30 scaled into 240x180) shows its false detections.
    cell = cv2.cvtColor(sheet[title_h + 4 + caption_h:title_h + 4 + caption_h + cell_h, :cell_w],
                        cv2.COLOR_BGR2RGB)
    assert (cell == visualize.FALSE_ALARM).all(axis=2).sum() > 50
    assert summary.png_path == str(tmp_path / 'mined.png')


def test_outputs_are_not_touched_when_mining_fails(tmp_path, pool_dir):
    out = tmp_path / 'mined.lst'
    out.write_text('keep me\n')
    with pytest.raises(ValueError, match='positive integer'):
        mine_hard_negatives(ColourCodedDetector(), CTX, [pool_dir], str(out), 0)
    assert out.read_text() == 'keep me\n'
    assert sorted(os.listdir(tmp_path)) == ['mined.lst']


@pytest.fixture(scope='module')
def random_checkpoint(tmp_path_factory):
    """An initialized, untrained tiny network saved as a checkpoint with its sidecar."""
    from gluoncv_hard.modeling.zoo import build_network
    net = build_network('tiny', ['face'])
    net.initialize()
    net(mx.nd.zeros((1, 3, 64, 64)))
    prefix = str(tmp_path_factory.mktemp('ckpt') / 'random')
    return save_checkpoint(prefix, 'best', net, None, dict(network='tiny', classes=['face'],
                                                          use_fpn=False))


def test_cli_with_a_real_checkpoint(tmp_path, pool_dir, random_checkpoint, capsys):
    out = str(tmp_path / 'mined.lst')
    assert mine_cli.main(['--params', random_checkpoint, '--pool', pool_dir, '--out', out,
                          '--train-size', '20', '--min-score', '0', '--num-workers', '0',
                          '--no-progress']) == 0
    assert 'mined 3 of 3 requested' in capsys.readouterr().out
    assert len(open_negatives(out)) == 3
    for ext in ('.csv', '.png'):
        assert os.path.getsize(out[:-4] + ext) > 0


def test_cli_num_from_the_training_set(tmp_path, pool_dir, random_checkpoint):
    lst = tmp_path / 'train.lst'
    lst.write_text(''.join('{}\t4\t6\t40\t30\t0\t0.1\t0.1\t0.5\t0.5\t0\tpool/a_mid.png\n'
                           .format(i) for i in range(14)))
    args = mine_cli.build_parser().parse_args(['--params', random_checkpoint, '--out', 'x.lst',
                                               '--dataset', 'lst', '--train', str(lst),
                                               '--data-root', os.path.dirname(pool_dir)])
    assert mine_cli.resolve_num(args, ['face']) == 2  # round(0.15 * 14)
    args.fraction = 0.5
    assert mine_cli.resolve_num(args, ['face']) == 7


@pytest.mark.parametrize('case, message', [
    ('missing_params', 'does not exist'),
    ('empty_folder', 'holds no image'),
    ('empty_lst', 'holds no image'),
    ('no_pool', '--pool: no pool of negatives given'),
    ('num_zero', '--num must be at least 1'),
    ('not_lst', 'must be a .lst file'),
    ('no_num', 'how many images to mine'),
    ('boxes_in_pool', 'has boxes; negatives must have none'),
])
def test_cli_bad_input(tmp_path, pool_dir, random_checkpoint, capsys, case, message):
    out = str(tmp_path / 'mined.lst')
    args = {'--params': random_checkpoint, '--pool': pool_dir, '--out': out, '--num': '2'}
    if case == 'missing_params':
        args['--params'] = str(tmp_path / 'nope.params')
    elif case == 'empty_folder':
        os.makedirs(tmp_path / 'empty')
        args['--pool'] = str(tmp_path / 'empty')
    elif case == 'empty_lst':
        (tmp_path / 'empty.lst').write_text('')
        args['--pool'] = str(tmp_path / 'empty.lst')
    elif case == 'no_pool':
        del args['--pool']
    elif case == 'num_zero':
        args['--num'] = '0'
    elif case == 'not_lst':
        args['--out'] = str(tmp_path / 'mined.txt')
    elif case == 'no_num':
        del args['--num']
    elif case == 'boxes_in_pool':
        bad = tmp_path / 'bad.lst'
        bad.write_text('0\t4\t6\t40\t30\t0\t0.1\t0.1\t0.5\t0.5\t0\tx.png\n')
        args['--pool'] = str(bad)
    argv = [token for pair in args.items() for token in pair] + ['--num-workers', '0']
    assert mine_cli.main(argv) == 2
    assert message in capsys.readouterr().err
    assert not os.path.exists(out)


@pytest.mark.slow
def test_mined_lst_trains_with_neg_train(tmp_path, pool_dir):
    """The written .lst goes straight into the train script: its images become iterations."""
    from gluoncv_hard.cli import train as train_cli
    from gluoncv_hard.demo.generate import generate_demo_dataset
    demo = str(tmp_path / 'demo')
    generate_demo_dataset(demo, seed=1, n_train=6, n_val=3, n_negatives_pool=3,
                          n_negatives_test=3, progress=False)
    out = str(tmp_path / 'mined.lst')
    mine_hard_negatives(ColourCodedDetector(), CTX, [pool_dir], out, 4)
    prefix = str(tmp_path / 'run')
    train_cli.run(['--network', 'tiny', '--dataset', 'voc', '--data-root', demo, '--val', '',
                   '--epochs', '1', '--lr', '0.01', '--num-workers', '0', '--log-interval', '0',
                   '--save-prefix', prefix, '--neg-train', out])
    with open(prefix + '_metrics.jsonl') as f:
        line = json.loads(f.readline())
    assert line['iterations'] == 6 + 4
