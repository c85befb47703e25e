import errno
import os

import pytest

from gluoncv_hard.errors import InputError
from gluoncv_hard.utils.write_errors import check_output_folder, is_out_of_space, write_error


@pytest.mark.parametrize('code, reason, fix', [
    (errno.ENOSPC, 'No space left on device', 'free some space (or choose another save_prefix)'),
    (errno.EDQUOT, 'Disk quota exceeded', 'free some space (or choose another save_prefix)'),
    (errno.EFBIG, 'File too large', 'free some space or raise the file size limit, ulimit -f '
                                    '(or choose another save_prefix)'),
    (errno.EIO, 'Input/output error', 'check the output folder (or choose another save_prefix)'),
])
def test_a_write_error_says_which_file_why_and_how_to_go_on(code, reason, fix):
    error = write_error(OSError(code, os.strerror(code), '/runs/a_last.params'), 'save_prefix',
                        'the last whole checkpoint is /runs/a_last.params (epoch 3)',
                        then='continue with resume=/runs/a_last.params')
    assert isinstance(error, InputError) and error.param == 'save_prefix'
    assert str(error) == ('cannot write /runs/a_last.params ({}); the last whole checkpoint is '
                          '/runs/a_last.params (epoch 3): {} and continue with '
                          'resume=/runs/a_last.params'.format(reason, fix))
    assert is_out_of_space(OSError(code, '')) == (code != errno.EIO)


def test_a_write_error_about_a_set_of_outputs_names_the_file_too():
    error = write_error(OSError(errno.ENOSPC, 'No space left on device', '/o/x.rec'), 'out_path',
                        'nothing was written', what='the outputs of /o/x.lst')
    assert str(error).startswith('cannot write the outputs of /o/x.lst (No space left on device: '
                                 '/o/x.rec); nothing was written: free some space')


def test_a_file_in_the_way_of_the_output_folder(tmp_path):
    blocker = tmp_path / 'somefile'
    blocker.write_text('x')
    for path in ('somefile/run', 'somefile/deeper/run'):
        with pytest.raises(InputError, match='cannot create the output folder of .*: .*somefile'
                                             ' is a file, not a folder; choose another '
                                             'save_prefix'):
            check_output_folder(str(tmp_path / path), 'save_prefix')
    check_output_folder(str(tmp_path / 'new' / 'deeper' / 'run'), 'save_prefix')  # can be made
    assert sorted(os.listdir(str(tmp_path))) == ['somefile']  # a check: nothing made
