"""Score an audit against planted label errors: recall per error kind, precision per finding.

The planted errors come from :func:`gluoncv_hard.demo.plant.plant_label_errors`
(``planted_errors.json``): each has an ``image_id``, a ``kind``, a ``variant``, the ``true_box``
(the face as it is in the picture, or None) and the ``labelled_box`` (as the label now says, or
None), 0-based pixels. An error is **flagged** when the audit's findings of its image point at
it (``thresh`` = the audit's ``iou_thresh``):

========================= =================================================================
kind (variant)            flagged when
========================= =================================================================
deleted                   a false alarm (suspects are false alarms) has IoU >= thresh with
                          the true box
shifted                   the labelled box is missed, or a false alarm has IoU >= thresh with
                          the true box
spurious                  the labelled box is missed
hard_flag normal_to_hard  a hard hit (confident detection on a box labelled hard) has IoU >=
                          thresh with the labelled box
hard_flag hard_to_normal  the labelled box is missed
========================= =================================================================

A **flagged item** is one finding: a missed GT row, a false alarm (suspects among them) or a
hard hit. It is *correct* when it points at a planted error by the same rules: a missed row that
is the labelled box of a planted ``shifted``, ``spurious`` or ``hard_to_normal`` error (a miss of
a hard-by-construction face that is labelled normal only because of planting counts), a false
alarm on the true box of a planted ``deleted`` or ``shifted`` error, a hard hit on the labelled
box of a planted ``normal_to_hard`` error. Every other finding (a miss of a genuine face, a false
alarm on background or on a non-face, a hard hit on a genuinely hard face) is a false flag.

Matching is class-agnostic: the planted errors carry no class (the demo has one).
"""
from typing import NamedTuple

import numpy as np

from gluoncv_hard import schema
from gluoncv_hard.audit.findings import DEFAULT_IOU_THRESH
from gluoncv_hard.core.overlaps import pairwise_iou
from gluoncv_hard.demo.plant import KINDS, VARIANTS
from gluoncv_hard.errors import InputError

__all__ = ['FINDING_KINDS', 'BOX_TOLERANCE', 'KindScore', 'FindingScore', 'Outcome',
           'AuditScore', 'kind_rows', 'score_audit']

# The finding kinds scored for precision ('all' counts each item once: a suspect is also a
# false alarm).
FINDING_KINDS = ('missed', 'false_alarm', 'suspect', 'hard_hit')
# A planted labelled box is the audited GT row whose coordinates are within this many pixels
# (``.lst`` records hold normalized boxes: they come back with float32 rounding).
BOX_TOLERANCE = 0.5


class KindScore(NamedTuple):
    """Recall of one kind (or variant, or ``all``): ``flagged / planted`` (None if none)."""
    planted: int
    flagged: int
    recall: float


class FindingScore(NamedTuple):
    """Precision of one finding kind (or ``all``): ``correct / flagged`` (None if none)."""
    flagged: int
    correct: int
    precision: float


class Outcome(NamedTuple):
    """One planted error (its ``planted_errors.json`` entry) and whether the audit flagged it:
    ``by`` lists the finding kinds that did (empty when not flagged)."""
    error: dict
    flagged: bool
    by: tuple


class AuditScore(NamedTuple):
    """What :func:`score_audit` found.

    Attributes
    ----------
    kinds : dict -- row name (:func:`kind_rows`) -> KindScore
    findings : dict -- ``FINDING_KINDS`` + ``'all'`` -> FindingScore
    outcomes : tuple of Outcome -- one per planted error on an audited image, in the given order
    not_audited : int -- planted errors on images the audit did not cover (left out above)
    """
    kinds: dict
    findings: dict
    outcomes: tuple
    not_audited: int


def kind_rows():
    """Row names of :attr:`AuditScore.kinds`: each kind, then ``kind/variant`` for the kinds
    with variants, then ``all``."""
    rows = []
    for kind in KINDS:
        rows.append(kind)
        rows += ['{}/{}'.format(kind, v) for v in VARIANTS.get(kind, ())]
    return rows + ['all']


def _ratio(num, den):
    return num / den if den else None


def _boxes(values):
    """``(N, 4)`` float64 from a list of boxes (or one box)."""
    return np.asarray(values, np.float64).reshape(-1, 4)


def _hits(det_boxes, box, thresh):
    """``(K,)`` bool: which of ``det_boxes`` ``(K, 4)`` have IoU >= ``thresh`` with ``box``."""
    if not len(det_boxes):
        return np.zeros(0, bool)
    return pairwise_iou(det_boxes, _boxes(box))[:, 0] >= thresh


def _row_of(gt_boxes, box, where):
    """Index of the row of ``gt_boxes`` ``(N, 4)`` that is ``box``; InputError if none is."""
    if len(gt_boxes):
        gap = np.abs(gt_boxes - _boxes(box)).max(axis=1)
        row = int(np.argmin(gap))
        if gap[row] <= BOX_TOLERANCE:
            return row
    raise InputError('{}: no audited label box is {}; the audit did not run on the planted '
                     'data these errors describe'.format(where, list(box)), param='planted')


def _check_entry(error):
    where = 'planted error {} {} on {}'.format(error.get('kind'), error.get('variant') or '',
                                               error.get('image_id')).replace('  ', ' ')
    kind = error.get('kind')
    if kind not in KINDS:
        raise InputError('{}: unknown kind; the kinds are {}'.format(where, ', '.join(KINDS)),
                         param='planted')
    if kind in VARIANTS and error.get('variant') not in VARIANTS[kind]:
        raise InputError('{}: variant must be one of {}'.format(
            where, ', '.join(VARIANTS[kind])), param='planted')
    needs = {'deleted': ('true_box',), 'shifted': ('true_box', 'labelled_box'),
             'spurious': ('labelled_box',), 'hard_flag': ('labelled_box',)}[kind]
    for field in needs:
        if error.get(field) is None:
            raise InputError('{}: {} is missing'.format(where, field), param='planted')
    return where


def score_audit(audits, planted, iou_thresh=DEFAULT_IOU_THRESH):
    """Score ``audits`` against the ``planted`` errors (see the module docstring).

    Parameters
    ----------
    audits : iterable of ImageAudit
        From :func:`gluoncv_hard.audit.findings.audit_dataset` on the planted data. Each has
        ``gt_label`` ``(N, 6)`` (the labels as audited), ``det_boxes`` ``(K, 4)`` and
        ``findings`` (index arrays into those).
    planted : sequence of dict
        ``planted_errors.json`` entries (:func:`gluoncv_hard.demo.plant.load_planted_errors`):
        ``image_id``, ``kind``, ``variant``, ``true_box``, ``labelled_box`` (0-based pixels or
        None).
    iou_thresh : float
        Overlap for "a detection lies on a box" (the audit's ``iou_thresh``).

    Returns
    -------
    AuditScore

    Raises
    ------
    InputError
        For a malformed entry, or one that does not fit the audited labels (its labelled box
        is not a GT row, its deleted box still is, its hard flag differs): the audit ran on
        other data.
    """
    by_image = {}
    for error in planted:
        by_image.setdefault(str(error.get('image_id')), []).append(error)
    flagged_by = {}  # id(error) -> set of finding kinds
    items = {name: [0, 0] for name in FINDING_KINDS + ('all',)}  # [flagged, correct]
    audited = set()
    for audit in audits:
        errors = by_image.get(str(audit.image_id), [])
        audited.add(str(audit.image_id))
        gt_boxes, _, hard = schema.split_label(schema.validate_label(audit.gt_label,
                                                                     str(audit.image_id)))
        gt_boxes = np.asarray(gt_boxes, np.float64)
        f = audit.findings
        dets = np.asarray(audit.det_boxes, np.float64).reshape(-1, 4)
        false_alarms, hard_hits = np.asarray(f.false_alarms), np.asarray(f.hard_hits)
        suspects = set(np.asarray(f.suspects).tolist())
        missed = set(np.asarray(f.missed).tolist())
        correct_rows, correct_false, correct_hard = set(), set(), set()
        for error in errors:
            where = _check_entry(error)
            by = flagged_by.setdefault(id(error), set())
            kind, variant = error['kind'], error.get('variant')
            if kind == 'deleted':
                if len(gt_boxes) and np.abs(gt_boxes - _boxes(error['true_box'])).max(
                        axis=1).min() <= BOX_TOLERANCE:
                    raise InputError('{}: the deleted box {} is still labelled; the audit did '
                                     'not run on the planted data'.format(
                                         where, error['true_box']), param='planted')
            row = None
            if error.get('labelled_box') is not None:
                row = _row_of(gt_boxes, error['labelled_box'], where)
                expect_hard = kind == 'hard_flag' and variant == 'normal_to_hard'
                if bool(hard[row]) != expect_hard:
                    raise InputError('{}: the audited label of {} is {}hard; the planted error '
                                     'says otherwise'.format(where, error['labelled_box'],
                                                             '' if hard[row] else 'not '),
                                     param='planted')
            if kind in ('shifted', 'spurious') or variant == 'hard_to_normal':
                correct_rows.add(row)
                if row in missed:
                    by.add('missed')
            if kind in ('deleted', 'shifted'):
                on_true = false_alarms[_hits(dets[false_alarms], error['true_box'], iou_thresh)]
                correct_false.update(on_true.tolist())
                if len(on_true):
                    by.add('false_alarm')
                if suspects & set(on_true.tolist()):
                    by.add('suspect')
            if variant == 'normal_to_hard':
                on_box = hard_hits[_hits(dets[hard_hits], error['labelled_box'], iou_thresh)]
                correct_hard.update(on_box.tolist())
                if len(on_box):
                    by.add('hard_hit')
        counted = (('missed', missed, correct_rows), ('false_alarm', set(false_alarms.tolist()),
                                                       correct_false),
                   ('suspect', suspects, correct_false),
                   ('hard_hit', set(hard_hits.tolist()), correct_hard))
        for name, found, correct in counted:
            items[name][0] += len(found)
            items[name][1] += len(found & correct)
            if name != 'suspect':  # suspects are false alarms: counted once in 'all'
                items['all'][0] += len(found)
                items['all'][1] += len(found & correct)

    outcomes = tuple(Outcome(e, bool(flagged_by[id(e)]), tuple(
        k for k in FINDING_KINDS if k in flagged_by[id(e)]))
        for e in planted if str(e.get('image_id')) in audited)
    kinds = {}
    for name in kind_rows():
        kind, _, variant = name.partition('/')
        chosen = [o for o in outcomes if name == 'all' or (
            o.error['kind'] == kind and (not variant or o.error.get('variant') == variant))]
        hit = sum(o.flagged for o in chosen)
        kinds[name] = KindScore(len(chosen), hit, _ratio(hit, len(chosen)))
    findings = {name: FindingScore(n, c, _ratio(c, n)) for name, (n, c) in items.items()}
    return AuditScore(kinds, findings, outcomes, len(planted) - len(outcomes))
