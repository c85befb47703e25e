"""Generate the offline demo face-detection data set (Pascal VOC layout).

Every picture is composed from real image content that ships inside scikit-image (LFW face and
non-face crops, bundled photos and textures), so the data set can be rebuilt on a machine with no
network. The same seed always gives byte-identical files. See ``docs/demo_data.md``.

Layout written under ``OUT``::

    JPEGImages/{train,val}_NNNNN.jpg    scenes with 1-4 faces (plus unlabelled non-faces)
    Annotations/{train,val}_NNNNN.xml   VOC XML, class "face", difficult=1 for hard faces
    ImageSets/Main/train.txt, val.txt   image ids
    negatives/pool/negpool_NNNNN.jpg    only non-faces from the train pool (hard negative mining)
    negatives/test/negtest_NNNNN.jpg    only non-faces from the test pool (held-out FP metric)
    classes.txt                         "face"
    demo_meta.json                      every pasted patch: LFW index, style (hard reason), boxes
    README.txt                          how it was generated
    .gluoncv_hard_demo_complete         written last: marks a finished data set

Usage::

    generate_demo_dataset('demo_data', seed=0)      # command line: gluoncv-hard-make-demo
"""
import json
import os
import time
from collections import Counter

import cv2
import numpy as np

from gluoncv_hard.demo import render, sources, staging, voc_xml
from gluoncv_hard.errors import InputError, InputNotFoundError
from gluoncv_hard.utils.progress import progress_bar

__all__ = [
    'CLASS_NAME', 'JPEG_QUALITY', 'META_FILE', 'FORMAT_VERSION', 'SPLITS', 'SceneSplit',
    'generate_demo_dataset', 'load_meta', 'recorded_parameters', 'is_default_dataset',
]

CLASS_NAME = 'face'
JPEG_QUALITY = 92
META_FILE = 'demo_meta.json'
FORMAT_VERSION = 1
# Recorded in the completion marker and demo_meta.json: which code made a data set.
GENERATOR = 'gluoncv_hard.demo.generate'

# 1200 training scenes let the tiny network converge without overfitting (240 peaked near VOC07
# 0.63 and fell); 400 validation and 200 negative test scenes resolve differences of about 0.01
# (bootstrap intervals in the demo's table).
DEFAULT_COUNTS = {'train': 1200, 'val': 400, 'negatives_pool': 150, 'negatives_test': 200}
DEFAULT_MAX_FACES = 4
DEFAULT_MAX_DISTRACTORS_POSITIVE = 3
DEFAULT_MAX_DISTRACTORS_NEGATIVE = 5
DEFAULT_HARD_FRACTION = 0.22


class SceneSplit:
    """One group of generated scenes.

    Parameters
    ----------
    name : str
        Key in the counts and the summary.
    code : int
        Mixed into each scene's random seed, so splits never share random streams.
    pool : str
        Key of ``sources.PATCH_POOLS`` the scenes draw LFW crops from.
    image_dir : str
        Directory under the output root, ``/``-separated.
    prefix : str
        Image id prefix; ids are ``prefix_NNNNN``.
    image_set : str or None
        Name of the ``ImageSets/Main/*.txt`` list for annotated splits; None for negatives
        (no faces, no annotation file).
    """

    def __init__(self, name, code, pool, image_dir, prefix, image_set):
        self.name = name
        self.code = code
        self.pool = pool
        self.image_dir = image_dir
        self.prefix = prefix
        self.image_set = image_set

    @property
    def has_faces(self):
        return self.image_set is not None


SPLITS = (
    SceneSplit('train', 0, 'train', 'JPEGImages', 'train', 'train'),
    SceneSplit('val', 1, 'test', 'JPEGImages', 'val', 'val'),
    SceneSplit('negatives_pool', 2, 'train', 'negatives/pool', 'negpool', None),
    SceneSplit('negatives_test', 3, 'test', 'negatives/test', 'negtest', None),
)


def _scene_rng(seed, split, index):
    # Each scene has its own stream: changing one split's count leaves every other scene as is.
    return np.random.default_rng([seed, split.code, index])


def _encode_jpeg(image, where):
    ok, buffer = cv2.imencode('.jpg', image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise RuntimeError('{}: OpenCV failed to encode the JPEG'.format(where))
    return buffer.tobytes()


def _check_parameters(seed, counts, max_faces, max_distractors_positive,
                      max_distractors_negative, hard_fraction):
    if int(seed) != seed or seed < 0:
        raise InputError('seed must be a non-negative integer, got {!r}'.format(seed),
                         param='seed')
    for split, count in counts.items():
        name = 'n_' + split
        if int(count) != count or count < 0:
            raise InputError('{} must be a non-negative integer, got {!r}'.format(name, count),
                             param=name)
    if max_faces < 1:
        raise InputError('max_faces must be at least 1, got {!r}'.format(max_faces),
                         param='max_faces')
    for name, value in (('max_distractors_positive', max_distractors_positive),
                        ('max_distractors_negative', max_distractors_negative)):
        if value < 0:
            raise InputError('{} must be >= 0, got {!r}'.format(name, value), param=name)
    if not 0.0 <= hard_fraction <= 1.0:
        raise InputError('hard_fraction must be in [0, 1], got {!r}'.format(hard_fraction),
                         param='hard_fraction')


def recorded_parameters(counts=None, max_faces=DEFAULT_MAX_FACES,
                        max_distractors_positive=DEFAULT_MAX_DISTRACTORS_POSITIVE,
                        max_distractors_negative=DEFAULT_MAX_DISTRACTORS_NEGATIVE,
                        hard_fraction=DEFAULT_HARD_FRACTION):
    """The ``parameters`` a data set records (marker, ``demo_meta.json``, README); without
    arguments those of the default data set."""
    counts = DEFAULT_COUNTS if counts is None else counts
    return {'counts': {k: int(v) for k, v in counts.items()}, 'max_faces': int(max_faces),
            'max_distractors_positive': int(max_distractors_positive),
            'max_distractors_negative': int(max_distractors_negative),
            'hard_fraction': float(hard_fraction)}


def is_default_dataset(out_dir, seed=0):
    """True if ``out_dir`` is a finished data set of this generator's format built with the
    default parameters and ``seed`` (what ``gluoncv-hard-demo`` needs to reuse it)."""
    marker = staging.read_marker(out_dir) if os.path.isdir(out_dir) else None
    return bool(marker) and marker.get('format_version') == FORMAT_VERSION and \
        marker.get('seed') == seed and marker.get('parameters') == recorded_parameters()


def _check_heldout(names):
    if isinstance(names, str):
        names = [names]
    names = tuple(sorted(set(names)))
    unknown = [n for n in names if n not in sources.BACKGROUND_NAMES]
    if unknown:
        raise InputError('unknown background(s) {}; choose from {}'.format(
            ', '.join(unknown), ', '.join(sources.BACKGROUND_NAMES)), param='heldout_backgrounds')
    if names and len(names) == len(sources.BACKGROUND_NAMES):
        raise InputError('holding out every background leaves none for the scenes with faces',
                         param='heldout_backgrounds')
    return names


def _readme(seed, parameters, summary):
    counts = summary['images']
    by_reason = ', '.join('{} {}'.format(reason, count)
                          for reason, count in sorted(summary['hard_by_reason'].items()))
    return '\n'.join([
        'gluoncv-hard demo face-detection data set',
        '=========================================',
        '',
        'Generated by `gluoncv-hard-make-demo --seed {}` ({}, format version {}).'.format(
            seed, GENERATOR, FORMAT_VERSION),
        'Rebuilding with the same seed and parameters gives byte-identical files.',
        '',
        'Content: real 25x25 crops from scikit-image\'s LFW subset (skimage.data.lfw_subset:',
        'faces = indices 0-99, non-faces = 100-199) pasted on crops of scikit-image\'s bundled',
        'photos/textures ({}).'.format(', '.join(sources.BACKGROUND_NAMES)),
        'Scenes are grayscale replicated to 3 channels (with an optional global tint), so colour',
        'does not reveal pasted patches; non-faces are pasted the same way as faces, unlabelled.',
        '',
        'Identity split by LFW index: train scenes and negatives/pool use faces 0-69 and',
        'non-faces 100-169; val scenes and negatives/test use faces 70-99 and non-faces 170-199.',
        '',
        'Counts:',
        '  train scenes          {:5d}  (ImageSets/Main/train.txt)'.format(counts['train']),
        '  val scenes            {:5d}  (ImageSets/Main/val.txt)'.format(counts['val']),
        '  negatives/pool        {:5d}  (no faces; train non-face pool)'.format(
            counts['negatives_pool']),
        '  negatives/test        {:5d}  (no faces; test non-face pool)'.format(
            counts['negatives_test']),
        '  labelled faces        {:5d}  of which difficult (hard) {}: {}'.format(
            summary['faces'], summary['hard_faces'], by_reason or 'none'),
        '  pasted non-faces      {:5d}  (unlabelled)'.format(summary['distractors']),
        '',
        'Hard by construction (difficult=1): tiny ({}-{} px), blur (sigma {:.0f}-{:.0f}% of size),'
        .format(*render.TINY_SIZE, *(100 * s for s in render.BLUR_SIGMA_PER_PIXEL)),
        'low_contrast (gain {}-{} instead of {}-{}, background mean), truncated ({:.0f}-{:.0f}% '
        'visible).'.format(*render.LOW_CONTRAST_GAIN, *render.NORMAL_GAIN,
                           *(100 * v for v in render.TRUNCATED_VISIBLE)),
        'The reason of every box is in demo_meta.json (faces[].style).',
        '',
        'Boxes: VOC 1-based, value = 0-based pixel index + 1 for xmin, ymin, xmax, ymax',
        '(xmax/ymax = last pixel inside the box), clipped to the image.',
        '',
        'Parameters: {}'.format(json.dumps(parameters, sort_keys=True)),
        '',
    ])


def _summarize(records, out_dir, seed):
    faces = [face for record in records for face in record['faces']]
    hard = [face for face in faces if face['difficult']]
    return {
        'out_dir': out_dir,
        'seed': seed,
        'images': {split.name: sum(r['split'] == split.name for r in records) for split in SPLITS},
        'faces': len(faces),
        'hard_faces': len(hard),
        'hard_by_reason': dict(sorted(Counter(face['style'] for face in hard).items())),
        'truncated_faces': sum(face['truncated'] for face in faces),
        'distractors': sum(len(record['distractors']) for record in records),
        'scenes_with_only_hard_faces': sum(
            bool(r['faces']) and all(face['difficult'] for face in r['faces']) for r in records),
    }


def generate_demo_dataset(out_dir, seed=0, n_train=DEFAULT_COUNTS['train'],
                          n_val=DEFAULT_COUNTS['val'],
                          n_negatives_pool=DEFAULT_COUNTS['negatives_pool'],
                          n_negatives_test=DEFAULT_COUNTS['negatives_test'],
                          max_faces=DEFAULT_MAX_FACES,
                          max_distractors_positive=DEFAULT_MAX_DISTRACTORS_POSITIVE,
                          max_distractors_negative=DEFAULT_MAX_DISTRACTORS_NEGATIVE,
                          hard_fraction=DEFAULT_HARD_FRACTION, heldout_backgrounds=(),
                          force=False, progress=True):
    """Build the demo data set in ``out_dir``.

    Parameters
    ----------
    out_dir : str
        Output directory. It may be absent, empty or a previous finished demo data set (which is
        replaced). Anything else is refused unless ``force``.
    seed : int
        Same seed and parameters give byte-identical output.
    n_train, n_val : int
        Scenes with faces (1 to ``max_faces`` each) in ``ImageSets/Main/train.txt``/``val.txt``.
    n_negatives_pool, n_negatives_test : int
        Face-free scenes in ``negatives/pool`` (train non-face pool) and ``negatives/test``
        (test non-face pool).
    max_faces : int
        Faces per positive scene are drawn uniformly from 1..max_faces.
    max_distractors_positive, max_distractors_negative : int
        Unlabelled non-face patches per scene are drawn uniformly from 0..max.
    hard_fraction : float
        Probability that a pasted patch gets a hard style (tiny, blur, low_contrast, truncated).
    heldout_backgrounds : sequence of str
        Background names (``sources.BACKGROUND_NAMES``) kept out of the train and val scenes:
        the negative scenes (``negatives/pool`` and ``negatives/test``) are cut from these
        only, so the detector meets them first in the pool it mines and in the held-out
        false-detection test (the mining scenario of ``bench/accuracy.py``). Empty (default):
        every split uses every background.
    force : bool
        Replace a non-empty ``out_dir`` that is not a finished demo data set.
    progress : bool
        Show a progress bar (``utils.progress``: lines in a log file).

    Returns
    -------
    dict
        ``out_dir``, ``seed``, ``images`` (count per split), ``faces``, ``hard_faces``,
        ``hard_by_reason``, ``truncated_faces``, ``distractors``,
        ``scenes_with_only_hard_faces``, ``seconds`` (wall time).

    Raises
    ------
    OutputExistsError
        (a ``FileExistsError``) If ``out_dir`` is a file or an unrelated non-empty directory and
        ``force`` is False.
    InputError
        For a negative seed or count, or a ``hard_fraction`` outside [0, 1] (``param`` names
        the parameter).
    """
    start = time.perf_counter()
    counts = {'train': n_train, 'val': n_val, 'negatives_pool': n_negatives_pool,
              'negatives_test': n_negatives_test}
    _check_parameters(seed, counts, max_faces, max_distractors_positive, max_distractors_negative,
                      hard_fraction)
    heldout = _check_heldout(heldout_backgrounds)
    seed = int(seed)
    parameters = recorded_parameters(counts, max_faces, max_distractors_positive,
                                     max_distractors_negative, hard_fraction)
    if heldout:
        # Only when set: the parameters (and README) of default data sets stay as they were.
        parameters['heldout_backgrounds'] = list(heldout)
    patches = sources.load_lfw_patches()
    backgrounds = sources.load_backgrounds()
    scene_backgrounds = {
        True: {k: v for k, v in backgrounds.items() if k not in heldout},
        False: {k: v for k, v in backgrounds.items() if k in heldout} if heldout else backgrounds,
    }
    out_dir = os.path.abspath(out_dir)

    records = []
    image_sets = {}
    with staging.StagedDirectory(out_dir, force=force) as stage:
        root = stage.path
        for sub in ('JPEGImages', 'Annotations', 'ImageSets/Main', 'negatives/pool',
                    'negatives/test'):
            os.makedirs(os.path.join(root, sub))
        bar = progress_bar(enabled=bool(progress), total=sum(counts.values()),
                           desc='demo scenes', unit='img')
        for split in SPLITS:
            pool = sources.PATCH_POOLS[split.pool]
            max_distractors = (max_distractors_positive if split.has_faces
                               else max_distractors_negative)
            for index in range(counts[split.name]):
                rng = _scene_rng(seed, split, index)
                n_faces = int(rng.integers(1, max_faces + 1)) if split.has_faces else 0
                n_distractors = int(rng.integers(0, max_distractors + 1))
                image, record = render.compose_scene(
                    rng, scene_backgrounds[split.has_faces], patches, pool.faces, pool.nonfaces,
                    n_faces, n_distractors, hard_fraction)
                image_id = '{}_{:05d}'.format(split.prefix, index)
                image_file = '{}/{}.jpg'.format(split.image_dir, image_id)
                staging.write_bytes_atomic(os.path.join(root, image_file),
                                           _encode_jpeg(image, image_file))
                annotation_file = None
                if split.has_faces:
                    annotation_file = 'Annotations/{}.xml'.format(image_id)
                    objects = [dict(face, name=CLASS_NAME) for face in record['faces']]
                    staging.write_text_atomic(
                        os.path.join(root, annotation_file),
                        voc_xml.annotation_xml(image_id + '.jpg', record['width'],
                                               record['height'], objects))
                    image_sets.setdefault(split.image_set, []).append(image_id)
                record = dict(record, id=image_id, split=split.name, pool=split.pool,
                              image=image_file, annotation=annotation_file)
                records.append(record)
                bar.update(1)
        bar.close()

        for split in SPLITS:
            if split.has_faces:
                ids = image_sets.get(split.image_set, [])
                staging.write_text_atomic(
                    os.path.join(root, 'ImageSets', 'Main', split.image_set + '.txt'),
                    ''.join(i + '\n' for i in ids))
        staging.write_text_atomic(os.path.join(root, 'classes.txt'), CLASS_NAME + '\n')
        meta = {
            'generator': GENERATOR, 'format_version': FORMAT_VERSION, 'seed': seed,
            'parameters': parameters, 'class_name': CLASS_NAME,
            'coordinates': '0-based inclusive pixel indices; VOC XML values are these + 1',
            'hard_reasons': list(render.HARD_REASONS),
            'backgrounds': list(sources.BACKGROUND_NAMES),
            'pools': {name: {'faces': list(pool.faces), 'nonfaces': list(pool.nonfaces)}
                      for name, pool in sorted(sources.PATCH_POOLS.items())},
            'images': records,
        }
        staging.write_text_atomic(os.path.join(root, META_FILE),
                                  json.dumps(meta, indent=1, sort_keys=True) + '\n')
        summary = _summarize(records, out_dir, seed)
        staging.write_text_atomic(os.path.join(root, 'README.txt'),
                                  _readme(seed, parameters, summary))
        stage.finish({'generator': GENERATOR, 'format_version': FORMAT_VERSION, 'seed': seed,
                      'parameters': parameters})
    summary['seconds'] = round(time.perf_counter() - start, 3)
    return summary


def load_meta(out_dir):
    """Read ``demo_meta.json`` of a finished demo data set.

    Raises
    ------
    InputNotFoundError
        (a ``FileNotFoundError``) If ``out_dir`` is not a finished demo data set.
    """
    if not staging.is_complete_output(out_dir):
        raise InputNotFoundError(
            '{} is not a finished demo data set (no {} marker); build it with '
            'generate_demo_dataset({!r}) or `gluoncv-hard-make-demo --out {}`'.format(
                out_dir, staging.COMPLETION_MARKER, out_dir, out_dir), param='out_dir')
    with open(os.path.join(out_dir, META_FILE), encoding='utf-8') as f:
        return json.load(f)
