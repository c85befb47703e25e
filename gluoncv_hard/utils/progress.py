"""Progress bars that suit both a terminal and a log file.

On a terminal a bar is tqdm's, redrawn in place. Written to anything else (``nohup``, CI,
``> run.log``), tqdm's carriage-return redraws would pile up as one endless line, so there the
bar becomes a plain line at most every :data:`LOG_INTERVAL` seconds and a last one when it ends.
"""
import sys

from tqdm import tqdm

__all__ = ['LOG_INTERVAL', 'progress_bar']

# Seconds between two lines of a bar written to a log file.
LOG_INTERVAL = 30.0


class _LineWriter:
    """The file tqdm draws on when the real stream is not a terminal: each redraw becomes one
    line, and the blank redraws that clear a bar are dropped."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text):
        text = text.replace('\r', '').rstrip()
        if text:
            self.stream.write(text + '\n')

    def flush(self):
        self.stream.flush()


def _is_terminal(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def progress_bar(iterable=None, enabled=True, stream=None, **options):
    """A tqdm bar over ``iterable`` (or driven by ``update`` with ``total=``).

    Parameters
    ----------
    iterable : iterable, optional
    enabled : bool or None
        False: no output at all. True: a bar on a terminal, lines every :data:`LOG_INTERVAL`
        seconds elsewhere. None: a bar on a terminal only (nothing in a log file).
    stream : file, optional
        Where to write; default ``sys.stderr``.
    **options
        tqdm's (``total``, ``desc``, ``unit``, ``leave`` ...).

    Returns
    -------
    tqdm.tqdm
    """
    stream = sys.stderr if stream is None else stream
    terminal = _is_terminal(stream)
    if enabled is False or (enabled is None and not terminal):
        return tqdm(iterable, disable=True, **options)
    if terminal:
        return tqdm(iterable, file=stream, **options)
    # In a log a bar that disappears at its end (leave=False) would still leave its lines.
    options = dict(options, mininterval=LOG_INTERVAL, leave=True, dynamic_ncols=False,
                   ncols=100, ascii=True)
    return tqdm(iterable, file=_LineWriter(stream), **options)
