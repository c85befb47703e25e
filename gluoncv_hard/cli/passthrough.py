"""Train flags passed through by tools that train (``... -- <train flags>``).

A tool that trains (the mining rounds, the audit) sets some train settings itself: from its own
flags, and per run in the library loop (a round's save prefix, a fold's training list). Those
settings are *managed*: passing their flags after ``--`` is an error. The flags are found from
the settings' names in the train parser, so each tool lists settings once, never flags.
"""
from gluoncv_hard.errors import InputError

__all__ = ['strip_separator', 'check_passthrough', 'flags_of_settings', 'passthrough_config']


def strip_separator(train_args):
    """``argparse.REMAINDER`` keeps the leading ``--``; drop it."""
    train_args = list(train_args)
    return train_args[1:] if train_args and train_args[0] == '--' else train_args


def check_passthrough(train_args, managed, tool):
    """Raise :class:`InputError` for a flag in ``train_args`` that ``tool`` sets itself.

    Parameters
    ----------
    train_args : sequence of str -- tokens after ``--``
    managed : collection of str -- flags such as ``'--epochs'`` (``--flag=value`` is matched too)
    tool : str -- names the tool in the message
    """
    for token in train_args:
        flag = token.split('=', 1)[0]
        if flag in managed:
            raise InputError('{} is set by {} itself; use its own flag of the same meaning (see '
                             '--help) instead of passing it after "--"'.format(flag, tool))


def flags_of_settings(parser, settings):
    """Every option string of ``parser`` (aliases included, e.g. ``-j``) whose ``dest`` is in
    ``settings``, sorted."""
    # argparse has no public list of a parser's actions.
    return tuple(sorted(option for action in parser._actions
                        if action.dest in settings for option in action.option_strings))


def passthrough_config(train_args, tool, settings, managed=(), defaults=None):
    """The base :class:`gluoncv_hard.engine.config.TrainConfig` of a tool that trains.

    Parameters
    ----------
    train_args : sequence of str
        The tokens after ``--`` (with or without the ``--``), parsed by the train parser.
    tool : str
        Names the tool in error messages (``'the audit'``).
    settings : dict
        ``{setting: value}`` the tool sets from its own flags; their flags are refused in
        ``train_args``.
    managed : collection of str
        Settings the library sets per run (e.g. ``mining.rounds.ROUND_TRAIN_SETTINGS``); refused
        too. Their values in the returned config are placeholders.
    defaults : dict, optional
        The tool's defaults for other settings, which ``train_args`` may change.

    Raises
    ------
    InputError
        For a managed flag, or values the config refuses. Unknown flags exit through argparse
        (status 2).
    """
    from gluoncv_hard.cli import train as train_cli
    train_args = strip_separator(train_args)
    check_passthrough(train_args, flags_of_settings(train_cli.build_parser(),
                                                    set(settings) | set(managed)), tool)
    args = train_cli.parse_args(train_args, defaults=dict(defaults or {}, **settings))
    return train_cli.config_from_args(args)
