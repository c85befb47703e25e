"""Convert annotation sources into GluonCV's detection ``.lst`` (and ``.rec``/``.idx``).

``convert_to_lst`` validates everything first (``validation.validate_items``); if any error was
found it raises ``DataError`` listing all of them and writes nothing. Otherwise the outputs are
written to temporary files and renamed into place together, the ``.lst`` last.
"""
import os
from typing import NamedTuple

from tqdm import tqdm

from gluoncv_hard.data.classes import classes_path_for
from gluoncv_hard.data.problems import ProblemLog
from gluoncv_hard.data.records import (
    RecordFormatError,
    check_lst_path,
    format_lst_line,
    open_rec,
    pack_record,
    rec_index_path,
    record_fields,
)
from gluoncv_hard.data.stats import compute_stats, format_stats
from gluoncv_hard.data.validation import validate_items
from gluoncv_hard.errors import InputError
from gluoncv_hard.utils.atomic import atomic_outputs

__all__ = ['ConversionResult', 'convert_to_lst', 'default_image_root', 'format_summary']

# Re-encoding (``reencode=True``) writes JPEG at this quality.
REENCODE_JPEG_QUALITY = 95
# The last line of the DataError of a conversion.
NOTHING_WRITTEN = 'nothing was written; fix the errors above and run again'


class ConversionResult(NamedTuple):
    """What ``convert_to_lst`` wrote.

    Attributes
    ----------
    records : list of Record
        In ``.lst`` order (record index = position).
    class_names : list of str
    image_root : str
        Folder the ``.lst`` image paths are relative to: pass it as ``root`` to ``LstDetection``.
    outputs : dict
        ``'lst'``, ``'classes'`` and with ``rec=True`` ``'rec'``, ``'idx'`` -> path.
    clipped_boxes, dropped_boxes : int
    hard_boxes_by_reason : dict
    warnings : list of Problem
    """
    records: list
    class_names: list[str]
    image_root: str
    outputs: dict[str, str]
    clipped_boxes: int
    dropped_boxes: int
    hard_boxes_by_reason: dict[str, int]
    warnings: list


def default_image_root(image_paths):
    """The deepest folder containing every image: the default root for ``.lst`` paths."""
    return os.path.commonpath([os.path.dirname(os.path.abspath(p)) for p in image_paths])


def _image_bytes(path, reencode):
    if not reencode:
        with open(path, 'rb') as f:
            return f.read()
    import cv2
    image = cv2.imread(path, cv2.IMREAD_COLOR)
    if image is None:
        raise InputError('{}: OpenCV cannot decode the image to re-encode it; re-export the '
                         'image, or copy the file bytes as they are (reencode=False)'.format(path),
                         param='reencode')
    ok, encoded = cv2.imencode('.jpg', image, [cv2.IMWRITE_JPEG_QUALITY, REENCODE_JPEG_QUALITY])
    if not ok:
        raise ValueError('{}: JPEG encoding failed'.format(path))
    return encoded.tobytes()


def convert_to_lst(sources, out_path, class_names=None, image_root=None, clip=False,
                   hard_if_smaller=None, hard_if_truncated=False, rec=False, reencode=False,
                   log=None, progress=None):
    """Validate sources and write a detection ``.lst`` (and optionally ``.rec``/``.idx``).

    Parameters
    ----------
    sources : sequence of Source
        From ``voc_source``, ``coco_source``, ``csv_source``, ``negatives_source``; records
        keep this order.
    out_path : str
        The ``.lst`` file. The class list is written beside it (``out.classes.txt``) and with
        ``rec=True`` also ``out.rec`` and ``out.idx``.
    class_names : sequence of str, optional
        Fixed class list (unknown classes are errors); None infers a sorted list.
    image_root : str, optional
        Image paths in the ``.lst`` are relative to it; default ``default_image_root``.
    clip, hard_if_smaller, hard_if_truncated
        See ``validate_items``.
    rec : bool
        Also pack ``.rec``/``.idx``: image bytes copied from the files as they are.
    reencode : bool
        With ``rec``, decode and re-encode every image as JPEG instead of copying its bytes.
    log : ProblemLog, optional
        Source parsing problems already found; a new log if None.
    progress : bool, optional
        tqdm bars (None: only on a terminal).

    Returns
    -------
    ConversionResult

    Raises
    ------
    DataError
        If the sources or their validation produced any error; nothing is written then.
    InputError
        With ``reencode``, for an image OpenCV cannot decode; nothing is written then.
    """
    log = log or ProblemLog()
    result = validate_items(sources, log, class_names=class_names, clip=clip,
                            hard_if_smaller=hard_if_smaller, hard_if_truncated=hard_if_truncated,
                            progress=progress)
    if not result.records and not log.errors:
        log.error(out_path, 'no image to convert', 'check the input paths and image sets')
    log.raise_if_errors(NOTHING_WRITTEN)

    records = result.records
    image_root = os.path.abspath(image_root or default_image_root(r.image_path for r in records))
    relative_paths = [os.path.relpath(os.path.abspath(r.image_path), image_root) for r in records]
    for record, relative in zip(records, relative_paths):
        try:
            check_lst_path(relative)
        except RecordFormatError as e:
            log.error(record.image_path, str(e))
    log.raise_if_errors(NOTHING_WRITTEN)

    outputs = {'lst': out_path, 'classes': classes_path_for(out_path)}
    if rec:
        outputs['rec'] = os.path.splitext(out_path)[0] + '.rec'
        outputs['idx'] = rec_index_path(outputs['rec'])
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    fields = [record_fields(r.width, r.height, r.label) for r in records]
    order = [key for key in ('rec', 'idx', 'classes', 'lst') if key in outputs]
    with atomic_outputs(*(outputs[key] for key in order)) as temps:
        temp = dict(zip(order, temps))
        if rec:
            record_file = open_rec(temp['rec'], 'w', idx_path=temp['idx'])
            try:
                for index in tqdm(range(len(records)), desc='packing .rec', unit='img',
                                  disable=None if progress is None else not progress):
                    image_bytes = _image_bytes(records[index].image_path, reencode)
                    record_file.write_idx(index, pack_record(index, fields[index], image_bytes))
            finally:
                record_file.close()
        with open(temp['classes'], 'w', encoding='utf-8') as f:
            f.writelines(name + '\n' for name in result.class_names)
        with open(temp['lst'], 'w', encoding='utf-8') as f:
            for index, relative in enumerate(relative_paths):
                f.write(format_lst_line(index, relative, fields[index]))
    return ConversionResult(records, result.class_names, image_root, outputs,
                            result.clipped_boxes, result.dropped_boxes,
                            result.hard_boxes_by_reason, list(log.warnings))


def format_summary(result):
    """Text summary of a conversion: data set stats, fixes, hard reasons and output files."""
    stats = compute_stats(((r.label, True) for r in result.records), result.class_names)
    reasons = result.hard_boxes_by_reason
    lines = [format_stats(stats), '',
             'hard boxes by reason: {} from annotations, {} by --hard-if-smaller, {} by '
             '--hard-if-truncated'.format(reasons['annotation'], reasons['smaller'],
                                          reasons['truncated']),
             'fixed: {} box(es) clipped to the image; skipped: {} box(es) outside the image; '
             '{} warning(s)'.format(result.clipped_boxes, result.dropped_boxes,
                                    len(result.warnings)),
             '']
    for key in ('lst', 'classes', 'rec', 'idx'):
        if key in result.outputs:
            lines.append('wrote {:<8} {}'.format(key, result.outputs[key]))
    lines.append("read it with LstDetection({!r}, root={!r})".format(
        result.outputs['lst'], result.image_root))
    return '\n'.join(lines)
