"""HardConfig: validation with InputError, the keyword/sidecar form, and the one conversion."""
import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gluoncv_hard import HardConfig as PublicHardConfig
from gluoncv_hard.core import config as config_module
from gluoncv_hard.core.config import (
    HARD_OPTIONS,
    HARD_OVERLAPS,
    HARD_POLICIES,
    HARD_PRECEDENCES,
    HardConfig,
    check_count,
    check_fraction,
    check_thresholds,
    pop_hard_config,
)
from gluoncv_hard.errors import InputError

configs = st.builds(HardConfig, policy=st.sampled_from(HARD_POLICIES),
                    overlap=st.sampled_from(HARD_OVERLAPS),
                    thresh=st.floats(0, 1, exclude_min=True),
                    precedence=st.sampled_from(HARD_PRECEDENCES),
                    cover_thresh=st.floats(0, 1, exclude_min=True))


def test_public_name_is_the_core_class():
    from gluoncv_hard.core.matching import HardConfig as OldHome
    assert PublicHardConfig is HardConfig is OldHome


@pytest.mark.parametrize('kwargs, param', [
    (dict(policy='neutral'), 'hard_policy'),
    (dict(overlap='giou'), 'hard_overlap'),
    (dict(precedence='hard_wins'), 'hard_precedence'),
    (dict(thresh=0), 'hard_thresh'),
    (dict(thresh=True), 'hard_thresh'),
    (dict(cover_thresh=1.01), 'hard_cover_thresh'),
])
def test_validation_errors_are_input_errors_naming_the_keyword(kwargs, param):
    with pytest.raises(InputError) as info:
        HardConfig(**kwargs)
    assert info.value.param == param and str(info.value).startswith(param + '=')


@settings(max_examples=50, deadline=None)
@given(config=configs)
def test_options_round_trip(config):
    options = config.as_options()
    assert tuple(options) == HARD_OPTIONS
    assert HardConfig.from_options(options) == config
    assert HardConfig.from_sidecar(options) == config
    assert pop_hard_config(dict(options)) == config


def test_sidecar_form_is_what_checkpoints_store():
    # engine/trainer.py writes these five keys as the sidecar's "hard" entry.
    assert HardConfig(policy='drop', thresh=0.4).as_options() == {
        'hard_policy': 'drop', 'hard_overlap': 'iof', 'hard_thresh': 0.4,
        'hard_precedence': 'normal_wins', 'hard_cover_thresh': 0.95}


def test_sidecar_reader_fills_defaults_and_skips_unknown_keys():
    assert HardConfig.from_sidecar(None) == HardConfig()
    assert HardConfig.from_sidecar({}) == HardConfig()
    got = HardConfig.from_sidecar({'hard_policy': 'positive', 'hard_future_option': 3})
    assert got == HardConfig(policy='positive')
    with pytest.raises(InputError, match='hard_overlap'):
        HardConfig.from_sidecar({'hard_overlap': 'nonsense'})


def test_from_options_refuses_unknown_keys_and_modifies_base():
    with pytest.raises(TypeError, match=r"unknown hard options \['hard_polcy'\]"):
        HardConfig.from_options({'hard_polcy': 'drop'})
    base = HardConfig(policy='drop', overlap='iou')
    assert HardConfig.from_options({'hard_thresh': 0.3}, base) == dataclasses.replace(
        base, thresh=0.3)


def test_pop_hard_config_takes_exactly_one_form():
    kwargs = {'hard_policy': 'positive', 'hard_thresh': 0.6, 'num_sample': 64}
    assert pop_hard_config(kwargs) == HardConfig(policy='positive', thresh=0.6)
    assert kwargs == {'num_sample': 64}  # the hard keys are consumed, the rest is left

    given_config = HardConfig(policy='drop')
    kwargs = {'num_sample': 64}
    assert pop_hard_config(kwargs, given_config) is given_config
    assert kwargs == {'num_sample': 64}
    assert pop_hard_config({}) == HardConfig()
    assert pop_hard_config({}, base=given_config) == given_config
    assert pop_hard_config({'hard_overlap': 'iou'}, base=given_config) == HardConfig(
        policy='drop', overlap='iou')

    with pytest.raises(TypeError, match='not both'):
        pop_hard_config({'hard_policy': 'drop'}, given_config)
    with pytest.raises(TypeError, match='unknown hard options'):
        pop_hard_config({'hard_polcy': 'drop'})
    with pytest.raises(TypeError, match='must be a gluoncv_hard.HardConfig'):
        pop_hard_config({}, {'hard_policy': 'drop'})
    with pytest.raises(InputError, match='hard_policy'):
        pop_hard_config({'hard_policy': 'none'})


def test_one_conversion_place():
    # Every constructor converts through pop_hard_config: no other module spells out the
    # five keyword names.
    import pathlib

    import gluoncv_hard
    root = pathlib.Path(gluoncv_hard.__file__).parent
    owners = []
    for path in sorted(root.rglob('*.py')):
        text = path.read_text(encoding='utf-8')
        if "'hard_cover_thresh'" in text:
            owners.append(path.relative_to(root).as_posix())
    # cli/ (flags) and engine/trainer.py (sidecar writer) are switched by the integrator.
    assert [o for o in owners if not o.startswith('cli/') and o != 'engine/trainer.py'] == [
        'core/config.py']


@pytest.mark.parametrize('call, param', [
    (lambda: check_thresholds(0, 0), 'pos_iou_thresh'),
    (lambda: check_thresholds(0.7, -0.1), 'neg_iou_thresh'),
    (lambda: check_thresholds(0.3, 0.7), 'neg_iou_thresh'),
    (lambda: check_thresholds(0.7, 0.3, 0), 'best_match_min_iou'),
    (lambda: check_count('num_sample', 0), 'num_sample'),
    (lambda: check_count('num_sample', 2.0), 'num_sample'),
    (lambda: check_count('num_sample', True), 'num_sample'),
    (lambda: check_fraction('pos_ratio', 1.5), 'pos_ratio'),
    (lambda: check_fraction('pos_ratio', 'half'), 'pos_ratio'),
])
def test_checks_raise_input_errors_naming_the_parameter(call, param):
    with pytest.raises(InputError) as info:
        call()
    assert info.value.param == param


def test_checks_accept_valid_values():
    assert check_thresholds(0.7, 0.3) == 0.3
    assert check_thresholds(0.5, 0.5, 0.5) == 0.5
    assert check_thresholds(1, 0) == 0
    check_count('num_sample', 1)
    check_fraction('pos_ratio', 1)
    check_fraction('neg_iou_thresh', 0, low_open=False)
    assert config_module.HARD_OPTIONS == HARD_OPTIONS
