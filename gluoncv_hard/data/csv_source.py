"""CSV exports: one row per box, header ``image,xmin,ymin,xmax,ymax,class[,hard]``.

Coordinates are 0-based pixels. ``image`` is a path relative to the image folder (or absolute).
A row whose box and class fields are all empty lists an image without objects (a negative).
Rows of one image need not be adjacent; images keep the order of their first row.
"""
import csv
import os

from gluoncv_hard.data.items import Source, SourceItem, SourceObject

__all__ = ['CSV_COLUMNS', 'CSV_OPTIONAL_COLUMNS', 'csv_source']

CSV_COLUMNS = ('image', 'xmin', 'ymin', 'xmax', 'ymax', 'class')
CSV_OPTIONAL_COLUMNS = ('hard',)
_BOX_COLUMNS = ('xmin', 'ymin', 'xmax', 'ymax')


def _parse_row(row, where, log):
    """``SourceObject`` for a box row, ``None`` for a negative row, ``False`` if malformed."""
    fields = [row[c] for c in _BOX_COLUMNS + ('class',)]
    hard_text = row.get('hard') or ''
    if not any(fields) and not hard_text:
        return None
    if not all(fields):
        missing = [c for c, v in zip(_BOX_COLUMNS + ('class',), fields) if not v]
        log.error(where, 'empty {}'.format(', '.join(missing)),
                  'fill every box field, or leave xmin..class all empty for an image without '
                  'objects')
        return False
    try:
        coordinates = [float(v) for v in fields[:4]]
    except ValueError:
        log.error(where, 'box {} is not numeric'.format(fields[:4]), 'coordinates are pixels')
        return False
    try:
        hard = float(hard_text) if hard_text else 0
    except ValueError:
        log.error(where, 'hard is {!r}; it must be 0 or 1'.format(hard_text), 'fix the row')
        return False
    return SourceObject(fields[4], *coordinates, hard=hard, truncated=False,
                        where='{} ({} in {})'.format(where, fields[4], row['image']))


def csv_source(csv_path, image_dir, log):
    """The items of a CSV export.

    Parameters
    ----------
    csv_path : str
    image_dir : str
        Folder that the ``image`` column is relative to.
    log : ProblemLog
        A wrong header and malformed rows are reported with file and line number.

    Returns
    -------
    Source
        ``kind='csv'``; image ids are the ``image`` column values.
    """
    objects_of_image, first_line_of_image, negative_line, line_of_row = {}, {}, {}, {}
    try:
        with open(csv_path, newline='', encoding='utf-8-sig') as f:
            reader = csv.DictReader(f, skipinitialspace=True)
            header = [name.strip().lower() for name in reader.fieldnames or []]
            missing = [c for c in CSV_COLUMNS if c not in header]
            unknown = [c for c in header if c not in CSV_COLUMNS + CSV_OPTIONAL_COLUMNS]
            twice = sorted({c for c in header if header.count(c) > 1})
            if missing or unknown or twice:
                log.error('{}:1'.format(csv_path), 'header is {}; {}'.format(
                    ','.join(header) or '(empty)',
                    'missing column(s) ' + ', '.join(missing) if missing
                    else 'unknown column(s) ' + ', '.join(unknown) if unknown
                    else 'column(s) named twice: ' + ', '.join(twice)),
                    'the header must be ' + ','.join(CSV_COLUMNS) + '[,hard]')
                return Source('csv', [], input_files=(csv_path,))
            reader.fieldnames = header
            for row in reader:
                where = '{}:{}'.format(csv_path, reader.line_num)
                if None in row or any(row[c] is None for c in header):
                    log.error(where, 'row does not have the {} fields of the header'.format(
                        len(header)), 'fix the row (quote fields that contain commas)')
                    continue
                fields = {key: value.strip() for key, value in row.items()}
                image = fields['image']
                if not image:
                    log.error(where, 'empty image column', 'name the image file')
                    continue
                parsed = _parse_row(fields, where, log)
                if parsed is False:
                    continue
                key = tuple(fields.get(c, '') for c in header)
                if key in line_of_row:
                    log.error(where, 'the row repeats line {}'.format(line_of_row[key]),
                              'remove the duplicate row')
                    continue
                line_of_row[key] = reader.line_num
                objects = objects_of_image.setdefault(image, [])
                first_line_of_image.setdefault(image, where)
                if parsed is None:
                    negative_line.setdefault(image, reader.line_num)
                else:
                    objects.append(parsed)
    except OSError as e:
        log.error(csv_path, 'cannot read the CSV file ({})'.format(e.strerror),
                  'check the CSV file path')
        return Source('csv', [], input_files=(csv_path,))
    except (csv.Error, UnicodeDecodeError) as e:
        log.error(csv_path, 'malformed CSV ({})'.format(e), 'save it as UTF-8 comma-separated')
        return Source('csv', [], input_files=(csv_path,))
    for image, line in negative_line.items():
        if objects_of_image[image]:
            log.error('{}:{}'.format(csv_path, line), 'image {} has this row without a box (an '
                      'image without objects) and {} box row(s)'.format(
                          image, len(objects_of_image[image])),
                      'remove the empty row, or the box rows if the image has no object')
    items = [SourceItem(image, os.path.join(image_dir, image), first_line_of_image[image],
                        None, None, tuple(objects))
             for image, objects in objects_of_image.items()]
    return Source('csv', items, input_files=(csv_path,))
