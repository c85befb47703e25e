"""Scoring an audit against planted label errors (gluoncv_hard.audit.scoring), on hand-made
audits and, end to end without training, on a planted demo set audited by an oracle."""
import numpy as np
import pytest

from gluoncv_hard.audit import findings as audit
from gluoncv_hard.audit import scoring
from gluoncv_hard.errors import InputError


def image(image_id, gt_rows, dets):
    """An ImageAudit: ``gt_rows`` ``(xmin, ymin, xmax, ymax, hard)``, ``dets``
    ``(xmin, ymin, xmax, ymax, score)``; one class."""
    gt = np.array([r[:4] + (0, r[4]) for r in gt_rows], np.float32).reshape(-1, 6)
    d = np.array(dets, np.float64).reshape(-1, 5)
    labels = np.zeros(len(d), np.int64)
    found = audit.classify_image(d[:, :4], d[:, 4], labels, gt)
    return audit.ImageAudit(0, image_id, image_id + '.jpg', 0, gt, d[:, :4], d[:, 4], labels,
                            found)


def error(image_id, kind, true_box=None, labelled_box=None, variant=None):
    return {'image_id': image_id, 'kind': kind, 'variant': variant,
            'true_box': None if true_box is None else list(true_box),
            'labelled_box': None if labelled_box is None else list(labelled_box)}


FACE_A = (10, 10, 50, 50)
FACE_B = (100, 10, 140, 50)
FACE_C = (200, 10, 240, 50)
SHIFTED_B = (120, 10, 160, 50)  # IoU 1/3 with FACE_B
BACKGROUND = (300, 100, 340, 140)


def test_each_kind_is_flagged_by_its_rule():
    audits = [
        # deleted FACE_B: a confident detection on it, far from every label: a suspect.
        image('del', [FACE_A + (0,)], [FACE_A + (0.9,), FACE_B + (0.95,)]),
        # shifted FACE_B: its labelled box missed, a false alarm on the true box (not a
        # suspect: it is near the labelled box).
        image('shift', [FACE_A + (0,), SHIFTED_B + (0,)], [FACE_A + (0.9,), FACE_B + (0.9,)]),
        # spurious box on background: missed.
        image('spur', [FACE_A + (0,), BACKGROUND + (0,)], [FACE_A + (0.9,)]),
        # FACE_B normal labelled hard and detected: a hard hit; FACE_C hard labelled normal and
        # not detected: missed.
        image('flag', [FACE_B + (1,), FACE_C + (0,)], [FACE_B + (0.8,)]),
    ]
    planted = [error('del', 'deleted', FACE_B), error('shift', 'shifted', FACE_B, SHIFTED_B),
               error('spur', 'spurious', None, BACKGROUND, 'background'),
               error('flag', 'hard_flag', FACE_B, FACE_B, 'normal_to_hard'),
               error('flag', 'hard_flag', FACE_C, FACE_C, 'hard_to_normal')]
    score = scoring.score_audit(audits, planted)
    assert [(o.error['kind'], o.flagged, o.by) for o in score.outcomes] == [
        ('deleted', True, ('false_alarm', 'suspect')),
        ('shifted', True, ('missed', 'false_alarm')),
        ('spurious', True, ('missed',)),
        ('hard_flag', True, ('hard_hit',)),
        ('hard_flag', True, ('missed',))]
    assert all(k.recall == 1.0 for k in score.kinds.values() if k.planted)
    assert score.kinds['all'] == scoring.KindScore(5, 5, 1.0)
    assert score.kinds['spurious/distractor'] == scoring.KindScore(0, 0, None)
    # Every finding points at a planted error.
    assert {name: (s.flagged, s.correct) for name, s in score.findings.items()} == {
        'missed': (3, 3), 'false_alarm': (2, 2), 'suspect': (1, 1), 'hard_hit': (1, 1),
        'all': (6, 6)}
    assert score.not_audited == 0
    assert list(score.kinds) == scoring.kind_rows()


def test_unflagged_errors_and_false_flags():
    audits = [
        # deleted FACE_B, nothing detected there; FACE_A (genuine) missed; a background false
        # alarm; a hard hit on a genuinely hard face FACE_C.
        image('a', [FACE_A + (0,), FACE_C + (1,)], [BACKGROUND + (0.9,), FACE_C + (0.7,)]),
        # shifted FACE_B: the detector matched the wrong (labelled) box: not flagged.
        image('b', [SHIFTED_B + (0,)], [SHIFTED_B + (0.9,)]),
        # a false alarm near the deleted box but with IoU 0.43 < 0.5: not on it.
        image('c', [FACE_A + (0,)], [FACE_A + (0.9,), (116, 10, 156, 50, 0.9)]),
    ]
    planted = [error('a', 'deleted', FACE_B), error('b', 'shifted', FACE_B, SHIFTED_B),
               error('c', 'deleted', FACE_B)]
    score = scoring.score_audit(audits, planted)
    assert [o.flagged for o in score.outcomes] == [False, False, False]
    assert score.kinds['deleted'] == scoring.KindScore(2, 0, 0.0)
    assert score.kinds['all'].recall == 0.0
    assert score.findings['missed'] == scoring.FindingScore(1, 0, 0.0)
    assert score.findings['false_alarm'] == scoring.FindingScore(2, 0, 0.0)
    assert score.findings['suspect'] == scoring.FindingScore(2, 0, 0.0)
    assert score.findings['hard_hit'] == scoring.FindingScore(1, 0, 0.0)
    assert score.findings['all'] == scoring.FindingScore(4, 0, 0.0)
    # A looser overlap makes the near false alarm of image c land on the deleted box (IoU 0.43).
    loose = scoring.score_audit(audits, planted, iou_thresh=0.4)
    assert [o.flagged for o in loose.outcomes] == [False, False, True]
    assert loose.findings['false_alarm'] == scoring.FindingScore(2, 1, 0.5)


def test_precision_mixes_hits_and_false_flags():
    # Two misses: the planted hard_to_normal box (a hit) and a genuine face (a false flag).
    audits = [image('x', [FACE_A + (0,), FACE_C + (0,)], [])]
    planted = [error('x', 'hard_flag', FACE_C, FACE_C, 'hard_to_normal')]
    score = scoring.score_audit(audits, planted)
    assert score.findings['missed'] == scoring.FindingScore(2, 1, 0.5)
    assert score.kinds['hard_flag/hard_to_normal'] == scoring.KindScore(1, 1, 1.0)
    assert score.findings['false_alarm'] == scoring.FindingScore(0, 0, None)


def test_errors_on_images_the_audit_did_not_cover_are_left_out():
    audits = [image('x', [FACE_A + (0,)], [FACE_A + (0.9,)])]
    score = scoring.score_audit(audits, [error('elsewhere', 'deleted', FACE_B)])
    assert score.not_audited == 1 and score.outcomes == ()
    assert score.kinds['deleted'] == scoring.KindScore(0, 0, None)


@pytest.mark.parametrize('planted, message', [
    (error('x', 'shifted', FACE_B, SHIFTED_B), 'no audited label box is'),
    (error('x', 'deleted', FACE_A), 'is still labelled'),
    (error('x', 'hard_flag', FACE_A, FACE_A, 'normal_to_hard'), 'is not hard'),
    (error('x', 'hard_flag', FACE_A, FACE_A, 'sideways'), 'variant must be'),
    (error('x', 'moved', FACE_A, FACE_A), 'unknown kind'),
    (error('x', 'shifted', FACE_A), 'labelled_box is missing'),
])
def test_errors_that_do_not_fit_the_audited_labels_are_refused(planted, message):
    audits = [image('x', [FACE_A + (0,)], [FACE_A + (0.9,)])]
    with pytest.raises(InputError, match=message) as e:
        scoring.score_audit(audits, [planted])
    assert e.value.param == 'planted'


def test_planted_demo_set_audited_by_an_oracle_scores_perfectly(tmp_path):
    """Plant every kind into a demo set, read it with the project's VOC reader and audit it
    with an oracle detector that finds every face *as it is in the picture* (the normal-style
    ones; nothing detects a hard-by-construction face): every planted error is flagged, and
    every finding is one of them."""
    from gluoncv_hard.data.datasets import open_dataset
    from gluoncv_hard.demo import generate, load_meta, plant
    from gluoncv_hard.engine.predict import Prediction
    root, out = str(tmp_path / 'demo'), str(tmp_path / 'planted')
    generate.generate_demo_dataset(root, seed=4, n_train=14, n_val=0, n_negatives_pool=0,
                                   n_negatives_test=0, progress=False)
    plant.plant_label_errors(root, out, counts={'deleted': 3, 'shifted': 3, 'spurious': 4,
                                                'hard_flag': 4}, seed=1)
    truth = {r['id']: r for r in load_meta(root)['images']}
    dataset, _ = open_dataset('voc', 'train', out)

    def oracle(fold, train_indices, test_indices):
        for index in test_indices:
            faces = truth[dataset.image_id(index)]['faces']
            boxes = np.array([f['box'] for f in faces if f['style'] == 'normal'],
                             np.float64).reshape(-1, 4)
            yield Prediction(int(index), boxes, np.full(len(boxes), 0.95),
                             np.zeros(len(boxes), np.int64), dataset[int(index)][1])

    audits = audit.audit_dataset(dataset, audit.make_folds(len(dataset), 2, seed=0), oracle)
    score = scoring.score_audit(audits, plant.load_planted_errors(out))
    assert score.kinds['all'] == scoring.KindScore(14, 14, 1.0)
    for name in scoring.kind_rows():
        assert score.kinds[name].recall == 1.0, name
    for name in scoring.FINDING_KINDS + ('all',):
        assert score.findings[name].precision == 1.0, name
    assert score.findings['hard_hit'].flagged == 2 and score.findings['missed'].flagged == 9
