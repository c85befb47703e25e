"""One exit-status map for every console command, and ``--debug``.

====  ==============================================================================
0     done
1     internal error (a bug): the traceback is printed, with a request to report it
2     bad input or setup: a message naming the flag or file, and how to fix it
3     training diverged (non-finite values); the last good checkpoint is named
130   interrupted by SIGINT (Ctrl-C); 143 by SIGTERM (``kill``, ``timeout``, schedulers): 128 plus
      the signal number, as a shell reports a process killed by it. Temporary files are
      removed; the message says what was kept.
====  ==============================================================================

``--debug`` (accepted by every command) prints the traceback for every error.
"""
import signal
import sys
import traceback

from gluoncv_hard.errors import InputError, SetupError, TrainingDiverged

__all__ = ['EXIT_OK', 'EXIT_INTERNAL', 'EXIT_BAD_INPUT', 'EXIT_DIVERGED', 'EXIT_INTERRUPTED',
           'EXIT_TERMINATED', 'add_debug_argument', 'exit_status', 'flag_of']

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_BAD_INPUT = 2
EXIT_DIVERGED = 3
EXIT_INTERRUPTED = 128 + signal.SIGINT
EXIT_TERMINATED = 128 + signal.SIGTERM

# Library parameters whose flag is the same in every command but not ``--`` + the name; a
# command's own ``flags`` take precedence.
COMMON_FLAGS = {'params_path': '--params', 'kind': '--dataset'}

# Missing or unusable files the user named: bad input, not a bug.
_USER_OS_ERRORS = (FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError,
                   PermissionError)


def add_debug_argument(parser):
    """Add ``--debug`` (print the traceback for every error) to ``parser``."""
    parser.add_argument('--debug', action='store_true',
                        help='print the full traceback of any error (for bug reports)')


def flag_of(param, flags=None):
    """The command-line flag of a library parameter: ``flags[param]``, ``COMMON_FLAGS[param]``
    or ``--param-name``."""
    if flags and param in flags:
        return flags[param]
    return COMMON_FLAGS.get(param, '--' + param.replace('_', '-'))


def _message(error, flags):
    """The error's text, naming its parameter as the command's flag.

    A message that starts with the parameter's name (``'seed must be ...'``) gets the flag in
    its place (``'--seed must be ...'``); any other gets the flag in front (``'--out: ...'``).
    """
    text = str(error)
    param = getattr(error, 'param', None)
    if not param:
        return text
    flag = flag_of(param, flags)
    if text.startswith(flag):
        return text
    rest = text[len(param):]
    if text.startswith(param) and not (rest[:1].isalnum() or rest[:1] == '_'):
        return flag + rest
    return '{}: {}'.format(flag, text)


def exit_status(run, argv=None, on_success=None, flags=None):
    """Run ``run(argv)`` for a console command and return its exit status (table above).

    Parameters
    ----------
    run : callable(argv) -> result
    argv : list of str, optional (default ``sys.argv[1:]``)
    on_success : callable(result), optional
        Called after a successful run (e.g. to print where the result is).
    flags : dict, optional
        ``{library parameter: flag}`` where a flag is not ``--`` plus the parameter's name.
    """
    args = sys.argv[1:] if argv is None else list(argv)
    debug = '--debug' in args
    try:
        result = run(argv)
    except TrainingDiverged as e:
        return _report(e, EXIT_DIVERGED, debug, flags)
    except (InputError, SetupError) + _USER_OS_ERRORS as e:
        return _report(e, EXIT_BAD_INPUT, debug, flags)
    except KeyboardInterrupt as e:  # also gluoncv_hard.utils.signals.Interrupted (SIGTERM)
        if debug:
            traceback.print_exception(e)
        print('interrupted{}'.format(': {}'.format(e) if str(e) else ''), file=sys.stderr)
        return 128 + getattr(e, 'signum', signal.SIGINT)
    except Exception:  # noqa: BLE001 -- the one place where any error becomes an exit status
        traceback.print_exc()
        print('internal error: this is a bug in gluoncv-hard, not in your input; please report '
              'it with the traceback above', file=sys.stderr)
        return EXIT_INTERNAL
    if on_success is not None:
        on_success(result)
    return EXIT_OK


def _report(error, status, debug, flags):
    if debug:
        traceback.print_exception(error)
    print('error: {}'.format(_message(error, flags)), file=sys.stderr)
    return status
