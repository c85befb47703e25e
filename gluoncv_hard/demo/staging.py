"""Write a whole output directory so that a half-finished run can never pass for a finished one.

Files go into a sibling staging directory ``OUT.tmp-XXXXXXXX``; each file is itself written to a
temporary name and ``os.replace``d. A completion marker is written last, then the staging
directory is renamed to ``OUT``. A previous ``OUT`` is moved aside and deleted only after the new
one is in place.

A directory counts as a previous demo output only if it holds the completion marker. Anything
else that is non-empty is refused unless the caller forces it.
"""
import json
import os
import shutil
import tempfile

from gluoncv_hard.errors import OutputExistsError
from gluoncv_hard.utils.atomic import current_umask, write_bytes_atomic, write_text_atomic

__all__ = ['COMPLETION_MARKER', 'write_bytes_atomic', 'write_text_atomic', 'read_marker',
           'is_complete_output', 'StagedDirectory']

COMPLETION_MARKER = '.gluoncv_hard_demo_complete'


def read_marker(path):
    """The completion marker's content of directory ``path`` (a dict), or None if absent or
    invalid."""
    try:
        with open(os.path.join(path, COMPLETION_MARKER), encoding='utf-8') as f:
            content = json.load(f)
    except (OSError, ValueError):
        return None
    return content if isinstance(content, dict) else None


def is_complete_output(path):
    """True if ``path`` is a directory finished by this generator (it holds the marker)."""
    return os.path.isdir(path) and read_marker(path) is not None


class StagedDirectory:
    """Context manager: build a directory under a temporary name, publish it on success.

    Parameters
    ----------
    target : str
        Final directory path.
    force : bool
        Replace ``target`` even if it is a non-empty directory not made by this generator.

    Raises
    ------
    OutputExistsError
        (a ``FileExistsError``) On entry (and again at publish time) if ``target`` is a file, or
        a non-empty directory without the completion marker and ``force`` is False. It names
        ``param='out_dir'``, the parameter of ``generate_demo_dataset`` (the only user).

    Notes
    -----
    Inside the ``with`` block write into ``.path``, then call ``.finish(marker_dict)`` as the
    last step. Leaving the block without ``finish`` (or with an exception) deletes the staging
    directory and leaves ``target`` untouched.
    """

    def __init__(self, target, force=False):
        self.target = os.path.abspath(target)
        self.force = force
        self.path = None
        self._finished = False

    def _check_target(self):
        if os.path.lexists(self.target) and not os.path.isdir(self.target):
            raise OutputExistsError('{} exists and is not a directory; choose another output '
                                    'path'.format(self.target), param='out_dir')
        if (os.path.isdir(self.target) and os.listdir(self.target)
                and not is_complete_output(self.target) and not self.force):
            raise OutputExistsError(
                '{} is a non-empty directory that is not a finished demo data set (no {} '
                'marker); refusing to overwrite it. Choose an empty or new directory, or replace '
                'it with force=True.'.format(self.target, COMPLETION_MARKER), param='out_dir')

    def __enter__(self):
        self._check_target()
        parent = os.path.dirname(self.target)
        os.makedirs(parent, exist_ok=True)
        self.path = tempfile.mkdtemp(prefix=os.path.basename(self.target) + '.tmp-', dir=parent)
        os.chmod(self.path, 0o777 & ~current_umask())
        return self

    def finish(self, marker):
        """Write the completion marker (JSON of ``marker``) and publish the directory."""
        write_text_atomic(os.path.join(self.path, COMPLETION_MARKER),
                          json.dumps(marker, indent=1, sort_keys=True) + '\n')
        self._check_target()
        old = None
        if os.path.isdir(self.target):
            old = tempfile.mkdtemp(prefix=os.path.basename(self.target) + '.old-',
                                   dir=os.path.dirname(self.target))
            os.rmdir(old)
            os.rename(self.target, old)
        os.rename(self.path, self.target)
        self._finished = True
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def __exit__(self, exc_type, exc, tb):
        if not self._finished and self.path is not None and os.path.isdir(self.path):
            shutil.rmtree(self.path, ignore_errors=True)
        return False
