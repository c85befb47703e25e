"""Small real data sets written by the tests themselves: JPEG/PNG images, VOC, COCO and CSV."""
import contextlib
import json
import os

import cv2
import numpy as np


def write_image(path, width, height, seed=0):
    """Write a real image (format from the extension) of ``width`` x ``height``; return path."""
    os.makedirs(os.path.dirname(path) or '.', exist_ok=True)
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    assert cv2.imwrite(str(path), image), path
    return str(path)


def voc_xml(objects, width=None, height=None):
    """VOC annotation text. ``objects``: dicts with ``name``, ``box`` (1-based xmin, ymin,
    xmax, ymax as written in the XML) and optional ``difficult``/``truncated`` (omitted if None).
    """
    parts = ['<annotation>', '<filename>x.jpg</filename>']
    if width is not None:
        parts.append('<size><width>{}</width><height>{}</height><depth>3</depth></size>'
                     .format(width, height))
    for obj in objects:
        parts.append('<object><name>{}</name>'.format(obj['name']))
        for tag in ('difficult', 'truncated'):
            if obj.get(tag) is not None:
                parts.append('<{0}>{1}</{0}>'.format(tag, obj[tag]))
        parts.append('<bndbox>' + ''.join('<{0}>{1}</{0}>'.format(tag, value) for tag, value in
                                          zip(('xmin', 'ymin', 'xmax', 'ymax'), obj['box']))
                     + '</bndbox></object>')
    parts.append('</annotation>')
    return '\n'.join(parts)


def make_voc(root, images, sets=None, with_size=True, extension='.jpg'):
    """Write a VOC-layout folder.

    ``images``: dict image id -> (width, height, objects) with objects as for ``voc_xml``.
    ``sets``: dict set name -> list of ids (default ``{'train': all ids}``). Returns ``root``.
    """
    root = str(root)
    for folder in ('Annotations', 'JPEGImages', os.path.join('ImageSets', 'Main')):
        os.makedirs(os.path.join(root, folder), exist_ok=True)
    for seed, (image_id, (width, height, objects)) in enumerate(images.items()):
        write_image(os.path.join(root, 'JPEGImages', image_id + extension), width, height, seed)
        with open(os.path.join(root, 'Annotations', image_id + '.xml'), 'w') as f:
            f.write(voc_xml(objects, width if with_size else None, height))
    for name, ids in (sets or {'train': list(images)}).items():
        with open(os.path.join(root, 'ImageSets', 'Main', name + '.txt'), 'w') as f:
            f.write(''.join(i + '\n' for i in ids))
    return root


def small_voc(root):
    """A 3-image VOC set: ids a, b (difficult dog), c; classes cat, dog."""
    return make_voc(root, {
        'a': (80, 60, [{'name': 'dog', 'box': (11, 21, 41, 51), 'difficult': 0}]),
        'b': (64, 48, [{'name': 'dog', 'box': (1, 1, 31, 21), 'difficult': 1},
                       {'name': 'cat', 'box': (33, 11, 64, 48)}]),
        'c': (50, 70, [{'name': 'cat', 'box': (5, 5, 25, 45), 'truncated': 1}]),
    }, sets={'train': ['a', 'b'], 'val': ['c']})


def write_coco(path, images, annotations, categories):
    """Write a COCO JSON file from plain lists; returns path."""
    with open(path, 'w') as f:
        json.dump({'images': images, 'annotations': annotations, 'categories': categories}, f)
    return str(path)


def write_text(path, text):
    os.makedirs(os.path.dirname(str(path)) or '.', exist_ok=True)
    with open(path, 'w') as f:
        f.write(text)
    return str(path)


def small_demo(tmp_path_factory, n_negatives_pool=3):
    """A tiny demo data set (seed 1: 6 train, 3 val, ``n_negatives_pool`` pool and 3 held-out
    negative scenes) in a fresh folder; returns its path."""
    from gluoncv_hard.demo.generate import generate_demo_dataset
    root = str(tmp_path_factory.mktemp('demo') / 'data')
    generate_demo_dataset(root, seed=1, n_train=6, n_val=3, n_negatives_pool=n_negatives_pool,
                          n_negatives_test=3, progress=False)
    return root


@contextlib.contextmanager
def file_size_limit(limit):
    """Within the block, files of this process may not grow past ``limit`` bytes: a real write
    error, as on a full disk, without root or a mount (RLIMIT_FSIZE; Python ignores SIGXFSZ, so
    the write that crosses the limit fails with EFBIG, after a short write)."""
    import resource
    import signal
    assert signal.getsignal(signal.SIGXFSZ) == signal.SIG_IGN
    old = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, old[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old)
