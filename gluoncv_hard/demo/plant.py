"""Plant label errors of known kinds in a copy of a finished demo data set.

The audit (``gluoncv_hard.audit``) is meant to find label errors. To measure how well it does,
:func:`plant_label_errors` copies a demo data set and rewrites the VOC annotations of one image
set with errors whose truth is known from ``demo_meta.json``, and lists every planted error in
``planted_errors.json``. The pictures are not touched (hard links where possible), so every
face is still in its picture; only the labels lie. See ``docs/audit.md`` ("Measured on planted
errors").

Kinds (:data:`KINDS`), at most one planted error per face or non-face:

``deleted``
    A normal face's ``<object>`` removed.
``shifted``
    A normal face's box moved by a random offset (same size, inside the image) so that
    IoU(true, labelled) is in :data:`SHIFT_IOU`, and IoU below :data:`SHIFT_CLEAR_IOU` with every
    other pasted patch: clearly wrong, still near.
``spurious``
    A ``face`` box where there is no face: on a pasted non-face (variant ``distractor``: a
    normal-style one, its box) or on plain background (variant ``background``: a face-sized box
    placed with the generator's own placement rule, clear of every pasted patch). Half of
    them (rounded up) on non-faces.
``hard_flag``
    A normal face labelled ``difficult=1`` (variant ``normal_to_hard``) or a hard-by-construction
    face labelled ``difficult=0`` (variant ``hard_to_normal``). Half of them (rounded up) one way.

Coordinates are those of ``demo_meta.json``: 0-based inclusive pixel indices (the VOC files hold
these + 1). Everything is drawn from one generator seeded with ``seed``: the same data set, seed
and request give the same errors.
"""
import json
import os
import shutil

import numpy as np

from gluoncv_hard.core.overlaps import pairwise_iou
from gluoncv_hard.demo import render, staging, voc_xml
from gluoncv_hard.errors import InputError

__all__ = ['KINDS', 'VARIANTS', 'SHIFT_IOU', 'SHIFT_CLEAR_IOU', 'PLANTED_FILE',
           'PLANT_FORMAT_VERSION', 'MARKER_KEY', 'plant_label_errors', 'load_planted_errors']

KINDS = ('deleted', 'shifted', 'spurious', 'hard_flag')
# The variants of a kind; the first of two gets the odd one of an odd count.
VARIANTS = {'spurious': ('distractor', 'background'),
            'hard_flag': ('normal_to_hard', 'hard_to_normal')}
SHIFT_IOU = (0.1, 0.4)
# A shifted box keeps clear of the other faces, so that no detection of another face can match
# it (the audit would then not call it missed for a reason that has nothing to do with the
# error).
SHIFT_CLEAR_IOU = 0.1
SHIFT_TRIES = 200
PLANTED_FILE = 'planted_errors.json'
PLANT_FORMAT_VERSION = 1
PLANTER = 'gluoncv_hard.demo.plant'
# The completion marker of a planted copy records the request under this key.
MARKER_KEY = 'planted_errors'
# Mixed into the seed: the planting stream is never one of the generator's scene streams.
_STREAM = 0x504C4E54
_IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png')


def _check_request(counts, rates):
    """``{kind: count or rate}`` checked: known kinds, each named once, integer counts >= 0,
    rates in [0, 1]."""
    counts, rates = dict(counts or {}), dict(rates or {})
    for name, given in (('counts', counts), ('rates', rates)):
        unknown = sorted(set(given) - set(KINDS))
        if unknown:
            raise InputError('{}: unknown kind(s) {}; the kinds are {}'.format(
                name, ', '.join(map(str, unknown)), ', '.join(KINDS)), param=name)
    both = sorted(set(counts) & set(rates))
    if both:
        raise InputError('{} given both as a count and as a rate; give one'.format(
            ', '.join(both)), param='rates')
    for kind, value in counts.items():
        if isinstance(value, bool) or int(value) != value or value < 0:
            raise InputError('counts[{!r}] must be a non-negative integer, got {!r}'.format(
                kind, value), param='counts')
    for kind, value in rates.items():
        if isinstance(value, bool) or not 0.0 <= float(value) <= 1.0:
            raise InputError('rates[{!r}] must be in [0, 1], got {!r}'.format(kind, value),
                             param='rates')
    return {k: int(v) for k, v in counts.items()}, {k: float(v) for k, v in rates.items()}


def _split_count(count):
    """``(first variant, second variant)``: the first gets the odd one."""
    return (count + 1) // 2, count // 2


def _box(values):
    return [int(v) for v in values]


def _iou(a, b):
    """IoU of two boxes (the audit's overlap, :mod:`gluoncv_hard.core.overlaps`)."""
    return float(pairwise_iou(np.array([a], np.float64), np.array([b], np.float64))[0, 0])


def _read_lines(path):
    with open(path, encoding='utf-8') as f:
        return [line.strip() for line in f if line.strip()]


def _load_source(data_root, image_set):
    """``(marker, meta, records)`` of a finished, unedited demo data set; ``records`` are the
    ``demo_meta.json`` entries of ``image_set`` in image-set order."""
    if not staging.is_complete_output(data_root):
        raise InputError('{} is not a finished demo data set (no {} marker); build one with '
                         'gluoncv-hard-make-demo --out {}'.format(
                             data_root, staging.COMPLETION_MARKER, data_root), param='data_root')
    marker = staging.read_marker(data_root)
    if MARKER_KEY in marker:
        raise InputError('{} already carries planted label errors ({}); plant into a copy of '
                         'the original demo data set'.format(data_root, PLANTED_FILE),
                         param='data_root')
    from gluoncv_hard.demo.generate import CLASS_NAME, load_meta
    meta = load_meta(data_root)
    set_file = os.path.join(data_root, 'ImageSets', 'Main', image_set + '.txt')
    if not os.path.isfile(set_file):
        raise InputError('{} has no image set {!r} ({} is missing)'.format(
            data_root, image_set, set_file), param='image_set')
    by_id = {record['id']: record for record in meta['images']}
    records = []
    for image_id in _read_lines(set_file):
        record = by_id.get(image_id)
        if record is None or not record.get('annotation'):
            raise InputError('{}: image {} of {} has no annotated entry in demo_meta.json; the '
                             'data set is not a demo data set as generated'.format(
                                 data_root, image_id, set_file), param='data_root')
        path = os.path.join(data_root, record['annotation'])
        expected = voc_xml.annotation_xml(image_id + '.jpg', record['width'], record['height'],
                                          [dict(face, name=CLASS_NAME) for face in
                                           record['faces']])
        try:
            with open(path, encoding='utf-8') as f:
                written = f.read()
        except OSError as e:
            raise InputError('{} cannot be read ({})'.format(path, e.strerror),
                             param='data_root') from None
        if written != expected:
            raise InputError('{} differs from what demo_meta.json says it holds: the labels were '
                             'edited, so the truth of planted errors would be unknown. Plant '
                             'into a freshly generated demo data set'.format(path),
                             param='data_root')
        records.append(record)
    if not records:
        raise InputError('image set {!r} of {} is empty'.format(image_set, data_root),
                         param='image_set')
    return marker, meta, records


def _wanted_counts(counts, rates, records):
    """``{kind: count}`` for every kind, rates turned into counts of their population:
    normal faces (deleted, shifted), all faces (hard_flag), images (spurious)."""
    faces = [face for r in records for face in r['faces']]
    population = {'deleted': sum(not f['difficult'] for f in faces),
                  'shifted': sum(not f['difficult'] for f in faces),
                  'hard_flag': len(faces), 'spurious': len(records)}
    wanted = {kind: counts.get(kind, 0) for kind in KINDS}
    for kind, rate in rates.items():
        wanted[kind] = int(round(rate * population[kind]))
    return wanted


def _shift(rng, box, width, height, others):
    """A translated copy of ``box`` inside the image with IoU in ``SHIFT_IOU`` with it and below
    ``SHIFT_CLEAR_IOU`` with every box of ``others`` (the other patches); None when
    ``SHIFT_TRIES`` draws fail."""
    xmin, ymin, xmax, ymax = box
    w, h = xmax - xmin + 1, ymax - ymin + 1
    for _ in range(SHIFT_TRIES):
        dx, dy = int(rng.integers(-w, w + 1)), int(rng.integers(-h, h + 1))
        moved = [xmin + dx, ymin + dy, xmax + dx, ymax + dy]
        if moved[0] < 0 or moved[1] < 0 or moved[2] >= width or moved[3] >= height:
            continue
        iou = _iou(box, moved)
        if not SHIFT_IOU[0] <= iou <= SHIFT_IOU[1]:
            continue
        if all(_iou(moved, other) < SHIFT_CLEAR_IOU for other in others):
            return moved, iou
    return None


def _background_box(rng, record, occupied):
    """A face-sized box (a normal face's size rule) clear of every box in ``occupied`` (with the
    generator's gap), by the generator's own placement; None if there is no room."""
    style = render.sample_style(rng, 0.0)
    rect = render.place_patch(rng, style, record['width'], record['height'], occupied)
    if rect is None:
        return None, False
    x0, y0, w, h = rect
    box = [max(x0, 0), max(y0, 0), min(x0 + w, record['width']) - 1,
           min(y0 + h, record['height']) - 1]
    return box, box != [x0, y0, x0 + w - 1, y0 + h - 1]


def _entry(record, kind, variant=None, face=None, distractor=None, true_box=None,
           labelled_box=None, **extra):
    entry = {'image_id': record['id'], 'kind': kind, 'variant': variant, 'face': face,
             'distractor': distractor, 'true_box': true_box, 'labelled_box': labelled_box}
    entry.update(extra)
    return entry


def _too_few(kind, wanted, found, what):
    return InputError('cannot plant {} {} error(s): only {} {} available (at most one error per '
                      'face or non-face); ask for fewer or plant into a larger data set'.format(
                          wanted, kind, found, what), param='counts')


def _plan(rng, records, wanted):
    """The planted errors (dicts, see :func:`plant_label_errors`) for ``wanted``; raises
    :class:`InputError` when a count cannot be met."""
    errors = []
    normal = [(i, k) for i, r in enumerate(records) for k, f in enumerate(r['faces'])
              if not f['difficult']]
    hard = [(i, k) for i, r in enumerate(records) for k, f in enumerate(r['faces'])
            if f['difficult']]
    to_hard, to_normal = _split_count(wanted['hard_flag'])
    on_distractor, on_background = _split_count(wanted['spurious'])
    need_normal = wanted['deleted'] + wanted['shifted'] + to_hard
    if need_normal > len(normal):
        raise _too_few('deleted + shifted + hard_flag (normal_to_hard)', need_normal,
                       len(normal), 'normal faces')

    # Normal faces: one shuffled queue, taken in turn by deleted, shifted, normal_to_hard.
    queue = [normal[j] for j in rng.permutation(len(normal))]
    for kind, count in (('deleted', wanted['deleted']), ('shifted', wanted['shifted']),
                        ('hard_flag', to_hard)):
        rest, taken = [], 0
        for i, k in queue:
            record, face = records[i], records[i]['faces'][k]
            box = _box(face['box'])
            if taken == count:
                rest.append((i, k))
            elif kind == 'deleted':
                errors.append(_entry(record, kind, face=k, true_box=box, style=face['style']))
                taken += 1
            elif kind == 'shifted':
                others = [_box(f['box']) for n, f in enumerate(record['faces']) if n != k]
                others += [_box(d['box']) for d in record['distractors']]
                moved = _shift(rng, box, record['width'], record['height'], others)
                if moved is None:
                    rest.append((i, k))
                    continue
                errors.append(_entry(record, kind, face=k, true_box=box, labelled_box=moved[0],
                                     iou=round(moved[1], 4), style=face['style']))
                taken += 1
            else:
                errors.append(_entry(record, kind, 'normal_to_hard', face=k, true_box=box,
                                     labelled_box=box, style=face['style']))
                taken += 1
        if taken < count:
            raise _too_few(kind, count, taken, 'normal faces that allow it')
        queue = rest

    if to_normal > len(hard):
        raise _too_few('hard_flag (hard_to_normal)', to_normal, len(hard),
                       'hard-by-construction faces')
    for j in sorted(rng.permutation(len(hard))[:to_normal]):
        i, k = hard[j]
        face = records[i]['faces'][k]
        errors.append(_entry(records[i], 'hard_flag', 'hard_to_normal', face=k,
                             true_box=_box(face['box']), labelled_box=_box(face['box']),
                             style=face['style']))

    distractors = [(i, k) for i, r in enumerate(records) for k, d in enumerate(r['distractors'])
                   if d['style'] == render.STYLE_NORMAL]
    if on_distractor > len(distractors):
        raise _too_few('spurious (distractor)', on_distractor, len(distractors),
                       'normal-style pasted non-faces')
    for j in sorted(rng.permutation(len(distractors))[:on_distractor]):
        i, k = distractors[j]
        d = records[i]['distractors'][k]
        errors.append(_entry(records[i], 'spurious', 'distractor', distractor=k,
                             labelled_box=_box(d['box']), truncated=bool(d['truncated'])))

    # Background boxes: images in random order, one box per image per pass, clear of every
    # patch and of the boxes planted before.
    occupied = {i: [tuple(_box(p['box'])) for p in r['faces'] + r['distractors']]
                for i, r in enumerate(records)}
    order = {r['id']: n for n, r in enumerate(records)}
    for e in errors:
        if e['kind'] == 'shifted':
            occupied[order[e['image_id']]].append(tuple(e['labelled_box']))
    placed = 0
    while placed < on_background:
        progress = False
        for i in rng.permutation(len(records)):
            if placed == on_background:
                break
            box, truncated = _background_box(rng, records[i], occupied[i])
            if box is None:
                continue
            occupied[i].append(tuple(box))
            errors.append(_entry(records[i], 'spurious', 'background', labelled_box=box,
                                 truncated=truncated))
            placed += 1
            progress = True
        if not progress:
            raise _too_few('spurious (background)', on_background, placed,
                           'free background spots')
    errors.sort(key=lambda e: (order[e['image_id']], KINDS.index(e['kind']),
                               e['face'] if e['face'] is not None else -1,
                               e['labelled_box'] or []))
    return errors


def _planted_objects(record, errors, class_name):
    """The ``voc_xml.annotation_xml`` objects of ``record`` with its ``errors`` applied."""
    objects = [dict(face, name=class_name) for face in record['faces']]
    removed = set()
    extra = []
    for e in errors:
        if e['kind'] == 'deleted':
            removed.add(e['face'])
        elif e['kind'] == 'shifted':
            objects[e['face']] = dict(objects[e['face']], box=e['labelled_box'])
        elif e['kind'] == 'hard_flag':
            objects[e['face']] = dict(objects[e['face']],
                                      difficult=e['variant'] == 'normal_to_hard')
        else:
            extra.append({'name': class_name, 'box': e['labelled_box'], 'difficult': False,
                          'truncated': e['truncated']})
    return [o for n, o in enumerate(objects) if n not in removed] + extra


def _copy_tree(source, target, skip):
    """Copy ``source`` into the (existing, empty) ``target``: images hard-linked when the file
    system allows it (they are never rewritten), everything else copied; ``skip`` holds
    relative paths left out."""
    for dirpath, dirnames, filenames in os.walk(source):
        dirnames.sort()
        relative = os.path.relpath(dirpath, source)
        for name in dirnames:
            os.makedirs(os.path.join(target, relative, name), exist_ok=True)
        for name in sorted(filenames):
            rel = os.path.normpath(os.path.join(relative, name))
            if rel in skip:
                continue
            src, dst = os.path.join(dirpath, name), os.path.join(target, rel)
            if name.lower().endswith(_IMAGE_EXTENSIONS):
                try:
                    os.link(src, dst)
                    continue
                except OSError:  # another file system, or no hard links here
                    pass
            shutil.copyfile(src, dst)


def _readme_note(errors, image_set, seed):
    counts = {kind: sum(e['kind'] == kind for e in errors) for kind in KINDS}
    return '\n'.join([
        '',
        'PLANTED LABEL ERRORS',
        '--------------------',
        'The annotations of image set {!r} carry planted label errors ({}, seed {}):'.format(
            image_set, PLANTER, seed),
        '  ' + ', '.join('{} {}'.format(kind, counts[kind]) for kind in KINDS) + '.',
        'The counts above and demo_meta.json describe the pictures (the truth), not these',
        'labels; {} lists every planted error.'.format(PLANTED_FILE),
        ''])


def plant_label_errors(data_root, out_dir, counts=None, rates=None, seed=0, image_set='train',
                       force=False):
    """Copy a finished demo data set to ``out_dir`` with label errors planted in ``image_set``.

    Parameters
    ----------
    data_root : str
        A finished demo data set (``gluoncv-hard-make-demo``) whose annotations are as
        generated.
    out_dir : str
        The copy: absent, empty or a previous demo output (replaced), as for
        ``generate_demo_dataset``. Written in a staging folder and renamed into place, so a
        failure leaves nothing half-written and any previous ``out_dir`` as it was.
    counts : dict, optional
        ``{kind: number}`` of errors to plant (kinds: :data:`KINDS`).
    rates : dict, optional
        ``{kind: fraction}``, of the normal faces (``deleted``, ``shifted``), of all faces
        (``hard_flag``) or of the images (``spurious``) of ``image_set``, rounded. A kind is
        given in ``counts`` or in ``rates``, not both; kinds in neither get none.
    seed : int
        Same data, seed and request: the same errors, byte for byte.
    image_set : str
        ``ImageSets/Main/IMAGE_SET.txt``: the images whose annotations get errors.
    force : bool
        Replace an ``out_dir`` that is a non-empty folder but not a demo output.

    Returns
    -------
    dict
        ``out_dir``, ``planted`` (``{kind: count}``), ``errors`` (the list written to
        ``planted_errors.json``).

    ``OUT/planted_errors.json`` holds ``format_version``, ``seed``, ``image_set``, ``request``
    (``counts``, ``rates``), ``planted`` and ``errors``: one entry per planted error with
    ``image_id``, ``kind``, ``variant`` (``distractor``/``background`` for ``spurious``,
    ``normal_to_hard``/``hard_to_normal`` for ``hard_flag``, else null), ``face`` /
    ``distractor`` (the index in the image's ``demo_meta.json`` entry, or null), ``true_box``
    (the face, null for ``spurious``) and ``labelled_box`` (as now written, null for
    ``deleted``), 0-based inclusive pixels; ``shifted`` entries also hold their ``iou``.

    Raises
    ------
    InputError
        If ``data_root`` is not a finished, unedited demo data set, ``image_set`` does not
        exist, the request is malformed or cannot be met, or ``out_dir`` is ``data_root`` or
        inside it (or the other way round).
    OutputExistsError
        If ``out_dir`` is a file or an unrelated non-empty folder and not ``force``.
    """
    if int(seed) != seed or seed < 0:
        raise InputError('seed must be a non-negative integer, got {!r}'.format(seed),
                         param='seed')
    seed = int(seed)
    counts, rates = _check_request(counts, rates)
    source, target = os.path.realpath(data_root), os.path.realpath(out_dir)
    if os.path.commonpath([source, target]) in (source, target):
        raise InputError('out_dir {} and data_root {} must be separate folders (neither inside '
                         'the other): the copy replaces out_dir'.format(out_dir, data_root),
                         param='out_dir')
    marker, meta, records = _load_source(data_root, image_set)
    errors = _plan(np.random.default_rng([seed, _STREAM]), records,
                   _wanted_counts(counts, rates, records))
    planted = {kind: sum(e['kind'] == kind for e in errors) for kind in KINDS}
    request = {'counts': counts, 'rates': rates}
    class_name = meta.get('class_name', 'face')
    by_image = {}
    for e in errors:
        by_image.setdefault(e['image_id'], []).append(e)
    rewritten = {r['annotation']: r for r in records if r['id'] in by_image}

    with staging.StagedDirectory(out_dir, force=force) as stage:
        skip = {os.path.normpath(p) for p in rewritten} | {staging.COMPLETION_MARKER,
                                                           PLANTED_FILE}
        _copy_tree(data_root, stage.path, skip)
        for annotation, record in sorted(rewritten.items()):
            staging.write_text_atomic(
                os.path.join(stage.path, annotation),
                voc_xml.annotation_xml(record['id'] + '.jpg', record['width'], record['height'],
                                       _planted_objects(record, by_image[record['id']],
                                                        class_name)))
        document = {'format_version': PLANT_FORMAT_VERSION, 'generator': PLANTER, 'seed': seed,
                    'image_set': image_set, 'request': request, 'planted': planted,
                    'coordinates': '0-based inclusive pixel indices (as demo_meta.json); VOC '
                                   'XML values are these + 1',
                    'errors': errors}
        staging.write_text_atomic(os.path.join(stage.path, PLANTED_FILE),
                                  json.dumps(document, indent=1, sort_keys=True) + '\n')
        readme = os.path.join(stage.path, 'README.txt')
        if os.path.isfile(readme):
            with open(readme, encoding='utf-8') as f:
                text = f.read()
            os.remove(readme)  # a copy, never a link, but do not write through one
            staging.write_text_atomic(readme, text + _readme_note(errors, image_set, seed))
        stage.finish(dict(marker, **{MARKER_KEY: {'seed': seed, 'image_set': image_set,
                                                  'request': request, 'planted': planted}}))
    return {'out_dir': os.path.abspath(out_dir), 'planted': planted, 'errors': errors}


def load_planted_errors(root):
    """The ``errors`` list of ``ROOT/planted_errors.json`` (see :func:`plant_label_errors`)."""
    path = os.path.join(root, PLANTED_FILE)
    try:
        with open(path, encoding='utf-8') as f:
            document = json.load(f)
    except OSError as e:
        raise InputError('{} cannot be read ({}); make it with plant_label_errors'.format(
            path, e.strerror), param='root') from None
    except ValueError as e:
        raise InputError('{} is not valid JSON ({})'.format(path, e), param='root') from None
    if not isinstance(document, dict) or not isinstance(document.get('errors'), list):
        raise InputError('{} has no "errors" list; it was not written by plant_label_errors'
                         .format(path), param='root')
    return document['errors']
