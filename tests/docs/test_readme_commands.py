"""The VOC and COCO training commands the README shows run, on the demo data laid out as a VOC
devkit and as a COCO folder (tiny input size, one iteration).

Changed from the README for this machine: no ``--pretrained-base`` (GluonCV's ImageNet weights
cannot be downloaded here, and GluonCV checks their SHA-1), ``--gpus ''`` (no GPU), and a tiny
``--short``/``--max-size``, one epoch whose training set is one batch.
"""
import json
import os
import pathlib
import re
import shlex
import shutil

import pytest

from gluoncv_hard.cli import train as train_cli
from gluoncv_hard.data.voc import parse_voc_xml
from gluoncv_hard.demo.generate import generate_demo_dataset

pytestmark = pytest.mark.slow

README = pathlib.Path(__file__).resolve().parents[2] / 'README.md'
TINY = ['--short', '160', '--max-size', '192', '--epochs', '1', '--num-workers', '0',
        '--log-interval', '1']


def readme_train_commands():
    """The ``gluoncv-hard-train`` command lines of the README's Training section, as argv."""
    text = README.read_text(encoding='utf-8')
    section = text[text.index('## Training'):text.index('## Evaluation')]
    commands = []
    for block in re.findall(r'```bash\n(.*?)```', section, re.S):
        for command in block.replace('\\\n', ' ').splitlines():
            words = shlex.split(command)
            if words and words[0] == 'gluoncv-hard-train':
                commands.append(words[1:])
    return commands


def adapted(argv, batch_size):
    """``argv`` for this machine (see the module docstring)."""
    out, skip = [], False
    for word in argv:
        if skip:
            skip = False
            continue
        if word == '--pretrained-base':
            continue
        if word in ('--gpus', '--batch-size'):
            skip = True
            continue
        out.append(word)
    return out + ['--gpus', '', '--batch-size', str(batch_size)] + TINY


def _value(argv, flag):
    return argv[argv.index(flag) + 1]


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp('readme')
    data = root / 'demo'
    generate_demo_dataset(str(data), seed=1, n_train=8, n_val=2, n_negatives_pool=1,
                          n_negatives_test=1, progress=False)
    return root, data


def _voc_devkit(root, data, train_images):
    devkit = root / 'VOCdevkit' / 'VOC2007'
    shutil.copytree(data / 'Annotations', devkit / 'Annotations')
    shutil.copytree(data / 'JPEGImages', devkit / 'JPEGImages')
    sets = devkit / 'ImageSets' / 'Main'
    sets.mkdir(parents=True)
    train_ids = (data / 'ImageSets' / 'Main' / 'train.txt').read_text().split()[:train_images]
    (sets / 'trainval.txt').write_text('\n'.join(train_ids) + '\n')
    shutil.copy(data / 'ImageSets' / 'Main' / 'val.txt', sets / 'test.txt')


def _coco_folder(root, data, train_images):
    """The demo's train split as ``coco/train2017`` + ``instances_train2017.json``; hard faces
    become ``iscrowd`` annotations."""
    images_dir = root / 'coco' / 'train2017'
    images_dir.mkdir(parents=True)
    ids = (data / 'ImageSets' / 'Main' / 'train.txt').read_text().split()[:train_images]
    images, annotations = [], []
    for number, image_id in enumerate(ids, 1):
        width, height, objects = parse_voc_xml(str(data / 'Annotations' / (image_id + '.xml')))
        filename = image_id + '.jpg'
        shutil.copy(data / 'JPEGImages' / filename, images_dir / filename)
        images.append({'id': number, 'file_name': filename, 'width': width, 'height': height})
        for obj in objects:
            xmin, ymin, xmax, ymax = obj.xmin, obj.ymin, obj.xmax, obj.ymax
            annotations.append({'id': len(annotations) + 1, 'image_id': number,
                                'category_id': 1, 'iscrowd': int(obj.difficult),
                                'bbox': [xmin, ymin, xmax - xmin, ymax - ymin],
                                'area': (xmax - xmin) * (ymax - ymin)})
    path = root / 'coco' / 'annotations' / 'instances_train2017.json'
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({'images': images, 'annotations': annotations,
                                'categories': [{'id': 1, 'name': 'face'}]}))


def test_the_readme_shows_a_voc_and_a_coco_command():
    kinds = [_value(argv, '--dataset') for argv in readme_train_commands()]
    assert kinds == ['voc', 'coco']


@pytest.mark.parametrize('kind', ['voc', 'coco'])
def test_readme_command_trains(demo, kind, monkeypatch, capsys):
    root, data = demo
    (argv,) = [a for a in readme_train_commands() if _value(a, '--dataset') == kind]
    batch_size = 2
    if kind == 'voc':
        _voc_devkit(root, data, batch_size)
    else:
        _coco_folder(root, data, batch_size)
    monkeypatch.chdir(root)
    assert train_cli.main(adapted(argv, batch_size)) == 0
    prefix = _value(argv, '--save-prefix')
    lines = [json.loads(line) for line in open(prefix + '_metrics.jsonl', encoding='utf-8')]
    assert len(lines) == 1 and lines[0]['iterations'] == 1
    assert os.path.isfile(prefix + '_last.params')
    if kind == 'voc':  # --val test: validated, so there is a best checkpoint
        assert 'val' in lines[0] and os.path.isfile(prefix + '_best.params')
