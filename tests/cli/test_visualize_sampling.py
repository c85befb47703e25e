"""``gluoncv-hard-visualize-sampling``: every input kind, --compare, exit statuses, --debug."""
import os

import cv2
import pytest
from sampling_data import BOXES_SPEC, NET_HEIGHT, NET_WIDTH, sample_image, write_inputs

from gluoncv_hard.cli.visualize_sampling import main
from gluoncv_hard.vis.sampling_panels import COMPARED_POLICIES

COMPARE_PAD = 8


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    return write_inputs(tmp_path_factory.mktemp('inputs'), sample_image())


def png_shape(path):
    image = cv2.imread(path)
    assert image is not None
    return image.shape


def test_voc_input(files, tmp_path, capsys):
    out = str(tmp_path / 'voc.png')
    assert main(['--voc-root', files['root'], '--image-id', 'img1', '--out', out]) == 0
    height, width, _ = png_shape(out)
    assert width == NET_WIDTH and height > NET_HEIGHT
    printed = capsys.readouterr().out
    assert 'set val' in printed and 'ignored near a hard box' in printed
    assert 'RCNN stage skipped' in printed and os.listdir(str(tmp_path)) == ['voc.png']
    assert 'wrote {} ({}x{})'.format(out, width, height) in printed


def test_lst_input(files, tmp_path):
    out = str(tmp_path / 'lst.png')
    assert main(['--lst', files['lst'], '--index', '0', '--root', files['root'],
                 '--out', out]) == 0
    assert png_shape(out)[1] == NET_WIDTH
    assert main(['--lst', files['lst'], '--index', '1', '--root', files['root'],
                 '--out', out]) == 0  # no boxes


def test_image_input_and_compare_gives_three_panels(files, tmp_path, capsys):
    single = str(tmp_path / 'one.png')
    assert main(['--image', files['jpeg'], '--boxes', BOXES_SPEC, '--out', single]) == 0
    compare = str(tmp_path / 'three.png')
    assert main(['--image', files['jpeg'], '--boxes', BOXES_SPEC, '--compare',
                 '--max-negatives', 'all', '--out', compare]) == 0
    one_h, one_w, _ = png_shape(single)
    three_h, three_w, _ = png_shape(compare)
    assert one_w == NET_WIDTH
    assert three_w == 3 * (NET_WIDTH + COMPARE_PAD)
    printed = capsys.readouterr().out
    for policy in COMPARED_POLICIES:
        assert 'hard_policy=' + policy in printed
    sheet = cv2.imread(compare)
    panels = [sheet[:, i * (NET_WIDTH + COMPARE_PAD):][:, :NET_WIDTH] for i in range(3)]
    assert not (panels[1] == panels[2]).all()


@pytest.mark.parametrize('args, message', [
    (['--voc-root', '{root}', '--image-id', 'nope'],
     "error: --image-id: {root}: image id 'nope' is not listed"),
    (['--voc-root', '{jpeg}.d', '--image-id', 'img1'],
     'error: --voc-root: {jpeg}.d: no image sets'),
    # An error in the data set itself (exit status 1 before the status map).
    (['--voc-root', '{root}', '--image-id', 'img1', '--voc-sets', 'train'],
     'ImageSets/Main/train.txt: cannot read the image set'),
    (['--lst', '{lst}', '--index', '2', '--root', '{root}'], 'error: --index 2 is out of '
                                                             'range'),
    (['--image', '{jpeg}', '--boxes', '1,2,30,40,0;5,6,x,9,0'],
     "error: --boxes: box 2 ('5,6,x,9,0', characters 13-21) field 'xmax' = 'x' is not a number"),
    (['--image', '{root}/missing.jpg', '--boxes', ''], 'error: --image: {root}/missing.jpg: '
                                                       'cannot read it'),
    (['--image', '{jpeg}', '--boxes', '', '--classes', ','], 'error: --classes:'),
])
def test_bad_input_exits_2_naming_the_flag(files, tmp_path, capsys, args, message):
    args = [a.format(**files) for a in args] + ['--out', str(tmp_path / 'x.png')]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message.format(**files) in err and 'Traceback' not in err
    assert not os.listdir(str(tmp_path))


def test_bad_params_exit_2(files, tmp_path, capsys):
    from sampling_data import save_tiny_params
    params = save_tiny_params(tmp_path / 'tiny.params')
    out = str(tmp_path / 'x.png')
    assert main(['--image', files['jpeg'], '--boxes', '', '--classes', 'a,b', '--params', params,
                 '--out', out]) == 2
    assert 'error: --params: {}: cannot load'.format(params) in capsys.readouterr().err
    assert not os.path.exists(out)


def test_debug_prints_the_traceback_of_bad_input(files, tmp_path, capsys):
    assert main(['--image', files['jpeg'], '--boxes', '1,2', '--out', str(tmp_path / 'x.png'),
                 '--debug']) == 2
    err = capsys.readouterr().err
    assert 'Traceback' in err and 'InputError' in err and 'error: --boxes: box 1' in err


@pytest.mark.parametrize('args, message', [
    (['--voc-root', '{root}'], '--voc-root needs --image-id'),
    (['--image', '{jpeg}', '--boxes', '', '--index', '3'], '--index only goes with --lst'),
    (['--image', '{jpeg}', '--boxes', '', '--hard-thresh', '2'], 'hard_thresh=2.0 must be'),
])
def test_argument_errors_are_argparse_errors(files, tmp_path, capsys, args, message):
    args = [a.format(**files) for a in args] + ['--out', str(tmp_path / 'x.png')]
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and 'usage:' in err


def test_rejects_an_output_that_is_not_png(files, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(['--image', files['jpeg'], '--boxes', '', '--out', str(tmp_path / 'x.jpg')])
    assert '*.png' in capsys.readouterr().err
