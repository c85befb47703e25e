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


def _is_id(value):
    """COCO ids are integers; strings are accepted too (some exporters write them)."""
    return (isinstance(value, numbers.Integral) and not isinstance(value, bool)) or \
        isinstance(value, str)


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
    except UnicodeDecodeError as e:
        log.error(path, 'not UTF-8 text (byte {}): not a JSON file'.format(e.start),
                  'pass the instances_*.json annotation file')
    except RecursionError:
        log.error(path, 'JSON nested too deeply to be a COCO file',
                  'pass the instances_*.json annotation file')
    return None


def _hard_flag(annotation, where, log):
    """1 if any ``HARD_ATTRIBUTES`` is 1, else 0; a value other than 0/1 is reported."""
    flag = 0
    for attribute in HARD_ATTRIBUTES:
        value = annotation.get(attribute, 0)
        if _is_number(value) and value in (0, 1):
            flag = max(flag, int(value))
        else:
            log.error(where, '"{}" is {!r}; it must be 0 or 1'.format(attribute, value),
                      'fix the annotation')
            return None
    return flag


def _list_of(data, key, path, log):
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        log.error(path, '"{}" is a {}, not a list'.format(key, type(value).__name__),
                  'fix the file: COCO holds lists of images, annotations and categories')
        return []
    return value


def _short(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + '...'


def coco_source(annotation_path, image_dir, log):
    """The items of a COCO annotation file.

    Parameters
    ----------
    annotation_path : str
        COCO JSON file.
    image_dir : str
        Folder that ``images[].file_name`` is relative to.
    log : ProblemLog
        Malformed JSON, missing keys, ids that are not integers (or strings), references to
        unknown images/categories, bad boxes and duplicate ids (images, categories, annotations)
        are reported here (with the annotation or image id).

    Returns
    -------
    Source
        ``kind='coco'``, items in ``images`` order, ``declared_classes`` = category names.
    """
    data = _load_json(annotation_path, log)
    if data is None:
        return Source('coco', [], input_files=(annotation_path,))
    if not isinstance(data, dict) or not isinstance(data.get('images'), list):
        log.error(annotation_path, 'not a COCO detection file (no "images" list)',
                  'pass the instances_*.json annotation file')
        return Source('coco', [], input_files=(annotation_path,))

    categories = {}
    for position, category in enumerate(_list_of(data, 'categories', annotation_path, log)):
        where = '{} categories[{}]'.format(annotation_path, position)
        if not isinstance(category, dict) or 'id' not in category or 'name' not in category:
            log.error(where, 'category needs "id" and "name"', 'fix the category list')
        elif not _is_id(category['id']):
            log.error(where, 'category id {} is not an integer'.format(_short(category['id'])),
                      'fix the category list')
        elif not isinstance(category['name'], str) or not category['name'].strip():
            log.error(where, 'category name {} is not a non-empty string'.format(
                _short(category['name'])), 'fix the category list')
        elif category['id'] in categories:
            log.error(where, 'category id {} is used twice'.format(category['id']),
                      'give every category a unique id')
        elif category['name'].strip() in categories.values():
            log.error(where, 'category name {!r} is used twice'.format(category['name']),
                      'give every category a unique name')
        else:
            categories[category['id']] = category['name'].strip()

    images = {}
    for position, image in enumerate(data['images']):
        where = '{} images[{}]'.format(annotation_path, position)
        if not isinstance(image, dict) or 'id' not in image or not image.get('file_name'):
            log.error(where, 'image needs "id" and "file_name"', 'fix the image list')
            continue
        if not _is_id(image['id']):
            log.error(where, 'image id {} is not an integer'.format(_short(image['id'])),
                      'fix the image list')
            continue
        if not isinstance(image['file_name'], str):
            log.error(where, 'file_name {} is not a string'.format(_short(image['file_name'])),
                      'fix the image list: file_name is the image path below the image folder')
            continue
        if image['id'] in images:
            log.error('{} (image id {})'.format(where, image['id']), 'duplicate image id',
                      'give every image a unique id')
            continue
        width, height = image.get('width'), image.get('height')
        if not (_is_number(width) and _is_number(height) and width > 0 and height > 0):
            width = height = None
        elif not (float(width).is_integer() and float(height).is_integer()):
            log.error(where, 'width x height = {} x {}; an image size is whole pixels'.format(
                width, height), 'fix the image list')
            continue
        images[image['id']] = (image['file_name'], width and int(width),
                               height and int(height), [])

    annotation_ids = {}
    for position, annotation in enumerate(_list_of(data, 'annotations', annotation_path, log)):
        where = '{} annotations[{}]'.format(annotation_path, position)
        if not isinstance(annotation, dict):
            log.error(where, 'annotation is not an object', 'fix the annotation list')
            continue
        if 'id' in annotation:
            annotation_id = annotation['id']
            if not _is_id(annotation_id):
                log.error(where, 'annotation id {} is not an integer'.format(
                    _short(annotation_id)), 'fix the annotation list')
                continue
            where += ' (id {})'.format(annotation_id)
            if annotation_id in annotation_ids:
                log.error(where, 'annotation id {} is used twice (first at annotations[{}])'
                          .format(annotation_id, annotation_ids[annotation_id]),
                          'remove the duplicate annotation, or give it a unique id')
                continue
            annotation_ids[annotation_id] = position
        image_id, category_id = annotation.get('image_id'), annotation.get('category_id')
        image = images.get(image_id) if _is_id(image_id) else None
        if image is None:
            log.error(where, 'refers to unknown image_id {}'.format(_short(image_id)),
                      'add the image to "images" or remove the annotation')
            continue
        name = categories.get(category_id) if _is_id(category_id) else None
        if name is None:
            log.error(where, 'refers to unknown category_id {}'.format(_short(category_id)),
                      'add the category or fix the annotation')
            continue
        box = annotation.get('bbox')
        if not (isinstance(box, list) and len(box) == 4 and all(_is_number(v) for v in box)):
            log.error(where, 'bbox is {}; it must be [x, y, width, height]'.format(_short(box)),
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
    return Source('coco', items, declared_classes=sorted(categories.values()),
                  input_files=(annotation_path,))
