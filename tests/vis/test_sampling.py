"""Sampling visualization: it draws the training transform's labels, for every input kind."""
import os

import cv2
import mxnet as mx
import numpy as np
import pytest

import gluoncv_hard
from gluoncv_hard import schema
from gluoncv_hard.cli.visualize_sampling import InputError, main, parse_boxes
from gluoncv_hard.core.matching import HardConfig, near_hard_mask
from gluoncv_hard.data.records import format_lst_line, record_fields
from gluoncv_hard.vis import sampling as sv

WIDTH, HEIGHT = 320, 240
# tiny resizes the short side to 320: x4/3.
NET_WIDTH, NET_HEIGHT = 427, 320
LABEL = np.array([[20, 30, 100, 110, 0, 0],      # normal
                  [180, 60, 260, 150, 0, 1]],    # hard
                 np.float32)
BOXES_SPEC = '20,30,100,110,0,0;180,60,260,150,0,1'
COMPARE_PAD = 8


@pytest.fixture(scope='module')
def image():
    return np.random.default_rng(0).integers(0, 255, (HEIGHT, WIDTH, 3)).astype(np.uint8)


@pytest.fixture(scope='module')
def net():
    return sv.build_network('tiny', ['face'])


@pytest.fixture(scope='module')
def files(tmp_path_factory, image):
    """The same image and boxes as a JPEG, a VOC folder and a .lst."""
    root = tmp_path_factory.mktemp('inputs')
    for folder in ('Annotations', 'JPEGImages', 'ImageSets/Main'):
        os.makedirs(str(root / folder))
    jpeg = str(root / 'JPEGImages' / 'img1.jpg')
    assert cv2.imwrite(jpeg, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    objects = ''.join(
        '<object><name>face</name><difficult>{}</difficult><bndbox><xmin>{}</xmin><ymin>{}</ymin>'
        '<xmax>{}</xmax><ymax>{}</ymax></bndbox></object>'.format(
            int(row[5]), *(int(v) + 1 for v in row[:4])) for row in LABEL)
    (root / 'Annotations' / 'img1.xml').write_text(
        '<annotation><filename>img1.jpg</filename><size><width>{}</width><height>{}</height>'
        '<depth>3</depth></size>{}</annotation>'.format(WIDTH, HEIGHT, objects))
    (root / 'ImageSets' / 'Main' / 'val.txt').write_text('img1\n')
    lst = str(root / 'data.lst')
    with open(lst, 'w') as f:
        f.write(format_lst_line(0, 'JPEGImages/img1.jpg', record_fields(WIDTH, HEIGHT, LABEL)))
        f.write(format_lst_line(1, 'JPEGImages/img1.jpg',
                                record_fields(WIDTH, HEIGHT, schema.empty_label())))
    return dict(root=str(root), jpeg=jpeg, lst=lst)


def near_hard(view, config=HardConfig()):
    hard = view.label[view.label[:, schema.HARD] > 0.5, schema.BOX]
    return near_hard_mask(view.anchors, hard, config)


def test_anchor_targets_are_the_transforms_and_ignore_clears_the_hard_neighbourhood(image, net):
    # Sample every candidate: the comparison then does not depend on the subsampling.
    views = {policy: sv.anchor_view(image, LABEL, net, HardConfig(policy), num_sample=10 ** 6,
                                    pos_ratio=1.0)
             for policy in sv.COMPARED_POLICIES}
    ignore, drop, positive = views['ignore'], views['drop'], views['positive']
    near = near_hard(ignore)
    assert ignore.image.shape == (NET_HEIGHT, NET_WIDTH, 3)
    np.testing.assert_allclose(ignore.label[:, :4], LABEL[:, :4] * NET_HEIGHT / HEIGHT, rtol=1e-2)
    assert len(ignore.anchors) == len(ignore.cls_target)
    assert near.sum() > 10
    # ignore: no negative over the hard box, and they are the ones drawn as ignored.
    assert not ignore.negative[near].any()
    assert ignore.ignored_near_hard.sum() > 0
    assert (ignore.cls_target[ignore.ignored_near_hard] == -1).all()
    assert (ignore.ignored_near_hard <= near).all()
    # drop: the same anchors are trained as background; nothing is ignored because of hardness.
    assert drop.negative[near].sum() > 10
    assert not drop.ignored_near_hard.any()
    # positive: the hard box gets positive anchors like a normal one.
    assert positive.positive[near].any() and not drop.positive[near].any()
    assert not positive.ignored_near_hard.any()


def test_drawn_negatives_include_every_negative_over_a_hard_box(image, net):
    for policy in ('ignore', 'drop'):
        view = sv.anchor_view(image, LABEL, net, HardConfig(policy), seed=1)
        drawn = sv.anchors_to_draw(view, max_negatives=5, seed=1)
        near = near_hard(view)
        assert view.negative[drawn['negative']].all()
        assert set(np.flatnonzero(view.negative & near)) <= set(drawn['negative'])
        assert len(drawn['negative']) == 5 + drawn['negative_over_hard']
        drawn_near = near[drawn['negative']].sum()
        assert drawn_near == drawn['negative_over_hard']
        assert (drawn_near == 0) == (policy == 'ignore')
        assert set(drawn['ignored_near_hard']) == set(np.flatnonzero(view.ignored_near_hard))


def test_subsampling_is_seeded(image, net):
    a = sv.anchor_view(image, LABEL, net, HardConfig(), seed=3)
    b = sv.anchor_view(image, LABEL, net, HardConfig(), seed=3)
    c = sv.anchor_view(image, LABEL, net, HardConfig(), seed=4)
    assert (a.cls_target == b.cls_target).all() and (a.cls_target != c.cls_target).any()
    assert (a.negative.sum(), a.positive.sum()) == (c.negative.sum(), c.positive.sum())


def test_image_without_boxes_has_only_negatives(image, net):
    view = sv.anchor_view(image, schema.empty_label(), net, HardConfig())
    assert view.label.shape == (0, 6) and view.positive.sum() == 0
    assert view.negative.sum() == sv.RPN_DEFAULTS['num_sample']


def test_rcnn_stage_never_samples_background_over_the_hard_box(image, tmp_path):
    trained = gluoncv_hard.get_model('tiny', classes=['face'])
    trained.initialize()
    trained(mx.nd.zeros((1, 3, 320, 320)))
    params = str(tmp_path / 'tiny.params')
    trained.save_parameters(params)
    net = sv.build_network('tiny', ['face'], params)
    view = sv.anchor_view(image, LABEL, net, HardConfig())
    rois = sv.roi_view(net, view)
    hard = view.label[1:, :4]
    assert rois.rois.shape == (net.sampler._num_sample, 4)
    assert not (rois.samples[near_hard_mask(rois.rois, hard, HardConfig())] == -1).any()
    assert near_hard_mask(rois.proposals[rois.ignored_near_hard], hard, HardConfig()).all()
    assert (rois.samples == 1).sum() >= 1  # the appended normal GT box at least
    panel = sv.render_view(view, rois, ['face'])
    assert panel.shape[1] == NET_WIDTH and panel.shape[0] > 2 * NET_HEIGHT
    with pytest.raises(ValueError, match='class list'):
        sv.build_network('tiny', ['face', 'cat'], params)


def png_shape(path):
    image = cv2.imread(path)
    assert image is not None
    return image.shape


def test_cli_voc_input(files, tmp_path, capsys):
    out = str(tmp_path / 'voc.png')
    assert main(['--voc-root', files['root'], '--image-id', 'img1', '--out', out]) == 0
    height, width, _ = png_shape(out)
    assert width == NET_WIDTH and height > NET_HEIGHT
    printed = capsys.readouterr().out
    assert 'set val' in printed and 'ignored near a hard box' in printed
    assert 'RCNN stage skipped' in printed and os.listdir(str(tmp_path)) == ['voc.png']


def test_cli_lst_input(files, tmp_path):
    out = str(tmp_path / 'lst.png')
    assert main(['--lst', files['lst'], '--index', '0', '--root', files['root'],
                 '--out', out]) == 0
    assert png_shape(out)[1] == NET_WIDTH
    assert main(['--lst', files['lst'], '--index', '1', '--root', files['root'],
                 '--out', out]) == 0  # no boxes


def test_cli_image_input_and_compare_gives_three_panels(files, tmp_path, capsys):
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
    for policy in sv.COMPARED_POLICIES:
        assert 'hard_policy=' + policy in printed
    sheet = cv2.imread(compare)
    panels = [sheet[:, i * (NET_WIDTH + COMPARE_PAD):][:, :NET_WIDTH] for i in range(3)]
    assert not (panels[1] == panels[2]).all()


@pytest.mark.parametrize('args, message', [
    (['--voc-root', '{root}', '--image-id', 'nope'], "image id 'nope' is not listed"),
    (['--voc-root', '{root}', '--image-id', 'img1', '--voc-sets', 'train'],
     'ImageSets/Main/train.txt: cannot read the image set'),
    (['--voc-root', '{root}'], '--voc-root needs --image-id'),
    (['--lst', '{lst}', '--index', '2', '--root', '{root}'], '--index 2 is out of range'),
    (['--image', '{jpeg}', '--boxes', '1,2,30,40,0;5,6,x,9,0'],
     "box 2 ('5,6,x,9,0', characters 13-21) field 'xmax' = 'x' is not a number"),
    (['--image', '{root}/missing.jpg', '--boxes', ''], 'cannot read it'),
    (['--image', '{jpeg}', '--boxes', '', '--index', '3'], '--index only goes with --lst'),
])
def test_cli_errors_name_the_problem(files, tmp_path, capsys, args, message):
    args = [a.format(**files) for a in args] + ['--out', str(tmp_path / 'x.png')]
    try:
        status = main(args)  # errors in the data set itself: exit status 1
    except SystemExit as exit_info:  # bad arguments or input: argparse's exit status 2
        status = exit_info.code
    assert status in (1, 2)
    assert message in capsys.readouterr().err
    assert not os.listdir(str(tmp_path))


def test_cli_rejects_an_output_that_is_not_png(files, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(['--image', files['jpeg'], '--boxes', '', '--out', str(tmp_path / 'x.jpg')])
    assert '*.png' in capsys.readouterr().err


def test_parse_boxes():
    label = parse_boxes(' 1,2,30,40,3 ; 5,6,20,29,0,1;')
    np.testing.assert_array_equal(label, [[1, 2, 30, 40, 3, 0], [5, 6, 20, 29, 0, 1]])
    assert parse_boxes('').shape == (0, 6)
    for spec, message in [('1,2,3', 'box 1 (\'1,2,3\', characters 1-5) has 3 fields'),
                          ('1,2,30,40,0;;1,2,3,4,0', 'box 2 (\'\', characters 13-12) is empty'),
                          ('1,2,30,40,0.5', 'cls 0.5 must be a class id'),
                          ('1,2,30,40,0,2', 'hard 2 must be 0 or 1'),
                          ('30,2,1,40,0', 'box 1 (\'30,2,1,40,0\', characters 1-11) is empty or '
                                          'inverted'),
                          ('1,2,30,nan,0', "field 'ymax' is nan")]:
        with pytest.raises(InputError) as error:
            parse_boxes(spec)
        assert message in str(error.value)
    with pytest.raises(InputError, match='extends past the 20x20 image'):
        parse_boxes('1,2,30,19,0', image_size=(20, 20))
