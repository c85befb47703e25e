"""Write output files so that they appear complete or not at all."""
import contextlib
import os
import tempfile

__all__ = ['atomic_outputs', 'write_bytes_atomic', 'write_text_atomic', 'current_umask']


def current_umask():
    """The process umask (reading it means setting it; it is put back at once)."""
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
            os.chmod(temp, 0o666 & ~current_umask())
            temps.append(temp)
        yield list(temps)
        for temp, path in zip(temps, paths):
            os.replace(temp, path)
    finally:
        for temp in temps:
            if os.path.exists(temp):
                os.remove(temp)


def write_bytes_atomic(path, data):
    """Write ``data`` to ``path`` through a temporary file in the same directory."""
    with atomic_outputs(path) as (temp,):
        with open(temp, 'wb') as f:
            f.write(data)


def write_text_atomic(path, text):
    """UTF-8 text version of :func:`write_bytes_atomic`."""
    write_bytes_atomic(path, text.encode('utf-8'))
