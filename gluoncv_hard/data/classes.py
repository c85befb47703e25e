"""Class-name files: one class name per line, the line order gives the class id."""
import os

from gluoncv_hard.errors import InputError

__all__ = ['classes_path_for', 'read_class_names', 'infer_class_names', 'class_name_problem']


def class_name_problem(name):
    """Why ``name`` cannot be a class name, or None if it can.

    A class file holds one name per line and logs print them: a name must be a non-empty string
    without control characters (NUL, tab, newline, ...) and without leading or trailing spaces.
    """
    if not isinstance(name, str) or not name:
        return 'a class name must be a non-empty string, not {!r}'.format(name)
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return 'class name {!r} contains a control character (NUL, tab, newline ...)'.format(name)
    if name != name.strip():
        return 'class name {!r} starts or ends with a space'.format(name)
    return None


def classes_path_for(output_path):
    """The class file written beside an output: ``out.lst`` -> ``out.classes.txt``."""
    return os.path.splitext(output_path)[0] + '.classes.txt'


def read_class_names(path):
    """Read a class file. Blank lines are skipped; duplicate names are an error. A file
    without names gives an empty list (a data set of negatives only).

    Returns
    -------
    list of str

    Raises
    ------
    InputError
        For a name listed twice or one with a control character (``class_name_problem``); the
        message names the file (which setting it came from, only the caller knows). A missing
        file raises ``FileNotFoundError``.
    """
    try:
        # utf-8-sig: a byte-order mark would otherwise become part of the first name.
        with open(path, encoding='utf-8-sig') as f:
            lines = f.read().split('\n')
    except UnicodeDecodeError as e:
        raise InputError('{}: not UTF-8 text (byte {}); a class file holds one class name per '
                         'line'.format(path, e.start)) from None
    names = []
    for number, line in enumerate(lines, 1):
        name = line.strip()
        if not name:
            continue
        problem = class_name_problem(name)
        if problem:
            raise InputError('{}:{}: {}; fix the class file'.format(path, number, problem))
        names.append(name)
    seen = set()
    for name in names:
        if name in seen:
            raise InputError('{}: class {!r} is listed twice; each class must appear once'
                             .format(path, name))
        seen.add(name)
    return names


def infer_class_names(used_names, declared_names=()):
    """The class list when none is given: every declared and used name, sorted (stable ids)."""
    return sorted(set(declared_names) | set(used_names))
