"""Write output files so that they appear complete or not at all.

Each output is first written to a temporary file in its own folder, named
``.NAME.HOST-PID.XXXXXXXX.tmp`` (:data:`TEMP_PATTERN`): the output's name, the host and process
that wrote it, a random part. On success the temporaries are flushed to disk (``fsync``), renamed
onto the outputs (``os.replace``, atomic per file; SIGINT/SIGTERM are held back until the last
rename) and the folders are flushed too. On an error, Ctrl-C or SIGTERM (when the process turns it
into an exception, see :mod:`gluoncv_hard.utils.signals`) they are removed. Only SIGKILL or a
power cut can leave one behind: :func:`remove_stale_temps` recognises those of processes of this
host that no longer run and deletes them.
"""
import contextlib
import errno
import os
import re
import socket
import tempfile

from gluoncv_hard.utils.signals import deferred_signals

__all__ = ['atomic_outputs', 'write_bytes_atomic', 'write_text_atomic', 'current_umask',
           'temp_prefix', 'parse_temp_name', 'remove_stale_temps', 'fsync_path', 'TEMP_PATTERN']

# ``.NAME.HOST-PID.RANDOM.tmp``; RANDOM is what tempfile.mkstemp draws (lower case, digits, _).
TEMP_PATTERN = re.compile(r'^\.(?P<name>.+)\.(?P<host>[A-Za-z0-9_]+)-(?P<pid>[0-9]+)\.'
                          r'[a-z0-9_]+\.tmp$')

_CANNOT_SYNC = {errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP}


def current_umask():
    """The process umask (reading it means setting it; it is put back at once)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _host():
    # Only letters, digits and '_' so that the name parses back (host names may hold '.' and '-').
    return re.sub(r'[^A-Za-z0-9]', '_', socket.gethostname())[:32] or 'host'


def temp_prefix(name):
    """The start of this process's temporary names for an output called ``name`` (no folder)."""
    return '.{}.{}-{}.'.format(name, _host(), os.getpid())


def parse_temp_name(filename):
    """``(output name, host, pid)`` of a temporary file name of this module, else None."""
    match = TEMP_PATTERN.match(filename)
    if match is None:
        return None
    return match.group('name'), match.group('host'), int(match.group('pid'))


def _process_exists(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale_temps(directory, names=None):
    """Delete temporaries in ``directory`` left by killed processes; return their paths.

    A temporary is stale when it was written on this host by a process that no longer exists.
    Temporaries of running processes (another job writing into the same folder), of other hosts
    (a shared file system) and of this process are kept; so is one whose process id a new
    process has taken since (harmless, removed later).

    Parameters
    ----------
    directory : str
    names : collection of str, optional
        Only temporaries of these output names (default: any).
    """
    removed = []
    try:
        entries = os.listdir(directory or '.')
    except FileNotFoundError:
        return removed
    host, me = _host(), os.getpid()
    for entry in sorted(entries):
        parsed = parse_temp_name(entry)
        if parsed is None or (names is not None and parsed[0] not in names):
            continue
        if parsed[1] != host or parsed[2] == me or _process_exists(parsed[2]):
            continue
        path = os.path.join(directory, entry)
        try:
            os.remove(path)
        except FileNotFoundError:  # removed by a concurrent run
            continue
        removed.append(path)
    return removed


def fsync_path(path, directory=False):
    """Flush a file (or a folder's entries) to disk.

    File systems that cannot flush (``EINVAL``/``ENOTSUP``: some FUSE and network mounts) are
    let be; a failing disk (``EIO``, ``ENOSPC``) raises ``OSError``.
    """
    fd = os.open(path, os.O_RDONLY | (getattr(os, 'O_DIRECTORY', 0) if directory else 0))
    try:
        os.fsync(fd)
    except OSError as e:
        if e.errno not in _CANNOT_SYNC:
            raise
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_outputs(*paths):
    """Yield temporary paths (same directories) and move them onto ``paths`` on success.

    The body writes each ``paths[i]`` as the yielded ``temps[i]``. If the body raises (also
    ``KeyboardInterrupt``), every temporary file is removed and no output is touched; otherwise
    all are flushed to disk and renamed with ``os.replace`` (atomic per file) in the given order,
    with SIGINT and SIGTERM held back until the last rename, so put the file that readers open
    first (e.g. the ``.lst``) last. Only a SIGKILL or a crash between two renames can leave the
    set mixed: readers that need a whole set must check it (checkpoints keep hashes of their
    parts in the file written last).
    """
    temps = []
    try:
        for path in paths:
            directory, name = os.path.split(os.path.abspath(path))
            fd, temp = tempfile.mkstemp(prefix=temp_prefix(name), suffix='.tmp', dir=directory)
            os.close(fd)
            # mkstemp creates 0600 files; outputs get the usual permissions.
            os.chmod(temp, 0o666 & ~current_umask())
            temps.append(temp)
        yield list(temps)
        for temp in temps:
            fsync_path(temp)
        with deferred_signals():
            for temp, path in zip(temps, paths):
                os.replace(temp, path)
        for directory in sorted({os.path.dirname(os.path.abspath(p)) for p in paths}):
            fsync_path(directory, directory=True)
    finally:
        with deferred_signals():
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
