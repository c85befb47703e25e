"""gluoncv-hard-eval's command line: --bootstrap."""
import pytest

from gluoncv_hard.cli import evaluate
from gluoncv_hard.evaluation.bootstrap import DEFAULT_RESAMPLES


def parse(*flags):
    return evaluate.build_parser().parse_args(['--params', 'x.params'] + list(flags))


def test_bootstrap_defaults_to_1000_resamples_and_0_turns_it_off():
    assert parse().bootstrap == DEFAULT_RESAMPLES == 1000
    assert parse('--bootstrap', '0').bootstrap == 0
    assert parse('--bootstrap', '250').bootstrap == 250
    assert 'bootstrap' in evaluate.build_parser().format_help()


@pytest.mark.parametrize('value', ['-1', 'many', '2.5'])
def test_bad_bootstrap_counts_are_command_line_errors(value, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse('--bootstrap', value)
    assert exit_info.value.code == 2
    assert 'expected 0 (no intervals) or a number of resamples' in capsys.readouterr().err
