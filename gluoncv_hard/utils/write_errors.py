"""Output folders that cannot take the outputs, and failed writes as clear errors.

Every command that writes files checks its output folder before any work
(:func:`check_output_folder`) and turns an ``OSError`` of a write (a full disk, a quota, a file
size limit, a failing disk) into an :class:`gluoncv_hard.errors.InputError` that says which file,
why, what was kept and how to go on (:func:`write_error`). The converter and the trainer share
them, so the errors that mean "no room" are listed once (:data:`OUT_OF_SPACE`).
"""
import errno
import os

from gluoncv_hard.errors import InputError

__all__ = ['OUT_OF_SPACE', 'is_out_of_space', 'write_error', 'existing_ancestor',
           'check_output_folder']

# No room for the bytes: the disk is full, the user's quota is used up, or the file is larger than
# the file system or the process's file size limit (``ulimit -f``, RLIMIT_FSIZE) allows.
OUT_OF_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def is_out_of_space(error):
    """Whether an ``OSError`` means that there is no room for the output."""
    return getattr(error, 'errno', None) in OUT_OF_SPACE


def write_error(error, param, left, what=None, then='run again'):
    """The ``InputError`` (naming ``param``) for an ``OSError`` raised while writing outputs.

    The message: ``cannot write WHAT (REASON: FILE); LEFT: FIX and THEN``, where FIX is "free
    some space" for the :data:`OUT_OF_SPACE` errors and "check the output folder" for the others,
    each with "or choose another PARAM".

    Parameters
    ----------
    error : OSError
    param : str
        The parameter that chose where the outputs go (``'out_path'``, ``'save_prefix'``).
    left : str
        What the failure left, e.g. ``'nothing was written'``.
    what : str, optional
        What was being written (default: the error's file name).
    then : str
        The step after the fix, e.g. ``'continue with resume=X'``.

    >>> e = OSError(errno.ENOSPC, 'No space left on device', 'runs/a_last.params')
    >>> str(write_error(e, 'save_prefix', 'nothing was written'))
    'cannot write runs/a_last.params (No space left on device); nothing was written: free some \
space (or choose another save_prefix) and run again'
    """
    reason = error.strerror or str(error) or type(error).__name__
    filename = getattr(error, 'filename', None)
    if what is None:
        what = filename or 'the outputs'
    elif filename and filename != what:
        reason += ': {}'.format(filename)
    if error.errno == errno.EFBIG:
        fix = ('free some space or raise the file size limit, ulimit -f (or choose another '
               '{})'.format(param))
    elif is_out_of_space(error):
        fix = 'free some space (or choose another {})'.format(param)
    else:
        fix = 'check the output folder (or choose another {})'.format(param)
    return InputError('cannot write {} ({}); {}: {} and {}'.format(what, reason, left, fix, then),
                      param=param)


def existing_ancestor(folder):
    """The nearest folder (or file) on the path up from ``folder`` that exists."""
    folder = os.path.abspath(folder)
    while not os.path.exists(folder):
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    return folder


def check_output_folder(path, param):
    """Refuse, before any work, an output ``path`` whose folder cannot be created or written.

    Raises ``InputError`` (naming ``param``) when a file is in the way of the folder (e.g.
    ``somefile/run``) or the nearest existing folder is not writable (read-only; root may write
    anywhere, so this check cannot see what only a write shows: the write error says it then).
    """
    folder = existing_ancestor(os.path.dirname(os.path.abspath(path)))
    if not os.path.isdir(folder):
        raise InputError('cannot create the output folder of {}: {} is a file, not a folder; '
                         'choose another {}'.format(path, folder, param), param=param)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise InputError('cannot write into {} (read-only or not permitted) to create {}; choose '
                         'another {}'.format(folder, path, param), param=param)
