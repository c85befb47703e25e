from gluoncv_hard.data.problems import DataError, ProblemLog


def test_errors_are_all_kept_and_shown_up_to_the_limit():
    log = ProblemLog(display_limit=2)
    for i in range(5):
        log.error('f.csv:{}'.format(i + 2), 'bad row', 'fix it')
    log.warn('x.jpg', 'may be truncated')
    try:
        log.raise_if_errors()
    except DataError as error:
        assert len(error.problems) == 5
        assert str(error) == ('5 errors:\n  f.csv:2: bad row; fix it\n  f.csv:3: bad row; fix it\n'
                              '  ... and 3 more')
    else:
        raise AssertionError('DataError expected')
    assert log.format_warnings() == '1 warning:\n  x.jpg: may be truncated'


def test_no_errors_no_raise():
    log = ProblemLog()
    log.raise_if_errors()
    assert log.format_warnings() == ''
