"""The preview tool draws the boxes where the metadata says, in the documented colours."""
import cv2
import pytest

from gluoncv_hard.cli import demo_preview
from gluoncv_hard.demo import generate
from gluoncv_hard.vis import demo_scenes


@pytest.fixture(scope='module')
def data(tmp_path_factory):
    out = str(tmp_path_factory.mktemp('demo') / 'data')
    generate.generate_demo_dataset(out, seed=5, n_train=20, n_val=0, n_negatives_pool=0,
                                   n_negatives_test=0, progress=False)
    return out


def test_boxes_are_drawn_green_or_red_on_the_box_outline(data):
    records = generate.load_meta(data)['images']
    seen = set()
    for record in records:
        image = demo_scenes.draw_scene(data, record)
        for face in record['faces']:
            xmin, ymin, xmax, ymax = face['box']
            colour = demo_scenes.HARD_COLOUR if face['difficult'] else demo_scenes.NORMAL_COLOUR
            # The bottom-right corner is never covered by the reason text (written above).
            assert tuple(int(v) for v in image[ymax, xmax]) == colour
            seen.add(face['difficult'])
    assert seen == {True, False}


def test_cli_writes_one_png_sheet(data, tmp_path):
    out = str(tmp_path / 'sheet.png')
    assert demo_preview.main(['--data', data, '--out', out, '--columns', '2', '--distractors',
                         'train_00000', 'train_00001', 'train_00002']) == 0
    sheet = cv2.imread(out)
    first = cv2.imread(data + '/JPEGImages/train_00000.jpg')
    assert sheet.shape[0] >= 2 * first.shape[0] and sheet.shape[1] >= 2 * first.shape[1]
    with pytest.raises(SystemExit) as exit_info:
        demo_preview.main(['--data', data, '--out', out, 'no_such_id'])
    assert exit_info.value.code == 2


def test_cli_names_the_data_flag_of_a_missing_data_set(data, tmp_path, capsys):
    out = str(tmp_path / 'one.png')
    assert demo_preview.main(['--data-root', data, '--out', out, 'train_00001']) == 0
    assert capsys.readouterr().out == 'wrote {}\n'.format(out)
    missing = str(tmp_path / 'nowhere')
    assert demo_preview.main(['--data-root', missing, '--out', out, 'train_00001']) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: --data: {} is not a finished demo data set'.format(missing))
    assert 'Traceback' not in err
