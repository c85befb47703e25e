"""Train-script flags passed through by tools that run the train script (after ``--``)."""

__all__ = ['strip_separator', 'check_passthrough']


def strip_separator(train_args):
    """``argparse.REMAINDER`` keeps the leading ``--``; drop it."""
    train_args = list(train_args)
    return train_args[1:] if train_args and train_args[0] == '--' else train_args


def check_passthrough(train_args, managed, tool):
    """Raise ``ValueError`` for a flag in ``train_args`` that ``tool`` sets itself.

    Parameters
    ----------
    train_args : sequence of str -- tokens after ``--``
    managed : collection of str -- flags such as ``'--epochs'`` (``--flag=value`` is matched too)
    tool : str -- names the tool in the message
    """
    for token in train_args:
        flag = token.split('=', 1)[0]
        if flag in managed:
            raise ValueError('{} is set by {} itself; use its own flag of the same meaning (see '
                             '--help) instead of passing it after "--"'.format(flag, tool))
