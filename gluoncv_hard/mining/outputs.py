"""The files a mining run writes, all or none: ``FILE.lst``, ``FILE.csv`` and ``FILE.png``.

- ``FILE.lst``: the selected images as zero-box records, paths relative to the file's folder
  (what the train script reads as extra negatives);
- ``FILE.csv``: one line per pool image, rank order (:func:`mining_csv_text`);
- ``FILE.png``: the contact sheet (:func:`gluoncv_hard.vis.mining_sheet.mining_sheet`).
"""
import csv
import io
import os

from gluoncv_hard import schema
from gluoncv_hard.data.imagesize import read_image_size
from gluoncv_hard.data.records import format_lst_line, read_lst, record_fields
from gluoncv_hard.errors import InputError
from gluoncv_hard.mining.ranking import DEFAULT_MIN_SCORE
from gluoncv_hard.utils.atomic import atomic_outputs
from gluoncv_hard.vis.draw import encode_png
from gluoncv_hard.vis.mining_sheet import DEFAULT_SHEET_SIZE, mining_sheet

__all__ = ['output_paths', 'mined_lst_lines', 'count_column', 'mining_csv_text',
           'write_mining_outputs']


def output_paths(out):
    """``(FILE.lst, FILE.csv, FILE.png)`` for the output ``out = FILE.lst``.

    Raises
    ------
    InputError (param ``out``)
        If the name does not end with ``.lst``.
    """
    if not out.endswith('.lst'):
        raise InputError('{}: the output must be a .lst file (training reads the mined '
                         'negatives from FILE.lst)'.format(out), param='out')
    base = out[:-len('.lst')]
    return out, base + '.csv', base + '.png'


def mined_lst_lines(rows, lst_dir, start_index=0):
    """``.lst`` lines (zero-box records) for the selected rows, paths relative to ``lst_dir``.

    The image size is read from each file's header (the reader checks it on decoding).
    """
    lines = []
    for row in rows:
        if not row.selected:
            continue
        width, height = read_image_size(row.image.path)
        try:
            relative = os.path.relpath(os.path.abspath(row.image.path), os.path.abspath(lst_dir))
        except ValueError:  # another drive (Windows): keep the absolute path
            relative = os.path.abspath(row.image.path)
        fields = record_fields(width, height, schema.empty_label())
        lines.append(format_lst_line(start_index + len(lines), relative.replace(os.sep, '/'),
                                     fields))
    return lines


def count_column(count_thresh):
    """CSV column name of the count: ``count_ge_0.5``."""
    return 'count_ge_{:g}'.format(count_thresh)


def mining_csv_text(rows, count_thresh):
    """CSV with one line per pool image, rank order: ``rank, image, path, max_score,
    count_ge_T, num_detections, excluded, selected`` (booleans as 0/1)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator='\n')
    writer.writerow(['rank', 'image', 'path', 'max_score', count_column(count_thresh),
                     'num_detections', 'excluded', 'selected'])
    for row in rows:
        writer.writerow([row.rank, row.image.image_id, row.image.path,
                         '{:.4f}'.format(row.image.max_score), row.count, len(row.image.scores),
                         int(row.excluded), int(row.selected)])
    return buffer.getvalue()


def _existing_lines(path):
    """Lines of an existing ``.lst`` (checked: zero-box records) and the next free index."""
    lines, next_index = [], 0
    for line_number, parsed in read_lst(path):
        if len(parsed.record.label):
            raise InputError('{}:{}: record has boxes; append adds to a .lst of negatives '
                             'only'.format(path, line_number), param='append')
        next_index = max(next_index, parsed.index + 1)
    with open(path, encoding='utf-8') as f:
        lines = [line if line.endswith('\n') else line + '\n' for line in f if line.strip()]
    return lines, next_index


def write_mining_outputs(out, rows, count_thresh, append=False,
                         sheet_size=DEFAULT_SHEET_SIZE, min_score=DEFAULT_MIN_SCORE,
                         rank_by='max_score'):
    """Write ``FILE.lst`` (selected images as zero-box records), ``FILE.csv`` (every pool
    image) and ``FILE.png`` (contact sheet), all or none (the ``.lst`` is replaced last).

    With ``append`` the records already in ``FILE.lst`` are kept and the new ones follow.
    Returns ``(lst, csv, png)`` paths.
    """
    lst_path, csv_path, png_path = output_paths(out)
    directory = os.path.dirname(os.path.abspath(lst_path))
    os.makedirs(directory, exist_ok=True)
    existing, start = ([], 0)
    if append and os.path.isfile(lst_path):
        existing, start = _existing_lines(lst_path)
    lines = existing + mined_lst_lines(rows, directory, start)
    # Everything is computed before the first file is written.
    png = encode_png(mining_sheet(rows, count_thresh, sheet_size, min_score, rank_by))
    with atomic_outputs(csv_path, png_path, lst_path) as (csv_tmp, png_tmp, lst_tmp):
        with open(csv_tmp, 'w', encoding='utf-8', newline='') as f:
            f.write(mining_csv_text(rows, count_thresh))
        with open(png_tmp, 'wb') as f:
            f.write(png)
        with open(lst_tmp, 'w', encoding='utf-8') as f:
            f.writelines(lines)
    return lst_path, csv_path, png_path
