"""COCO-style JSON annotations (``images``, ``annotations``, ``categories``).

``bbox`` is ``[x, y, width, height]`` in pixels; a box is hard when ``iscrowd`` or the
non-standard ``ignore`` attribute (written by some exporters, e.g. for CityPersons) is 1.
Images that no annotation refers to are negatives (zero boxes).
"""
import json
import numbers
import os

from gluoncv_hard.data.items import Source, SourceItem, SourceObject

__all__ = ['coco_source']

# Annotation attributes that mark a box as hard; any one set to 1 makes it hard.
HARD_ATTRIBUTES = ('iscrowd', 'ignore')


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _load_json(path, log):
    try:
        with open(path, encoding='utf-8') as f:
            return json.load(f)
    except OSError as e:
        log.error(path, 'cannot read the annotation file ({})'.format(e.strerror),
                  'check the annotation file path')
    except json.JSONDecodeError as e:
        log.error('{}:{}:{}'.format(path, e.lineno, e.colno), 'malformed JSON ({})'.format(e.msg),
                  'fix the file (e.g. check it with python -m json.tool)')
    return None


def _hard_flag(annotation, where, log):
    """1 if any ``HARD_ATTRIBUTES`` is 1, else 0; a value other than 0/1 is reported."""
    flag = 0
    for attribute in HARD_ATTRIBUTES:
        value = annotation.get(attribute, 0)
        if value in (0, 1) and not isinstance(value, str):
            flag = max(flag, int(value))
        else:
            log.error(where, '"{}" is {!r}; it must be 0 or 1'.format(attribute, value),
                      'fix the annotation')
            return None
    return flag


def coco_source(annotation_path, image_dir, log):
    """The items of a COCO annotation file.

    Parameters
    ----------
    annotation_path : str
        COCO JSON file.
    image_dir : str
        Folder that ``images[].file_name`` is relative to.
    log : ProblemLog
        Malformed JSON, missing keys, references to unknown images/categories, bad boxes and
        duplicate ids are reported here (with the annotation or image id).

    Returns
    -------
    Source
        ``kind='coco'``, items in ``images`` order, ``declared_classes`` = category names.
    """
    data = _load_json(annotation_path, log)
    if data is None:
        return Source('coco', [])
    if not isinstance(data, dict) or not isinstance(data.get('images'), list):
        log.error(annotation_path, 'not a COCO detection file (no "images" list)',
                  'pass the instances_*.json annotation file')
        return Source('coco', [])

    categories = {}
    for position, category in enumerate(data.get('categories') or []):
        where = '{} categories[{}]'.format(annotation_path, position)
        if not isinstance(category, dict) or 'id' not in category or 'name' not in category:
            log.error(where, 'category needs "id" and "name"', 'fix the category list')
        elif category['id'] in categories:
            log.error(where, 'category id {} is used twice'.format(category['id']),
                      'give every category a unique id')
        elif str(category['name']).strip() in categories.values():
            log.error(where, 'category name {!r} is used twice'.format(category['name']),
                      'give every category a unique name')
        else:
            categories[category['id']] = str(category['name']).strip()

    images = {}
    for position, image in enumerate(data['images']):
        where = '{} images[{}]'.format(annotation_path, position)
        if not isinstance(image, dict) or 'id' not in image or not image.get('file_name'):
            log.error(where, 'image needs "id" and "file_name"', 'fix the image list')
            continue
        if image['id'] in images:
            log.error('{} (image id {})'.format(where, image['id']), 'duplicate image id',
                      'give every image a unique id')
            continue
        width, height = image.get('width'), image.get('height')
        if not (_is_number(width) and _is_number(height) and width > 0 and height > 0):
            width = height = None
        images[image['id']] = (image['file_name'], width, height, [])

    for position, annotation in enumerate(data.get('annotations') or []):
        where = '{} annotations[{}]'.format(annotation_path, position)
        if isinstance(annotation, dict) and 'id' in annotation:
            where += ' (id {})'.format(annotation['id'])
        if not isinstance(annotation, dict):
            log.error(where, 'annotation is not an object', 'fix the annotation list')
            continue
        image = images.get(annotation.get('image_id'))
        if image is None:
            log.error(where, 'refers to unknown image_id {!r}'.format(annotation.get('image_id')),
                      'add the image to "images" or remove the annotation')
            continue
        name = categories.get(annotation.get('category_id'))
        if name is None:
            log.error(where, 'refers to unknown category_id {!r}'.format(
                annotation.get('category_id')), 'add the category or fix the annotation')
            continue
        box = annotation.get('bbox')
        if not (isinstance(box, list) and len(box) == 4 and all(_is_number(v) for v in box)):
            log.error(where, 'bbox is {!r}; it must be [x, y, width, height]'.format(box),
                      'fix the annotation')
            continue
        hard = _hard_flag(annotation, where, log)
        if hard is None:
            continue
        x, y, box_width, box_height = (float(v) for v in box)
        image[3].append(SourceObject(name, x, y, x + box_width, y + box_height, hard, False,
                                     '{} ({} in {})'.format(where, name, image[0])))

    items = [SourceItem(file_name, os.path.join(image_dir, file_name),
                        '{} image {}'.format(annotation_path, image_id), width, height,
                        tuple(objects))
             for image_id, (file_name, width, height, objects) in images.items()]
    return Source('coco', items, declared_classes=sorted(categories.values()))
