"""Write output files so that they appear complete or not at all."""
import contextlib
import os
import tempfile

__all__ = ['atomic_outputs']


def _current_umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_outputs(*paths):
    """Yield temporary paths (same directories) and move them onto ``paths`` on success.

    The body writes each ``paths[i]`` as the yielded ``temps[i]``. If the body raises, every
    temporary file is removed and no output is touched; otherwise all are renamed with
    ``os.replace`` (atomic per file) in the given order, so put the file that readers open
    first (e.g. the ``.lst``) last.
    """
    temps = []
    try:
        for path in paths:
            directory, name = os.path.split(os.path.abspath(path))
            fd, temp = tempfile.mkstemp(prefix='.{}.'.format(name), suffix='.tmp', dir=directory)
            os.close(fd)
            # mkstemp creates 0600 files; outputs get the usual permissions.
            os.chmod(temp, 0o666 & ~_current_umask())
            temps.append(temp)
        yield list(temps)
        for temp, path in zip(temps, paths):
            os.replace(temp, path)
    finally:
        for temp in temps:
            if os.path.exists(temp):
                os.remove(temp)
