"""Shared option groups: the same flag means the same thing in every command; every command has
--debug; train flags passed through after "--" (cli.passthrough)."""
import pytest

from gluoncv_hard.cli import audit, demo, evaluate, mine, mining_rounds, train
from gluoncv_hard.cli.passthrough import (
    check_passthrough,
    flags_of_settings,
    passthrough_config,
    strip_separator,
)
from gluoncv_hard.engine.config import TrainConfig
from gluoncv_hard.errors import InputError

PARSERS = {'train': train.build_parser(), 'evaluate': evaluate.build_parser(),
           'mine': mine.build_parser(), 'mining_rounds': mining_rounds.build_parser(),
           'audit': audit.build_parser(), 'demo': demo.build_parser()}
# flag -> (every option string of that flag, its dest)
SHARED = {
    '--data-root': (('--data-root',), 'data_root'),
    '--dataset': (('--dataset',), 'dataset'),
    '--train': (('--train',), 'train'),
    '--val': (('--val',), 'val'),
    '--network': (('--network',), 'network'),
    '--use-fpn': (('--use-fpn',), 'use_fpn'),
    '--classes': (('--classes',), 'classes'),
    '--num-workers': (('--num-workers', '-j'), 'num_workers'),
    '--gpus': (('--gpus',), 'gpus'),
    '--neg-train': (('--neg-train',), 'neg_train'),
    '--hard-policy': (('--hard-policy',), 'hard_policy'),
    '--debug': (('--debug',), 'debug'),
}
# Older spellings kept as aliases: (command, flag) -> aliases.
ALIASES = {('demo', '--data-root'): ('--data',)}


def actions(parser):
    return {option: action for action in parser._actions for option in action.option_strings}


@pytest.mark.parametrize('command', sorted(PARSERS))
def test_shared_flags_have_one_spelling_and_meaning(command):
    found = actions(PARSERS[command])
    assert '--debug' in found and '--num-workers' in found and '-j' in found
    for flag, (options, dest) in SHARED.items():
        if flag in found:
            expected = options + ALIASES.get((command, flag), ())
            assert tuple(found[flag].option_strings) == expected, (command, flag)
            assert found[flag].dest == dest, (command, flag)


def test_where_the_data_flags_are():
    for command in ('train', 'evaluate', 'mine', 'mining_rounds', 'audit'):
        assert {'--dataset', '--data-root'} <= set(actions(PARSERS[command])), command
    assert {'--network', '--classes', '--use-fpn'} <= set(actions(PARSERS['evaluate']))
    assert {'--network', '--classes', '--use-fpn'} <= set(actions(PARSERS['mine']))
    assert '--gpus' in actions(PARSERS['audit']) and '--gpus' not in actions(PARSERS['demo'])


def test_defaults_that_differ_on_purpose():
    def default(command, dest):
        return PARSERS[command].get_default(dest)
    assert default('train', 'network') == 'resnet50_v1b'
    assert default('mining_rounds', 'network') == default('audit', 'network') == 'tiny'
    assert default('evaluate', 'network') is None and default('mine', 'network') is None
    assert default('audit', 'num_workers') == default('evaluate', 'num_workers') == 2


def test_old_spellings_are_aliases():
    args = demo.build_parser().parse_args(['--data-root', 'd', '-j', '0'])
    assert (args.data_root, args.num_workers) == ('d', 0)
    assert demo.build_parser().parse_args(['--data', 'e']).data_root == 'e'
    args = mining_rounds.build_parser().parse_args(['--pool', 'p', '--neg-val', 't', '--out',
                                                    'o'])
    assert args.neg_test == ['t']


def test_managed_flags_come_from_the_settings_names():
    parser = train.build_parser()
    assert flags_of_settings(parser, {'num_workers', 'epochs'}) == ('--epochs', '--num-workers',
                                                                    '-j')
    with pytest.raises(InputError, match='-j is set by the tool itself'):
        check_passthrough(['--lr-warmup', '3', '-j', '2'], ('-j',), 'the tool')
    with pytest.raises(InputError, match='--epochs is set by'):
        check_passthrough(['--epochs=2'], ('--epochs',), 'the tool')
    assert strip_separator(['--', '--x']) == ['--x'] and strip_separator(['--x']) == ['--x']


def test_passthrough_config():
    config = passthrough_config(['--', '--lr-warmup', '7', '--save-interval', '3'], 'the tool',
                                settings=dict(network='tiny', epochs=2),
                                managed=('save_prefix',), defaults=dict(save_interval=0))
    assert config == TrainConfig.create(network='tiny', epochs=2, lr_warmup=7, save_interval=3)
    assert passthrough_config([], 'the tool', {}, defaults=dict(save_interval=0)) \
        .output.save_interval == 0
    with pytest.raises(InputError, match='--save-prefix is set by the tool'):
        passthrough_config(['--save-prefix', 'x'], 'the tool', {}, managed=('save_prefix',))
    with pytest.raises(InputError, match='--network is set by the tool'):
        passthrough_config(['--network', 'tiny'], 'the tool', dict(network='tiny'))
    with pytest.raises(InputError) as error:
        passthrough_config(['--batch-size', '0'], 'the tool', {})
    assert error.value.param == 'batch_size'
    with pytest.raises(SystemExit):
        passthrough_config(['--no-such-flag'], 'the tool', {})

