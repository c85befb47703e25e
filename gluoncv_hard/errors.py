"""The library's error types; every console command maps them to one exit status.

=====================  ==========================================================  ====
error                  meaning                                                     exit
=====================  ==========================================================  ====
:class:`InputError`    something the caller handed over is wrong and they can fix  2
                       it: a setting, a file, a data set (``DataError``, the
                       record/header parse errors, :class:`InputNotFoundError` and
                       :class:`OutputExistsError` are kinds of it)
:class:`SetupError`    this machine lacks what was asked for (Horovod, a GPU, a    2
                       weights file)
:class:`TrainingDiverged`  a loss, gradient or parameter became non-finite          3
anything else          an internal error: a bug, reported with its traceback       1
=====================  ==========================================================  ====

Library messages speak of parameters, not flags. An :class:`InputError` (or a
:class:`SetupError`) may name the parameter it is about (``param='resume'``); a console command
then shows its flag instead (``--resume: ...``; see ``cli/status.py``).
"""

__all__ = ['InputError', 'InputNotFoundError', 'OutputExistsError', 'SetupError',
           'TrainingDiverged']


class InputError(ValueError):
    """A setting or file given by the caller is wrong; the message says what and how to fix it.

    Parameters
    ----------
    message : str
    param : str, optional
        The library parameter the error is about (e.g. ``'resume'``, ``'data_root'``); command
        lines show it as their flag.
    """

    def __init__(self, message, param=None):
        super().__init__(message)
        self.param = param


class InputNotFoundError(InputError, FileNotFoundError):
    """A file or folder the caller named does not exist (also a ``FileNotFoundError``)."""


class OutputExistsError(InputError, FileExistsError):
    """An output path the caller named is taken by something that must not be replaced (also a
    ``FileExistsError``)."""


class SetupError(RuntimeError):
    """This machine lacks something the caller asked for (e.g. Horovod, a GPU).

    Parameters
    ----------
    message : str
    param : str, optional
        The library parameter that asked for it (e.g. ``'gpus'``), as for :class:`InputError`.
    """

    def __init__(self, message, param=None):
        super().__init__(message)
        self.param = param


class TrainingDiverged(RuntimeError):
    """Training produced non-finite values and stopped without saving them."""
