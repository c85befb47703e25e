"""Mining rounds (gluoncv_hard.mining.rounds, .loop, .plot; gluoncv_hard.cli.mining_rounds)."""
import dataclasses
import json
import os
import pickle

import cv2
import pytest
from fixtures import small_demo

from gluoncv_hard.cli import mining_rounds as rounds_cli
from gluoncv_hard.cli import train as train_cli
from gluoncv_hard.data.datasets import open_negatives
from gluoncv_hard.engine.config import TrainConfig
from gluoncv_hard.errors import InputError
from gluoncv_hard.mining import rounds as mining_rounds
from gluoncv_hard.mining.plot import plot_history


def entry(voc07_map, fp, index=0, mined=0, total=0):
    return dict(round=index, voc07_map=voc07_map, coco_ap=None if voc07_map is None else
                voc07_map / 2, neg_false_per_image=fp, neg_false_detections=int(fp * 10),
                neg_score_threshold=0.5, num_mined=mined, num_negatives_trained=total,
                retrain='finetune', checkpoint='r{}.params'.format(index))


@pytest.mark.parametrize('maps, fps, kwargs, expected', [
    ([0.60], [1.0], {}, None),                                   # round 0: nothing to compare
    ([0.60, 0.61], [1.0, 0.5], {}, None),                        # better on both: go on
    ([0.60, 0.59], [1.0, 0.5], {}, None),                        # mAP within the tolerance
    ([0.60, 0.57], [1.0, 0.5], {}, 'map_drop'),                  # mAP 0.03 below the best
    ([0.60, 0.57], [1.0, 0.5], {'map_tolerance': 0.05}, None),
    ([0.60, 0.62, 0.585], [1.0, 0.8, 0.5], {}, 'map_drop'),      # best so far is round 1
    ([0.60, 0.61], [1.0, 1.0], {}, 'false_detections_not_falling'),  # equal is not falling
    ([0.60, 0.61, 0.62], [1.0, 0.4, 0.6], {}, 'false_detections_not_falling'),  # vs lowest
    ([0.60, 0.61], [1.0, 0.95], {'min_fp_decrease': 0.1}, 'false_detections_not_falling'),
    ([0.60, 0.61], [1.0, 0.85], {'min_fp_decrease': 0.1}, None),
    ([0.60, 0.50], [1.0, 2.0], {}, 'map_drop'),                  # mAP is checked first
    ([0.0, 0.0], [0.0, 0.0], {}, 'false_detections_not_falling'),  # nothing left to reduce
    ([None, None], [1.0, 0.5], {}, None),                        # no validation set
    ([None, None], [1.0, 1.5], {}, 'false_detections_not_falling'),
])
def test_stop_rule(maps, fps, kwargs, expected):
    history = [entry(m, f, i) for i, (m, f) in enumerate(zip(maps, fps))]
    assert mining_rounds.stop_reason(history, **kwargs) == expected


def test_recommended_round_has_fewest_false_detections_within_the_map_tolerance():
    history = [entry(0.60, 1.0, 0), entry(0.61, 0.4, 1), entry(0.50, 0.1, 2),
               entry(0.595, 0.4, 3)]
    assert mining_rounds.recommended_round(history) == 1  # round 2 lost too much mAP
    assert mining_rounds.recommended_round(history, map_tolerance=0.2) == 2
    assert mining_rounds.recommended_round([entry(None, 2.0, 0), entry(None, 1.0, 1)]) == 1


def test_plot_history_writes_a_png(tmp_path):
    history = dict(config=dict(retrain='scratch'), stop_reason='rounds_done',
                   rounds=[entry(0.6, 1.2, 0), entry(0.62, 0.7, 1, 36, 36),
                           entry(0.61, 0.5, 2, 36, 72)])
    path = str(tmp_path / 'history.png')
    plot_history(history, path)
    image = cv2.imread(path)
    assert image.shape == (520, 640, 3)
    assert os.path.getsize(path) < 200_000
    assert os.listdir(tmp_path) == ['history.png']  # no temporary file left


def parse(argv):
    return rounds_cli.config_from_args(rounds_cli.build_parser().parse_args(argv))


BASE = ['--data-root', 'd', '--pool', 'p', '--neg-test', 't', '--out', 'o']


def flat(config):
    """``{setting: value}`` of a TrainConfig (``hard`` whole)."""
    return {name: value for group in dataclasses.fields(config)
            for name, value in (dataclasses.asdict(getattr(config, group.name)).items()
                                if group.name != 'hard' else [('hard', config.hard)])}


def test_round_train_config_per_round_and_finetune_lr():
    config = parse(BASE + ['--epochs', '3', '--lr', '0.02', '--finetune-epochs', '1',
                           '--', '--lr-warmup', '100'])
    first = mining_rounds.round_train_config(config, 0, [])
    assert first.schedule.epochs == 3 and first.schedule.lr == 0.02 and first.model.init == ''
    assert first.schedule.lr_warmup == 100 and first.output.save_interval == 0
    assert first.output.save_prefix == os.path.join('o', 'round_0', 'train')
    assert first.data.neg_val == ('t',) and first.data.neg_train == ()
    later = mining_rounds.round_train_config(config, 2, ['a.lst', 'b.lst'], init='r1.params')
    assert later.data.neg_train == ('a.lst', 'b.lst') and later.model.init == 'r1.params'
    assert later.schedule.epochs == 1 and later.schedule.lr == pytest.approx(0.002)
    assert later.schedule.lr_warmup == 100  # the flags after "--" apply to every round
    # A round changes only the settings it manages (the CLI refuses their flags after "--").
    changed = {name for name, value in flat(later).items() if flat(config.base)[name] != value}
    assert changed <= set(mining_rounds.ROUND_TRAIN_SETTINGS)
    assert {'neg_train', 'init', 'epochs', 'save_prefix'} <= changed
    # history.json's train_argv is the equivalent train command line.
    argv = later.to_flags()
    assert train_cli.config_from_args(train_cli.parse_args(argv)) == later
    assert [argv[i + 1] for i, t in enumerate(argv) if t == '--neg-train'] == ['a.lst', 'b.lst']
    # Without --lr the train script's default applies, and finetuning uses a tenth of it.
    assert mining_rounds.finetune_lr(parse(BASE)) == pytest.approx(0.0001)


def test_rounds_config_is_a_frozen_value():
    config = parse(BASE)
    assert config.base.model.network == 'tiny' and config.base.schedule.epochs == 5
    assert config.neg_test == ('t',) and config.pool == ('p',)
    assert pickle.loads(pickle.dumps(config)) == config
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.rounds = 3
    assert dataclasses.replace(config, rounds=4).rounds == 4
    library = mining_rounds.RoundsConfig(
        out='o', base=TrainConfig.create(network='tiny', data_root='d', epochs=5,
                                         num_workers=2, save_interval=0),
        neg_test='t', pool=['p'])
    assert library == config
    with pytest.raises(InputError) as error:
        dataclasses.replace(config, map_tolerance=-1)
    assert error.value.param == 'map_tolerance'
    # history.json keeps its config keys.
    assert sorted(config.as_dict()) == sorted([
        'out', 'dataset', 'data_root', 'train', 'val', 'neg_test', 'pool', 'rounds', 'retrain',
        'network', 'classes', 'epochs', 'lr', 'finetune_epochs', 'finetune_lr', 'num',
        'fraction', 'rank_by', 'count_thresh', 'min_score', 'map_tolerance', 'min_fp_decrease',
        'early_stop', 'seed', 'num_workers', 'gpus', 'train_args', 'init'])
    assert parse(BASE + ['--', '--lr-warmup', '9']).as_dict()['train_args'][:2] == [
        '--lr-warmup', '9']


def test_init_checkpoint_sets_the_finetune_lr(tmp_path):
    params = tmp_path / 'model_best.params'
    params.write_bytes(b'')
    (tmp_path / 'model_best.json').write_text(json.dumps({'lr': 0.02}))
    config = parse(BASE + ['--init', str(params)])
    assert mining_rounds.finetune_lr(config) == pytest.approx(0.002)
    # An explicit --lr wins over the checkpoint's.
    assert mining_rounds.finetune_lr(parse(BASE + ['--init', str(params), '--lr', '0.05'])) \
        == pytest.approx(0.005)
    with pytest.raises(InputError, match='nope.params does not exist') as error:
        parse(BASE + ['--init', str(tmp_path / 'nope.params')])
    assert error.value.param == 'init'
    # --neg-val is the train script's name of --neg-test.
    assert parse(['--data-root', 'd', '--pool', 'p', '--neg-val', 't', '--out', 'o']).neg_test \
        == ('t',)


@pytest.mark.parametrize('extra, param, message', [
    (['--', '--epochs', '3'], None, '--epochs is set by the mining rounds'),
    (['--', '--save-prefix=x'], None, '--save-prefix is set by the mining rounds'),
    (['--', '-j', '3'], None, '-j is set by the mining rounds'),
    (['--', '--neg-val', 'x'], None, '--neg-val is set by the mining rounds'),
    (['--rounds', '0'], 'rounds', 'must be at least 1'),
    (['--num', '0'], 'num', 'must be at least 1'),
    (['--finetune-epochs', '0'], 'finetune_epochs', 'must be at least 1'),
    (['--epochs', '0'], 'epochs', 'must be at least 1'),
    (['--retrain', 'scratch', '--', '--batch-size', '0'], 'batch_size', 'must be at least 1'),
])
def test_bad_settings_fail_before_any_work(extra, param, message):
    with pytest.raises(InputError, match=message) as error:
        parse(BASE + extra)
    assert error.value.param == param


def test_bad_settings_name_the_flag(capsys):
    assert rounds_cli.main(BASE + ['--rounds', '0']) == 2
    assert 'error: --rounds: must be at least 1' in capsys.readouterr().err
    assert rounds_cli.main(BASE + ['--', '--epochs', '3']) == 2
    assert 'error: --epochs is set by the mining rounds' in capsys.readouterr().err


def test_cli_errors(tmp_path, capsys):
    out = tmp_path / 'out'
    out.mkdir()
    (out / 'old.txt').write_text('x')
    argv = ['--data-root', str(tmp_path / 'nowhere'), '--pool', str(tmp_path),
            '--neg-test', str(tmp_path), '--out', str(out)]
    assert rounds_cli.main(argv) == 2
    assert 'does not exist' in capsys.readouterr().err
    with pytest.raises(SystemExit):
        rounds_cli.main(argv[:4] + argv[6:])  # --neg-test is required
    assert sorted(os.listdir(out)) == ['old.txt']


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    return small_demo(tmp_path_factory, n_negatives_pool=6)


@pytest.mark.slow
def test_two_short_rounds_end_to_end(demo, tmp_path):
    out = str(tmp_path / 'mining')
    history = rounds_cli.run([
        '--data-root', demo, '--pool', os.path.join(demo, 'negatives', 'pool'),
        '--neg-test', os.path.join(demo, 'negatives', 'test'), '--out', out, '--rounds', '2',
        '--epochs', '1', '--lr', '0.01', '--finetune-epochs', '1', '--num', '2',
        '--num-workers', '0', '--no-early-stop', '--no-progress', '--', '--log-interval', '0'])
    with open(os.path.join(out, 'history.json')) as f:
        saved = json.load(f)
    assert saved == json.loads(json.dumps(history))
    rounds = saved['rounds']
    assert [r['round'] for r in rounds] == [0, 1, 2]
    assert [r['num_mined'] for r in rounds] == [0, 2, 2]
    assert [r['num_negatives_trained'] for r in rounds] == [0, 2, 4]
    assert [r['retrain'] for r in rounds] == ['baseline', 'finetune', 'finetune']
    assert saved['stop_reason'] == 'rounds_done' and saved['train_size'] == 6
    for r in rounds:
        assert os.path.isfile(r['checkpoint'])
        assert r['neg_images'] == 3 and r['neg_false_per_image'] >= 0
        assert r['voc07_map'] is not None
        assert r['neg_false_detections'] == r['neg_false_by_threshold']['0.5']
    assert rounds[1]['stop_check'] in (None, 'map_drop', 'false_detections_not_falling')
    # Round 2 trained on both rounds' negatives, and never mined an image twice.
    assert rounds[2]['train_argv'].count('--neg-train') == 2
    assert rounds[2]['train_argv'][rounds[2]['train_argv'].index('--init') + 1] == \
        rounds[1]['checkpoint']
    mined = [open_negatives(os.path.join(out, 'round_{}'.format(k), 'mined.lst'))
             for k in (1, 2)]
    paths = [{os.path.realpath(m.image_path(i)) for i in range(len(m))} for m in mined]
    assert len(paths[0]) == len(paths[1]) == 2 and not paths[0] & paths[1]
    with open(os.path.join(out, 'round_2', 'train_metrics.jsonl')) as f:
        assert json.loads(f.readline())['iterations'] == 6 + 4
    for k in (1, 2):
        for name in ('mined.csv', 'mined.png', 'eval.json'):
            assert os.path.isfile(os.path.join(out, 'round_{}'.format(k), name))
    assert cv2.imread(os.path.join(out, 'history.png')).shape == (520, 640, 3)

    # --init: a given checkpoint is round 0 (evaluated, not trained), the next round fine-tunes
    # from it at a tenth of the rate it was trained with.
    again = str(tmp_path / 'again')
    history = rounds_cli.run([
        '--data-root', demo, '--pool', os.path.join(demo, 'negatives', 'pool'),
        '--neg-val', os.path.join(demo, 'negatives', 'test'), '--out', again, '--rounds', '1',
        '--init', rounds[0]['checkpoint'], '--finetune-epochs', '1', '--num', '2',
        '--num-workers', '0', '--no-early-stop', '--no-progress', '--', '--log-interval', '0'])
    given, tuned = history['rounds']
    assert given['retrain'] == 'given' and given['checkpoint'] == rounds[0]['checkpoint']
    assert given['voc07_map'] == pytest.approx(rounds[0]['voc07_map'])
    assert not os.path.exists(os.path.join(again, 'round_0', 'train_last.params'))
    argv = tuned['train_argv']
    assert argv[argv.index('--init') + 1] == rounds[0]['checkpoint']
    assert float(argv[argv.index('--lr') + 1]) == pytest.approx(0.001)
