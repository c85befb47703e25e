"""The one exit-status map of every console command (``cli/status.py``), and ``--debug``."""
import argparse
import pickle
import signal

import pytest

from gluoncv_hard.cli import explain, lst_stats, make_demo
from gluoncv_hard.cli.status import (
    EXIT_BAD_INPUT,
    EXIT_DIVERGED,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_TERMINATED,
    add_debug_argument,
    exit_status,
    flag_of,
)
from gluoncv_hard.errors import (
    InputError,
    InputNotFoundError,
    OutputExistsError,
    SetupError,
    TrainingDiverged,
)
from gluoncv_hard.utils.signals import Interrupted


def _raising(error):
    def run(argv):
        raise error
    return run


def test_success_returns_0_and_hands_the_result_over(capsys):
    results = []
    assert exit_status(lambda argv: argv + ['done'], ['x'], results.append) == EXIT_OK
    assert results == [['x', 'done']] and capsys.readouterr().err == ''


@pytest.mark.parametrize('error, flags, message', [
    (InputError('x.lst does not exist', param='resume'), None, '--resume: x.lst does not exist'),
    # A message that starts with the parameter's name gets the flag in its place.
    (InputError('n_train must be >= 0, got -1', param='n_train'), None,
     '--n-train must be >= 0, got -1'),
    (InputError("gpus 'x': expected GPU ids", param='gpus'), None, "--gpus 'x': expected GPU ids"),
    # ... but only the whole name: 'seeds' is not the parameter 'seed'.
    (InputError('seeds must differ', param='seed'), None, '--seed: seeds must differ'),
    (InputError('out is taken', param='out_dir'), {'out_dir': '--out'}, '--out: out is taken'),
    (InputError('taken, see --out', param='out_dir'), {'out_dir': '--out'},
     '--out: taken, see --out'),
    (InputError('--out exists', param='out_dir'), {'out_dir': '--out'}, '--out exists'),
    # The same flag in every command (eval, mine, visualize-sampling: --params).
    (InputNotFoundError('a.params does not exist', param='params_path'), None,
     '--params: a.params does not exist'),
    (InputError('bad data'), None, 'bad data'),
    (OutputExistsError('demo is not ours', param='out_dir'), None, '--out-dir: demo is not ours'),
    (SetupError('no GPU 0', param='gpus'), None, '--gpus: no GPU 0'),
    (SetupError('--horovod needs Horovod'), None, '--horovod needs Horovod'),
    (FileNotFoundError(2, 'No such file or directory', 'x.json'), None,
     "[Errno 2] No such file or directory: 'x.json'"),
    (FileExistsError('exists'), None, 'exists'),
])
def test_bad_input_or_setup_exits_2_with_the_flag_and_no_traceback(capsys, error, flags,
                                                                   message):
    assert exit_status(_raising(error), [], flags=flags) == EXIT_BAD_INPUT
    assert capsys.readouterr().err == 'error: {}\n'.format(message)


def test_debug_prints_the_traceback_of_a_bad_input_error(capsys):
    assert exit_status(_raising(InputError('bad', param='seed')), ['--debug']) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith('Traceback (most recent call last):')
    assert 'gluoncv_hard.errors.InputError: bad' in err and err.endswith('error: --seed: bad\n')


def test_an_internal_error_exits_1_with_its_traceback(capsys):
    assert exit_status(_raising(KeyError('anchors')), []) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert err.startswith('Traceback (most recent call last):') and "KeyError: 'anchors'" in err
    assert 'internal error: this is a bug in gluoncv-hard' in err


def test_divergence_exits_3_and_ctrl_c_130(capsys):
    assert exit_status(_raising(TrainingDiverged('loss is not finite')), []) == EXIT_DIVERGED
    assert capsys.readouterr().err == 'error: loss is not finite\n'
    assert exit_status(_raising(KeyboardInterrupt()), []) == EXIT_INTERRUPTED == 130
    assert capsys.readouterr().err == 'interrupted\n'


def test_sigterm_exits_143_with_the_message_and_no_traceback(capsys):
    error = Interrupted('stopped by SIGTERM during epoch 2; no temporary file is left.',
                        signal.SIGTERM)
    assert exit_status(_raising(error), []) == EXIT_TERMINATED == 143
    assert capsys.readouterr().err == ('interrupted: stopped by SIGTERM during epoch 2; no '
                                       'temporary file is left.\n')
    assert exit_status(_raising(Interrupted('x', signal.SIGINT)), ['--debug']) == 130
    assert 'Traceback' in capsys.readouterr().err


def test_flag_names():
    assert flag_of('data_root') == '--data-root'
    assert flag_of('params_path') == '--params' and flag_of('kind') == '--dataset'
    assert flag_of('params_path', {'params_path': '--checkpoint'}) == '--checkpoint'
    parser = argparse.ArgumentParser()
    add_debug_argument(parser)
    assert parser.parse_args(['--debug']).debug and not parser.parse_args([]).debug


def test_file_errors_are_input_errors_and_survive_pickling():
    # DataLoader worker processes send their exceptions back pickled.
    for error_type, os_type in ((InputNotFoundError, FileNotFoundError),
                                (OutputExistsError, FileExistsError)):
        error = pickle.loads(pickle.dumps(error_type('x does not exist', param='data_root')))
        assert isinstance(error, InputError) and isinstance(error, os_type)
        assert (str(error), error.param) == ('x does not exist', 'data_root')


# --- real commands ----------------------------------------------------------------------------

def test_a_real_command_names_the_flag_of_a_bad_setting(tmp_path, capsys):
    out = str(tmp_path / 'demo')
    assert make_demo.main(['--out', out, '--hard-fraction', '1.5', '--quiet']) == EXIT_BAD_INPUT
    assert capsys.readouterr().err == 'error: --hard-fraction must be in [0, 1], got 1.5\n'
    assert not (tmp_path / 'demo').exists()
    assert make_demo.main(['--out', out, '--seed', '-1', '--quiet', '--debug']) == \
        EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith('Traceback (most recent call last):') and '_check_parameters' in err
    assert err.endswith('error: --seed must be a non-negative integer, got -1\n')


def test_a_real_command_reports_an_internal_error_with_its_traceback(tmp_path, capsys,
                                                                     monkeypatch):
    from gluoncv_hard.data import stats

    def broken(labels, class_names=None):
        raise ZeroDivisionError('a bug')

    monkeypatch.setattr(stats, 'compute_stats', broken)
    lst = tmp_path / 'x.lst'
    lst.write_text('0\t4\t6\t20\t10\tx.jpg\n')
    assert lst_stats.main([str(lst)]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert err.startswith('Traceback') and 'ZeroDivisionError: a bug' in err
    assert 'internal error' in err


def test_every_remaining_command_accepts_debug(capsys):
    assert explain.main(['--debug', '--thresh', '0.4']) == EXIT_OK
    assert 'hard_policy = ignore (iof, > 0.4, normal_wins)' in capsys.readouterr().out
