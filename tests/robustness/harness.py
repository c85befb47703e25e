"""What every robustness case checks, whatever it feeds in.

A case is one bad input (or fault) and its expected outcome: a clear error (exit status 2, or an
``InputError`` in the library; the message names the file or flag and says how to fix it) or a
documented behaviour (asserted by the case). Around every case the suite also checks what must
never happen: a traceback, a crash, an output half-written or replaced, a temporary file left
behind, an input changed (data loss), and code from a data file run.
"""
import hashlib
import os

__all__ = ['snapshot', 'changed', 'debris', 'run_main', 'clear_error', 'CodeMarker']


def snapshot(folder):
    """``{relative path: sha256}`` of every file under ``folder``."""
    files = {}
    for directory, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(directory, name)
            with open(path, 'rb') as f:
                files[os.path.relpath(path, folder)] = hashlib.sha256(f.read()).hexdigest()
    return files


def changed(before, after):
    """Paths added, removed or modified between two snapshots."""
    return sorted(path for path in set(before) | set(after) if before.get(path) != after.get(path))


def debris(folder):
    """Temporary files of the atomic writer (``.NAME.*.tmp``) left under ``folder``."""
    return sorted(os.path.join(d, n) for d, _, names in os.walk(folder) for n in names
                  if n.startswith('.') and n.endswith('.tmp'))


def run_main(main, argv):
    """A console command's exit status; argparse's ``parser.error`` exits (status 2) too."""
    try:
        return main(argv)
    except SystemExit as e:
        return e.code


def clear_error(status, err, *needles):
    """Assert a console command failed as bad input: exit 2, one ``error:`` message holding
    ``needles``, no traceback."""
    assert status == 2, (status, err)
    assert 'Traceback' not in err and 'internal error' not in err, err
    assert err.count('error: ') >= 1, err
    for needle in needles:
        assert needle in err, (needle, err)


class CodeMarker:
    """A pickle that creates ``path`` if anything ever unpickles it: data files must not run
    code."""

    def __init__(self, path):
        self.path = path

    def payload(self):
        import pickle

        class _Run:
            def __reduce__(inner):
                return (open, (self.path, 'w'))
        return pickle.dumps(_Run())

    def ran(self):
        return os.path.exists(self.path)
