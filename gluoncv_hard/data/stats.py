"""Counts of a detection data set: images, negatives, boxes and hard boxes per class, box sizes."""
import math
import os

import numpy as np

from gluoncv_hard import schema
from gluoncv_hard.data.records import checked_label, iter_rec_labels, label_to_pixels, read_lst

__all__ = ['SIZE_BIN_EDGES', 'compute_stats', 'stats_of_file', 'format_stats']

# Box size = sqrt(width * height) in pixels; bins [edge_i, edge_i+1).
SIZE_BIN_EDGES = (0, 16, 32, 64, 128, 256, 512, math.inf)


def _bin_name(low, high):
    return '>= {}'.format(low) if math.isinf(high) else '{}-{}'.format(low, high)


def compute_stats(labels, class_names=None):
    """Count a data set.

    Parameters
    ----------
    labels : iterable of (numpy.ndarray, bool)
        Per image its ``(N, 6)`` label and whether the coordinates are pixels (False when the
        record has no image size; such boxes are counted but not binned by size).
    class_names : sequence of str, optional
        Names for class ids; ids beyond it are named ``class <id>``.

    Returns
    -------
    dict
        ``images``, ``negatives`` (images without boxes), ``boxes``, ``hard_boxes``,
        ``classes`` (list of ``{id, name, images, boxes, hard_boxes, hard_fraction}`` by id) and
        ``box_sizes`` (``{bins: [{size, boxes, hard_boxes}], unknown}``; size in pixels).
    """
    class_names = list(class_names or [])
    images = negatives = 0
    per_class = {}
    bin_counts = np.zeros((len(SIZE_BIN_EDGES) - 1, 2), dtype=np.int64)
    unknown_size = 0
    for label, in_pixels in labels:
        images += 1
        if len(label) == 0:
            negatives += 1
            continue
        boxes, class_ids, hard = schema.split_label(label)
        for class_id in np.unique(class_ids).astype(int):
            entry = per_class.setdefault(int(class_id), [0, 0, 0])
            mask = class_ids == class_id
            entry[0] += 1
            entry[1] += int(mask.sum())
            entry[2] += int(hard[mask].sum())
        if not in_pixels:
            unknown_size += len(label)
            continue
        sizes = np.sqrt((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]))
        bins = np.searchsorted(SIZE_BIN_EDGES, sizes, side='right') - 1
        np.add.at(bin_counts, (bins, 0), 1)
        np.add.at(bin_counts, (bins[hard], 1), 1)
    classes = []
    for class_id in sorted(set(per_class) | set(range(len(class_names)))):
        count_images, boxes, hard_boxes = per_class.get(class_id, (0, 0, 0))
        name = class_names[class_id] if 0 <= class_id < len(class_names) else \
            'class {}'.format(class_id)
        classes.append({'id': class_id, 'name': name, 'images': count_images, 'boxes': boxes,
                        'hard_boxes': hard_boxes,
                        'hard_fraction': hard_boxes / boxes if boxes else 0.0})
    bins = [{'size': _bin_name(low, high), 'boxes': int(count), 'hard_boxes': int(hard_count)}
            for low, high, (count, hard_count) in zip(SIZE_BIN_EDGES[:-1], SIZE_BIN_EDGES[1:],
                                                      bin_counts)]
    return {'images': images, 'negatives': negatives,
            'boxes': sum(c['boxes'] for c in classes),
            'hard_boxes': sum(c['hard_boxes'] for c in classes),
            'classes': classes, 'box_sizes': {'bins': bins, 'unknown': unknown_size}}


def _labels_of_file(path):
    """Yield ``(label, in_pixels)`` per record of a ``.lst`` or ``.rec`` file (images not read)."""
    if os.path.splitext(path)[1].lower() == '.rec':
        parsed = (record for _, _, record in iter_rec_labels(path))
    else:
        parsed = (line.record for _, line in read_lst(path))
    for record in parsed:
        label = checked_label(record, path)
        if record.width:
            yield label_to_pixels(label, record.width, record.height), True
        else:
            yield label, False


def stats_of_file(path, class_names=None):
    """``compute_stats`` of a ``.lst`` or ``.rec`` file (normalized records, as written)."""
    return compute_stats(_labels_of_file(path), class_names)


def format_stats(stats):
    """The stats as text tables."""
    lines = ['images: {}   negatives (no box): {}   boxes: {}   hard boxes: {} ({:.1%})'.format(
        stats['images'], stats['negatives'], stats['boxes'], stats['hard_boxes'],
        stats['hard_boxes'] / stats['boxes'] if stats['boxes'] else 0.0), '']
    name_width = max([len('class')] + [len(c['name']) for c in stats['classes']])
    header = '{:>3}  {:<{w}}  {:>7}  {:>7}  {:>7}  {:>6}'.format(
        'id', 'class', 'images', 'boxes', 'hard', 'hard%', w=name_width)
    lines += [header, '-' * len(header)]
    for c in stats['classes']:
        lines.append('{:>3}  {:<{w}}  {:>7}  {:>7}  {:>7}  {:>6.1%}'.format(
            c['id'], c['name'], c['images'], c['boxes'], c['hard_boxes'], c['hard_fraction'],
            w=name_width))
    lines += ['', 'box size sqrt(w*h) in pixels:']
    header = '{:>10}  {:>7}  {:>7}'.format('size', 'boxes', 'hard')
    lines += [header, '-' * len(header)]
    for b in stats['box_sizes']['bins']:
        lines.append('{:>10}  {:>7}  {:>7}'.format(b['size'], b['boxes'], b['hard_boxes']))
    if stats['box_sizes']['unknown']:
        lines.append('{:>10}  {:>7}'.format('unknown', stats['box_sizes']['unknown']))
    return '\n'.join(lines)
