"""Collect the problems found in input data and report them together.

Converting or loading a data set visits every image; stopping at the first bad annotation
would make a user fix one line per run. Instead every check reports into a ``ProblemLog``
and the caller raises one ``DataError`` listing them all (up to a display limit).
"""

from typing import NamedTuple

from gluoncv_hard.errors import InputError

__all__ = ['DataError', 'Problem', 'ProblemLog']

DEFAULT_DISPLAY_LIMIT = 20


class Problem(NamedTuple):
    """One problem: ``where`` (file, line or image id), ``what`` is wrong, ``fix`` (or empty)."""
    where: str
    what: str
    fix: str = ''

    def __str__(self):
        return '{}: {}'.format(self.where, self.what) + ('; ' + self.fix if self.fix else '')


def _format_list(title, problems, limit):
    lines = ['{} {}{}:'.format(len(problems), title, '' if len(problems) == 1 else 's')]
    lines += ['  ' + str(p) for p in problems[:limit]]
    if len(problems) > limit:
        lines.append('  ... and {} more'.format(len(problems) - limit))
    return '\n'.join(lines)


class DataError(InputError):
    """Input data has errors. ``problems`` lists every one of them (a list of ``Problem``).

    The message shows the first ``limit`` problems, each naming the file/line/image id, what
    is wrong and how to fix it, then ``note`` (e.g. what was not done because of them) if given.
    ``param`` is the parameter they are about, if one is (as for ``InputError``).
    """

    def __init__(self, problems, limit=DEFAULT_DISPLAY_LIMIT, note='', param=None):
        self.problems = list(problems)
        text = _format_list('error', self.problems, limit)
        super().__init__(text + '\n' + note if note else text, param=param)


class ProblemLog:
    """Errors and warnings found while reading or validating data.

    Parameters
    ----------
    display_limit : int
        How many errors/warnings ``report`` and ``DataError`` show; all are kept and counted.
    """

    def __init__(self, display_limit=DEFAULT_DISPLAY_LIMIT):
        self.display_limit = display_limit
        self.errors = []
        self.warnings = []

    def error(self, where, what, fix=''):
        """Record an error: the data cannot be used as it is."""
        self.errors.append(Problem(str(where), what, fix))

    def warn(self, where, what, fix=''):
        """Record a warning: the data was used, possibly after a documented fix."""
        self.warnings.append(Problem(str(where), what, fix))

    def raise_if_errors(self, note='', param=None):
        """Raise ``DataError`` listing every error recorded so far (then ``note``), if any;
        ``param`` names the parameter they are about, if one is."""
        if self.errors:
            raise DataError(self.errors, self.display_limit, note, param)

    def format_warnings(self):
        """The warnings as text (first ``display_limit`` of them), or ``''`` if none."""
        if not self.warnings:
            return ''
        return _format_list('warning', self.warnings, self.display_limit)
