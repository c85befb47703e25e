"""``PREFIX_metrics.png``: drawn from the metrics file, by the trainer and by
``gluoncv-hard-plot``."""
import json
import os

import cv2
import numpy as np
import pytest
from fixtures import small_demo

from gluoncv_hard.cli import plot as plot_cli
from gluoncv_hard.engine.config import TrainConfig
from gluoncv_hard.engine.plot import latest_per_epoch, plot_metrics, plot_run, read_metrics
from gluoncv_hard.engine.trainer import train
from gluoncv_hard.errors import InputError, InputNotFoundError


def line(epoch, loss, val=None, **extra):
    out = {'epoch': epoch, 'iterations': 3, 'lr': 0.01 * 0.1 ** (epoch >= 2),
           'train_losses': {'rpn_cls': loss, 'rpn_box': loss / 100, 'rcnn_cls': loss / 2,
                            'rcnn_box': 0.0}}
    if val is not None:
        out['val'] = {'voc07_map': val, 'voc12_map': val, 'coco_ap': val / 3,
                      'coco_ap50': val / 2, 'neg_false_per_image': 1 - val,
                      'neg_score_threshold': 0.5}
    out.update(extra)
    return out


def write_lines(path, lines):
    with open(path, 'w') as f:
        f.write(''.join(json.dumps(x) + '\n' for x in lines))


def decode(path):
    image = cv2.imread(str(path))
    assert image is not None, path
    return image


def test_plot_of_a_run_with_a_resume(tmp_path):
    prefix = str(tmp_path / 'run')
    # Epochs 0-3, then a resume from epoch 1: epochs 2 and 3 again (the later lines count).
    lines = [line(0, 0.7, 0.1), line(1, 0.6, 0.3, best=True), line(2, 0.5), line(3, 0.45, 0.2),
             line(2, 0.4), line(3, 0.35, 0.5, best=True)]
    write_lines(prefix + '_metrics.jsonl', lines)
    assert [x['train_losses']['rpn_cls'] for x in latest_per_epoch(lines)] == [0.7, 0.6, 0.4,
                                                                              0.35]
    path = plot_run(prefix)
    assert path == prefix + '_metrics.png'
    assert decode(path).shape == (760, 700, 3)
    assert sorted(os.listdir(tmp_path)) == ['run_metrics.jsonl', 'run_metrics.png']
    # The picture is of the numbers: other numbers, another picture.
    assert plot_metrics(lines) != plot_metrics(lines[:4])


def test_a_run_without_validation_still_gets_a_picture(tmp_path):
    png = plot_metrics([line(0, 0.7), line(1, 0.6)])
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (760, 700, 3)


@pytest.mark.parametrize('text, message', [
    ('{"epoch": 0}\nnot json\n', 'line 2: not JSON'),
    ('[1, 2]\n', 'line 1: expected a JSON object with an integer "epoch"'),
    ('{"epoch": "0"}\n', 'line 1: expected a JSON object'),
])
def test_bad_metrics_files_name_file_and_line(tmp_path, text, message):
    path = tmp_path / 'run_metrics.jsonl'
    path.write_text(text)
    with pytest.raises(InputError, match=message) as error:
        read_metrics(str(path))
    assert str(path) in str(error.value)
    assert not (tmp_path / 'run_metrics.png').exists()


def test_command_line(tmp_path, capsys):
    prefix = str(tmp_path / 'run')
    write_lines(prefix + '_metrics.jsonl', [line(0, 0.7, 0.2)])
    out = str(tmp_path / 'elsewhere.png')
    assert plot_cli.main([prefix + '_metrics.jsonl', '--out', out]) == 0
    assert capsys.readouterr().out.strip() == 'wrote {}'.format(out)
    decode(out)
    assert plot_cli.main([str(tmp_path / 'missing')]) == 2
    err = capsys.readouterr().err
    assert err.startswith('error: RUN_PREFIX: ') and 'missing_metrics.jsonl does not exist' in err
    (tmp_path / 'empty_metrics.jsonl').write_text('')
    assert plot_cli.main([str(tmp_path / 'empty')]) == 2
    assert 'has no epoch yet' in capsys.readouterr().err
    with pytest.raises(InputNotFoundError):
        plot_run(str(tmp_path / 'missing'))


@pytest.mark.slow
def test_training_redraws_the_picture_at_each_validation(tmp_path_factory):
    demo = small_demo(tmp_path_factory)
    prefix = str(tmp_path_factory.mktemp('plot') / 'run')
    config = TrainConfig.create(network='tiny', data_root=demo, epochs=1, lr=0.01,
                                log_interval=0, num_workers=0, save_interval=0,
                                save_prefix=prefix)
    train(config)
    with open(prefix + '_metrics.png', 'rb') as f:
        first = f.read()
    train(config.replace(epochs=2, resume=prefix + '_last.params'))
    with open(prefix + '_metrics.png', 'rb') as f:
        second = f.read()
    # Redrawn with epoch 1: the same picture as drawing the metrics file now.
    assert second != first
    assert second == plot_metrics(read_metrics(prefix + '_metrics.jsonl'),
                                  'run: 2 epoch(s), last epoch 1')
