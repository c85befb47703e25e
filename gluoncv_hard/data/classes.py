"""Class-name files: one class name per line, the line order gives the class id."""
import os

from gluoncv_hard.errors import InputError

__all__ = ['classes_path_for', 'read_class_names', 'infer_class_names']


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
        For a name listed twice (the message names the file: which setting it came from, only
        the caller knows). A missing file raises ``FileNotFoundError``.
    """
    with open(path, encoding='utf-8') as f:
        names = [line.strip() for line in f]
    names = [name for name in names if name]
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
