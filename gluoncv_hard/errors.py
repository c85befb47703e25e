"""The library's error types, which every console command maps to one exit status.

- :class:`DataError` (``gluoncv_hard.data.problems``): a user's file is wrong; exit 2.
- :class:`SetupError`: this machine lacks what was asked for (Horovod, a GPU, a weights file);
  exit 2.
- :class:`TrainingDiverged` (``gluoncv_hard.engine.trainer``): a loss became non-finite; exit 3.
"""

__all__ = ['SetupError']


class SetupError(RuntimeError):
    """This machine lacks something the caller asked for (e.g. Horovod)."""
