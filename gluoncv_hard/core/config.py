"""How hard boxes are treated (:class:`HardConfig`), its keyword-argument form, and the checks of
the matching thresholds.

A ``HardConfig`` is built once and handed, whole, to every block that matches candidates: the RPN
sampler and target generator, the train transform, the RCNN sampler, the network and the model
zoo all take ``hard_config=``. For GluonCV-style calls they also take the five keyword arguments
of :data:`HARD_OPTIONS` (``hard_policy='ignore', ...``); :func:`pop_hard_config` is the one place
that turns those into a ``HardConfig``. The same five names, as a dict, are the ``hard`` entry of
a checkpoint's sidecar (:meth:`HardConfig.as_options` / :meth:`HardConfig.from_sidecar`).

>>> config = HardConfig(policy='drop')
>>> config.as_options()['hard_policy']
'drop'
>>> HardConfig.from_options(config.as_options()) == config
True
>>> options = {'hard_policy': 'positive', 'num_sample': 128}
>>> pop_hard_config(options).policy, options
('positive', {'num_sample': 128})
"""
import dataclasses
from dataclasses import dataclass

import numpy as np

from gluoncv_hard.errors import InputError

__all__ = ['HARD_POLICIES', 'HARD_OVERLAPS', 'HARD_PRECEDENCES', 'HARD_OPTIONS', 'HardConfig',
           'pop_hard_config', 'check_thresholds', 'check_fraction', 'check_count']

HARD_POLICIES = ('ignore', 'positive', 'drop')
HARD_OVERLAPS = ('iof', 'iou', 'iou_or_iof')
HARD_PRECEDENCES = ('normal_wins', 'ignore_wins')

# Keyword argument -> HardConfig field, in HardConfig's field order.
_OPTION_FIELDS = (('hard_policy', 'policy'), ('hard_overlap', 'overlap'),
                  ('hard_thresh', 'thresh'), ('hard_precedence', 'precedence'),
                  ('hard_cover_thresh', 'cover_thresh'))
HARD_OPTIONS = tuple(option for option, _ in _OPTION_FIELDS)
_FIELD_OF = dict(_OPTION_FIELDS)


def _check_choice(name, value, allowed):
    if value not in allowed:
        raise InputError('{}={!r} is not valid; choose one of: {}'.format(
            name, value, ', '.join(allowed)), param=name)


def check_fraction(name, value, low_open=True):
    """Refuse (``InputError`` with ``param=name``) a ``value`` that is not a number in (0, 1]
    (``low_open=False``: [0, 1])."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not ok or not ((0 < value if low_open else 0 <= value) and value <= 1):
        raise InputError('{}={!r} must be a number in {}0, 1]'.format(
            name, value, '(' if low_open else '['), param=name)


def check_count(name, value):
    """Refuse (``InputError`` with ``param=name``) a ``value`` that is not an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise InputError('{}={!r} must be an integer >= 1'.format(name, value), param=name)


@dataclass(frozen=True)
class HardConfig:
    """How hard boxes are treated; shared by the RPN and the RCNN stages.

    Parameters
    ----------
    policy : {'ignore', 'positive', 'drop'}
    overlap : {'iof', 'iou', 'iou_or_iof'}
        Measure of a candidate's overlap with a hard box (``ignore`` only).
    thresh : float in (0, 1]
        A candidate is near a hard box when the overlap *exceeds* this value.
    precedence : {'normal_wins', 'ignore_wins'}
    cover_thresh : float in (0, 1]
        Second threshold of ``iou_or_iof`` (dlib's "percent covered", 0.95 there).

    See :mod:`gluoncv_hard.core.matching` for what each choice does. Invalid values raise
    :class:`gluoncv_hard.errors.InputError` whose ``param`` is the keyword-argument name
    (``'hard_policy'`` ...).
    """
    policy: str = 'ignore'
    overlap: str = 'iof'
    thresh: float = 0.5
    precedence: str = 'normal_wins'
    cover_thresh: float = 0.95

    def __post_init__(self):
        _check_choice('hard_policy', self.policy, HARD_POLICIES)
        _check_choice('hard_overlap', self.overlap, HARD_OVERLAPS)
        _check_choice('hard_precedence', self.precedence, HARD_PRECEDENCES)
        check_fraction('hard_thresh', self.thresh)
        check_fraction('hard_cover_thresh', self.cover_thresh)

    def normal_columns(self, hard):
        """``(M,)`` bool: the GT boxes that take part in matching, of ``hard (M,) bool``."""
        hard = np.asarray(hard, dtype=bool)
        return np.ones_like(hard) if self.policy == 'positive' else ~hard

    @property
    def neutralizes(self):
        """True when candidates near hard boxes are set to IGNORE."""
        return self.policy == 'ignore'

    def as_options(self):
        """The keyword-argument form ``{'hard_policy': ..., ..., 'hard_cover_thresh': ...}``:
        what GluonCV-style constructors accept, and the ``hard`` entry of checkpoint sidecars."""
        return {option: getattr(self, field) for option, field in _OPTION_FIELDS}

    @classmethod
    def from_options(cls, options, base=None):
        """A config from keyword-argument form: the keys of ``options`` (a subset of
        :data:`HARD_OPTIONS`) replace the fields of ``base`` (default ``HardConfig()``).

        Raises ``TypeError`` for any other key.
        """
        unknown = set(options) - set(HARD_OPTIONS)
        if unknown:
            raise TypeError('unknown hard options {}; valid: {}'.format(
                sorted(unknown), ', '.join(HARD_OPTIONS)))
        return dataclasses.replace(base or cls(),
                                   **{_FIELD_OF[k]: v for k, v in options.items()})

    @classmethod
    def from_sidecar(cls, entry):
        """Read back the ``hard`` entry of a checkpoint sidecar (:meth:`as_options` output).

        ``None`` or missing keys mean the defaults; keys this version does not know are skipped,
        as a sidecar may come from another version.
        """
        entry = entry or {}
        return cls.from_options({k: v for k, v in entry.items() if k in HARD_OPTIONS})


def pop_hard_config(kwargs, hard_config=None, base=None):
    """The :class:`HardConfig` a constructor was given, as ``hard_config`` or as keywords.

    This is the one place the five keyword arguments of :data:`HARD_OPTIONS` become a config.

    Parameters
    ----------
    kwargs : dict
        The constructor's keyword arguments. Every ``hard_*`` key is removed from it (in place);
        the rest is left for the caller.
    hard_config : HardConfig, optional
    base : HardConfig, optional
        What the keyword arguments modify, and the result when neither form is given; default
        ``HardConfig()``.

    Raises
    ------
    TypeError
        When both forms are given, for an unknown ``hard_*`` keyword (e.g. a misspelling), or when
        ``hard_config`` is not a ``HardConfig``.
    """
    options = {k: kwargs.pop(k) for k in [k for k in kwargs if k.startswith('hard_')]}
    if hard_config is None:
        return HardConfig.from_options(options, base)
    if not isinstance(hard_config, HardConfig):
        raise TypeError('hard_config must be a gluoncv_hard.HardConfig, got {}'.format(
            type(hard_config).__name__))
    if options:
        raise TypeError('pass the hard options either as hard_config= or as keyword arguments, '
                        'not both (got hard_config and {})'.format(', '.join(sorted(options))))
    return hard_config


def check_thresholds(pos_thresh, neg_thresh, best_match_min_iou=None):
    """Validate matching thresholds: ``0 <= neg <= pos <= 1``; returns ``best_match_min_iou``
    (``neg_thresh`` when None). Raises ``InputError`` naming the parameter."""
    check_fraction('pos_iou_thresh', pos_thresh)
    check_fraction('neg_iou_thresh', neg_thresh, low_open=False)
    if neg_thresh > pos_thresh:
        raise InputError('neg_iou_thresh={} must not exceed pos_iou_thresh={}'.format(
            neg_thresh, pos_thresh), param='neg_iou_thresh')
    if best_match_min_iou is None:
        return neg_thresh
    check_fraction('best_match_min_iou', best_match_min_iou)
    return best_match_min_iou
