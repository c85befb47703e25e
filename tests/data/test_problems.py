import pickle

from gluoncv_hard.data.problems import DataError, ProblemLog
from gluoncv_hard.errors import InputError


def test_errors_are_all_kept_and_shown_up_to_the_limit():
    problems = ProblemLog(display_limit=2)
    for i in range(5):
        problems.error('f.csv:{}'.format(i + 2), 'bad row', 'fix it')
    problems.warn('x.jpg', 'may be truncated')
    try:
        problems.raise_if_errors()
    except DataError as error:
        assert len(error.problems) == 5
        assert str(error) == ('5 errors:\n  f.csv:2: bad row; fix it\n  f.csv:3: bad row; fix it\n'
                              '  ... and 3 more')
    else:
        raise AssertionError('DataError expected')
    assert problems.format_warnings() == '1 warning:\n  x.jpg: may be truncated'


def test_a_note_ends_the_message_and_the_error_is_an_input_error():
    problems = ProblemLog()
    problems.error('a.xml', 'malformed XML')
    try:
        problems.raise_if_errors('nothing was written')
    except InputError as error:
        assert isinstance(error, DataError)
        assert str(error) == '1 error:\n  a.xml: malformed XML\nnothing was written'
    else:
        raise AssertionError('DataError expected')


def test_no_errors_no_raise():
    problems = ProblemLog()
    problems.raise_if_errors()
    assert problems.format_warnings() == ''


def test_input_errors_keep_their_param_through_pickling():
    # DataLoader worker processes send exceptions back pickled.
    error = pickle.loads(pickle.dumps(InputError('bad', param='data_root')))
    assert (type(error), str(error), error.param) == (InputError, 'bad', 'data_root')
