"""Robustness of the data at the start of training (``open_training_data``, called by the
trainer before anything is built), and ``.rec`` reading with data-loader workers.

Bad data stops ``gluoncv-hard-train`` with exit 2 before the first iteration (no checkpoint, no
metrics line); what may be a mistake but can train (no hard box at all, a validation class list
in another order) is said in the log.
"""
import json
import os

import mxnet as mx
import numpy as np
import pytest
from fixtures import small_demo, small_voc, write_image, write_text

from gluoncv_hard.cli import train as train_cli
from gluoncv_hard.cli.convert import convert_main
from gluoncv_hard.data.datasets import open_training_data
from gluoncv_hard.engine.config import DataConfig, TrainConfig
from gluoncv_hard.errors import InputError
from robustness.harness import clear_error, run_main


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    return small_demo(tmp_path_factory)


@pytest.fixture
def lists(tmp_path):
    """The small VOC set (classes cat, dog) as train.lst and val.lst with the same classes."""
    root = small_voc(tmp_path / 'VOC')
    out = tmp_path / 'lists'
    for name, sets, extra in (('train', 'train', []), ('val', 'val,train', [])):
        assert convert_main(['--format', 'voc', '--root', root, '--sets', sets, '--out',
                             str(out / (name + '.lst')), '--image-root', root, '--no-progress']
                            + extra) == 0
    return root, str(out / 'train.lst'), str(out / 'val.lst')


def _data(root, train, val, **settings):
    return DataConfig(dataset='lst', data_root=root, train=train, val=val, **settings)


def _reconvert_val(root, val, classes_text):
    classes = write_text(os.path.join(os.path.dirname(val), 'other.txt'), classes_text)
    assert convert_main(['--format', 'voc', '--root', root, '--sets', 'val,train', '--out', val,
                         '--image-root', root, '--classes', classes, '--no-progress']) == 0


def test_equal_class_lists_open_as_they_are(lists):
    root, train, val = lists
    data = open_training_data(_data(root, train, val))
    assert data.classes == ['cat', 'dog'] and data.notes == []
    assert data.stats['val'] == {'images': 3, 'negatives': 0, 'boxes': 4, 'hard_boxes': 1,
                                 'hard_fraction': 0.25}


def test_a_val_class_list_in_another_order_is_mapped_by_name(lists):
    root, train, val = lists
    expected = open_training_data(_data(root, train, val)).val_set
    _reconvert_val(root, val, 'dog\ncat\n')
    data = open_training_data(_data(root, train, val))
    assert len(data.notes) == 1 and 'mapped by name: dog 0->1, cat 1->0' in data.notes[0]
    for i in range(len(expected)):
        np.testing.assert_array_equal(data.val_set[i][1], expected[i][1])
        np.testing.assert_array_equal(data.val_set.annotation(i), expected.annotation(i))


def test_a_val_set_with_a_class_the_train_set_lacks_is_refused(lists, tmp_path, capsys):
    root, train, val = lists
    _reconvert_val(root, val, 'cat\ndog\nbird\n')
    with pytest.raises(InputError, match="has classes that the training set lacks: 'bird'") as e:
        open_training_data(_data(root, train, val))
    assert e.value.param == 'val'
    prefix = str(tmp_path / 'run')
    status = run_main(train_cli.main, ['--network', 'tiny', '--dataset', 'lst', '--data-root',
                                       root, '--train', train, '--val', val, '--num-workers',
                                       '0', '--save-prefix', prefix])
    clear_error(status, capsys.readouterr().err, '--val: the validation set', "'bird'",
                '--classes TRAIN.classes.txt')
    assert not os.path.exists(prefix + '_metrics.jsonl')


def test_a_val_set_without_a_class_list_is_said(lists):
    root, train, val = lists
    os.remove(val[:-4] + '.classes.txt')
    os.remove(val[:-4] + '.manifest.json')
    data = open_training_data(_data(root, train, val))
    assert 'has no class list beside it' in data.notes[0]


def test_resuming_with_renamed_classes_is_refused(lists, tmp_path, capsys):
    root, train, val = lists
    with pytest.raises(InputError, match=r"trained on classes \['dog', 'cat'\] but the training "
                                         r"data has \['cat', 'dog'\]") as e:
        open_training_data(_data(root, train, val), checkpoint_classes=['dog', 'cat'])
    assert e.value.param == 'resume'
    # Through the command line: the checkpoint's sidecar names its classes.
    checkpoint = str(tmp_path / 'old_last.params')
    write_text(checkpoint, 'not read: the classes are compared first\n')
    write_text(str(tmp_path / 'old_last.json'), json.dumps({'epoch': 0, 'classes': ['cat',
                                                                                   'bird']}))
    status = run_main(train_cli.main, ['--network', 'tiny', '--dataset', 'lst', '--data-root',
                                       root, '--train', train, '--resume', checkpoint,
                                       '--num-workers', '0', '--save-prefix',
                                       str(tmp_path / 'run')])
    clear_error(status, capsys.readouterr().err, "--resume: the checkpoint was trained on "
                "classes ['cat', 'bird']")


def test_no_hard_box_is_a_warning_unless_the_policy_is_positive(tmp_path):
    write_image(str(tmp_path / 'a.jpg'), 40, 30)
    lst = write_text(str(tmp_path / 'b5.lst'), '0\t4\t5\t40\t30\t0\t0.1\t0.1\t0.5\t0.5\ta.jpg\n')
    write_text(str(tmp_path / 'b5.classes.txt'), 'face\n')
    data = _data(str(tmp_path), lst, '')
    for policy in ('ignore', 'drop'):
        warnings = open_training_data(data, hard_policy=policy).warnings
        assert len(warnings) == 1 and 'no box of the training set is hard (0 of 1)' in \
            warnings[0] and "hard_policy '{}'".format(policy) in warnings[0]
        assert '(B = 5) has no hard flag' in warnings[0]
    assert open_training_data(data, hard_policy='positive').warnings == []


def test_an_undecodable_image_stops_training_before_it_starts(tmp_path, capsys):
    write_image(str(tmp_path / 'a.jpg'), 40, 30)
    write_text(str(tmp_path / 'b.jpg'), 'not a JPEG at all\n')
    lst = write_text(str(tmp_path / 't.lst'), '0\t4\t6\t40\t30\t0\t0.1\t0.1\t0.5\t0.5\t0\ta.jpg\n'
                     '1\t4\t6\t40\t30\t0\t0.1\t0.1\t0.5\t0.5\t0\tb.jpg\n')
    write_text(str(tmp_path / 't.classes.txt'), 'face\n')
    prefix = str(tmp_path / 'run')
    args = ['--network', 'tiny', '--dataset', 'lst', '--train', lst, '--num-workers', '0',
            '--save-prefix', prefix]
    status = run_main(train_cli.main, args + ['--data-root', str(tmp_path)])
    clear_error(status, capsys.readouterr().err, 't.lst:2: unreadable image')
    # A wrong --data-root: every image is missing, and the message names the flag.
    status = run_main(train_cli.main, args + ['--data-root', str(tmp_path / 'elsewhere')])
    clear_error(status, capsys.readouterr().err, '--data-root: 2 errors',
                't.lst:1: image', 'relative to data_root')
    assert not os.path.exists(prefix + '_last.params')
    assert not os.path.exists(prefix + '_metrics.jsonl')


def test_a_voc_size_of_infinity_stops_training_with_a_message(tmp_path, capsys):
    root = small_voc(tmp_path / 'VOC')
    write_text(os.path.join(root, 'Annotations', 'b.xml'), '<annotation><size><width>inf'
               '</width><height>48</height></size></annotation>')
    status = run_main(train_cli.main, ['--network', 'tiny', '--data-root', root, '--val', '',
                                       '--num-workers', '0', '--save-prefix',
                                       str(tmp_path / 'run')])
    clear_error(status, capsys.readouterr().err, 'b.xml: <size> gives width x height = inf x 48')


def test_the_audit_decodes_every_image_before_any_fold_trains(demo, tmp_path, capsys):
    from fixtures import make_voc

    from gluoncv_hard.cli import audit as audit_cli
    root = make_voc(tmp_path / 'VOC', {'i{}'.format(k): (64, 48, [{'name': 'face',
                                                                    'box': (5, 5, 30, 30)}])
                                       for k in range(4)}, extension='.png')
    path = os.path.join(root, 'JPEGImages', 'i2.png')
    data = bytearray(open(path, 'rb').read())
    start = data.find(b'IDAT') + 20
    data[start:start + 100] = b'\0' * 100  # the header reads; the pixels fail their CRC
    with open(path, 'wb') as f:
        f.write(bytes(data))
    out = str(tmp_path / 'audit')
    status = run_main(audit_cli.main, ['--data-root', root, '--train', 'train', '--folds', '2',
                                       '--epochs', '1', '--out', out, '--no-progress'])
    clear_error(status, capsys.readouterr().err, 'i2.png: the image cannot be decoded',
                'nothing was done')
    assert not os.path.exists(out)


# --- .rec with data-loader workers ------------------------------------------------------------

@pytest.fixture(scope='module')
def demo_rec(demo, tmp_path_factory):
    """The demo's train and val sets as .rec files (classes of the train set)."""
    out = tmp_path_factory.mktemp('rec')
    for name, sets in (('train', 'train'), ('val', 'val')):
        assert convert_main(['--format', 'voc', '--root', demo, '--sets', sets, '--rec',
                             '--classes', os.path.join(demo, 'classes.txt'), '--out',
                             str(out / (name + '.lst')), '--no-progress']) == 0
    return str(out / 'train.rec'), str(out / 'val.rec')


def _pixels_and_labels(img, label):
    return float(img.asnumpy().astype(np.float64).sum()), label


def _identity(batch):
    return batch


def test_a_rec_is_read_alike_by_many_threads_and_processes(demo_rec):
    from gluoncv_hard.data import ConcatDetection, RecordFileDetection
    dataset = ConcatDetection([RecordFileDetection(demo_rec[0]), RecordFileDetection(demo_rec[1])])
    expected = [_pixels_and_labels(*dataset[i]) for i in range(len(dataset))]
    passes = [(True, 4)] * 8 + [(False, 2)] * 2
    for thread_pool, workers in passes:
        loader = mx.gluon.data.DataLoader(dataset.transform(_pixels_and_labels), batch_size=1,
                                          num_workers=workers, thread_pool=thread_pool,
                                          batchify_fn=_identity)
        got = [batch[0] for batch in loader]
        assert [g[0] for g in got] == [e[0] for e in expected], (thread_pool, workers)
        for (_, label), (_, reference) in zip(got, expected):
            np.testing.assert_array_equal(label, reference)


def test_evaluating_a_rec_with_workers_is_stable(demo_rec, tiny_c4_net):
    from gluoncv_hard.data import RecordFileDetection
    from gluoncv_hard.engine.validation import evaluate_network
    val = RecordFileDetection(demo_rec[1])
    ctx = [mx.cpu()]
    reference = evaluate_network(tiny_c4_net, ctx, ['face'], val, num_workers=0)
    for _ in range(4):
        assert evaluate_network(tiny_c4_net, ctx, ['face'], val, num_workers=3) == reference


def _without_timings(lines):
    return [{k: v for k, v in line.items() if not k.endswith('_seconds')} for line in lines]


@pytest.mark.slow
def test_training_on_a_rec_with_two_workers_repeats_the_serial_run(demo_rec, tmp_path):
    from gluoncv_hard.engine.trainer import train
    runs = {}
    for workers in (0, 2):
        prefix = str(tmp_path / 'w{}'.format(workers) / 'run')
        config = TrainConfig.create(network='tiny', dataset='rec', train=demo_rec[0],
                                    val=demo_rec[1], epochs=1, lr=0.01, log_interval=0,
                                    num_workers=workers, save_prefix=prefix)
        runs[workers] = train(config).metrics
        with open(prefix + '_train.log') as f:
            log = f.read()
        assert 'Data: train 6 images (0 without boxes)' in log
    assert _without_timings(runs[2]) == _without_timings(runs[0])
    data = runs[2][0]['data']
    assert data['train']['images'] == 6 and data['val']['images'] == 3
    assert data['train']['hard_boxes'] <= data['train']['boxes'] and \
        data['train']['hard_fraction'] == round(data['train']['hard_boxes'] /
                                                data['train']['boxes'], 6)


@pytest.mark.slow
def test_a_lst_without_hard_column_trains_with_a_warning_in_the_log(demo, tmp_path):
    from gluoncv_hard.engine.trainer import train
    out = str(tmp_path / 'b5.lst')
    assert convert_main(['--format', 'voc', '--root', demo, '--sets', 'train', '--out', out,
                         '--no-progress']) == 0
    lines = []
    for line in open(out):
        parts = line.rstrip('\n').split('\t')
        header, boxes = parts[1:5], parts[5:-1]
        boxes = [v for k, v in enumerate(boxes) if k % 6 != 5]  # drop every hard field
        lines.append('\t'.join([parts[0], header[0], '5'] + header[2:] + boxes + [parts[-1]]))
    write_text(out, '\n'.join(lines) + '\n')
    os.remove(out[:-4] + '.manifest.json')  # edited on purpose
    prefix = str(tmp_path / 'run')
    result = train(TrainConfig.create(network='tiny', dataset='lst', train=out,
                                      data_root=os.path.join(demo, 'JPEGImages'), epochs=1,
                                      lr=0.01, log_interval=0, num_workers=0,
                                      save_prefix=prefix))
    assert result.metrics[0]['data']['train']['hard_boxes'] == 0
    with open(prefix + '_train.log') as f:
        log = f.read()
    assert "Warning: no box of the training set is hard (0 of" in log
