"""Write output files so that they appear complete or not at all.

Each output is first written to a temporary file in its own folder, named
``.NAME.HOST-PID.XXXXXXXX.tmp`` (:data:`TEMP_PATTERN`): the output's name, the host and process
that wrote it, a random part. On success the temporaries are flushed to disk (``fsync``), renamed
onto the outputs (``os.replace``, atomic per file; SIGINT/SIGTERM are held back until the last
rename) and the folders are flushed too. On an error, Ctrl-C or SIGTERM (when the process turns it
into an exception, see :mod:`gluoncv_hard.utils.signals`) they are removed. Only SIGKILL or a
power cut can leave one behind: :func:`remove_stale_temps` recognises those of processes of this
host that no longer run and deletes them.

An ``OSError`` of these functions names the output (not its temporary), so that messages
(:func:`gluoncv_hard.utils.write_errors.write_error`) say which file could not be written.
:func:`append_whole` appends a line (e.g. of a metrics file) whole or not at all.
"""
import contextlib
import errno
import os
import re
import socket
import tempfile

from gluoncv_hard.utils.signals import deferred_signals

__all__ = ['atomic_outputs', 'write_bytes_atomic', 'write_text_atomic', 'append_whole',
           'naming_errors', 'current_umask', 'temp_prefix', 'parse_temp_name',
           'remove_stale_temps', 'fsync_path', 'TEMP_PATTERN']

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
def naming_errors(path):
    """Within the block, an ``OSError`` names ``path`` (the output) rather than its temporary or
    nothing (``f.write`` errors name no file); its type and ``errno`` are kept."""
    try:
        yield
    except OSError as e:
        if getattr(e, 'filename', None) == path:
            raise
        raise OSError(e.errno, e.strerror or str(e), path) from e


def _replace_all(temps, paths):
    for temp, path in zip(temps, paths):
        with naming_errors(path):
            os.replace(temp, path)


@contextlib.contextmanager
def atomic_outputs(*paths, replace=None):
    """Yield temporary paths (same directories) and move them onto ``paths`` on success.

    The body writes each ``paths[i]`` as the yielded ``temps[i]``. If the body raises (also
    ``KeyboardInterrupt``), every temporary file is removed and no output is touched; otherwise
    all are flushed to disk and renamed with ``os.replace`` (atomic per file) in the given order,
    with SIGINT and SIGTERM held back until the last rename, so put the file that readers open
    first (e.g. the ``.lst``) last. Only a SIGKILL or a crash between two renames can leave the
    set mixed: readers that need a whole set must check it (checkpoints keep hashes of their
    parts in the file written last, and keep the previous set until the new one is in place:
    ``replace``).

    Parameters
    ----------
    *paths : str
    replace : callable(temps, paths), optional
        Does the renames instead of the plain ``os.replace`` loop (with the signals held back;
        temporaries it leaves are removed after it).
    """
    temps = []
    try:
        for path in paths:
            directory, name = os.path.split(os.path.abspath(path))
            with naming_errors(path):
                fd, temp = tempfile.mkstemp(prefix=temp_prefix(name), suffix='.tmp',
                                            dir=directory)
                os.close(fd)
                # mkstemp creates 0600 files; outputs get the usual permissions.
                os.chmod(temp, 0o666 & ~current_umask())
            temps.append(temp)
        yield list(temps)
        for temp, path in zip(temps, paths):
            with naming_errors(path):
                fsync_path(temp)
        with deferred_signals():
            (replace or _replace_all)(list(temps), list(paths))
        for directory in sorted({os.path.dirname(os.path.abspath(p)) for p in paths}):
            with naming_errors(directory):
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


def append_whole(path, data):
    """Append ``data`` (bytes) to ``path`` (created if missing) whole or not at all, flushed to
    disk.

    One ``O_APPEND`` write, so a kill leaves all of it or none. Should the kernel take only a
    part (a full disk or a file size limit cuts the write short), the rest is tried; if that
    fails, the file is cut back to its length before (no torn line) and the ``OSError`` (naming
    ``path``) is raised. SIGINT/SIGTERM wait until the append is done or undone.
    """
    with naming_errors(path), deferred_signals():
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            start = os.fstat(fd).st_size
            try:
                view = memoryview(data)
                while view:
                    written = os.write(fd, view)
                    if not written:
                        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                    view = view[written:]
                try:
                    os.fsync(fd)
                except OSError as e:
                    if e.errno not in _CANNOT_SYNC:
                        raise
            except BaseException:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, start)
                raise
        finally:
            os.close(fd)
