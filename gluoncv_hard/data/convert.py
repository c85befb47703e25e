"""Convert annotation sources into GluonCV's detection ``.lst`` (and ``.rec``/``.idx``).

``convert_to_lst`` first refuses outputs that would replace one of its inputs or each other, or
that cannot be written (:func:`check_outputs`), then validates everything
(``validation.validate_items``); if any error was found it raises ``DataError`` listing all of
them and writes nothing. Otherwise the outputs are written to temporary files and renamed into
place together: ``.rec``, ``.idx``, ``.classes.txt``, ``.lst``, then ``.manifest.json`` (see
:mod:`gluoncv_hard.data.manifest`), which the readers use to refuse a set mixed by a run killed
between two renames.
"""
import os
from typing import NamedTuple

from gluoncv_hard.data.classes import classes_path_for
from gluoncv_hard.data.manifest import HashingWriter, file_digest, manifest_path_for, manifest_text
from gluoncv_hard.data.problems import ProblemLog
from gluoncv_hard.data.recordio import RecordWriter
from gluoncv_hard.data.records import (
    RecordFormatError,
    check_lst_path,
    format_lst_line,
    pack_record,
    rec_index_path,
    record_fields,
)
from gluoncv_hard.data.stats import compute_stats, format_stats
from gluoncv_hard.data.validation import validate_items
from gluoncv_hard.errors import InputError, OutputExistsError
from gluoncv_hard.utils.atomic import atomic_outputs
from gluoncv_hard.utils.progress import progress_bar
from gluoncv_hard.utils.write_errors import check_output_folder, write_error

__all__ = ['ConversionResult', 'convert_to_lst', 'check_outputs', 'output_paths',
           'default_image_root', 'format_summary']

# Re-encoding (``reencode=True``) writes JPEG at this quality.
REENCODE_JPEG_QUALITY = 95
# The last line of the DataError of a conversion.
NOTHING_WRITTEN = 'nothing was written; fix the errors above and run again'
# Names the outputs take beside the .lst; an out_path ending so would collide with them.
_RESERVED_SUFFIXES = ('.rec', '.idx', '.classes.txt', '.manifest.json')
# The order outputs are renamed into place: the files readers open first come last.
_WRITE_ORDER = ('rec', 'idx', 'classes', 'lst', 'manifest')
_OUTPUT_NAMES = {'lst': 'the .lst', 'classes': 'the class list', 'rec': 'the .rec',
                 'idx': 'the .idx', 'manifest': 'the manifest'}


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
        ``'lst'``, ``'classes'``, ``'manifest'`` and with ``rec=True`` ``'rec'``, ``'idx'`` ->
        path.
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


def output_paths(out_path, rec=False):
    """The files a conversion to ``out_path`` writes: ``{kind: path}`` (see ``convert_to_lst``)."""
    outputs = {'lst': out_path, 'classes': classes_path_for(out_path),
               'manifest': manifest_path_for(out_path)}
    if rec:
        outputs['rec'] = os.path.splitext(out_path)[0] + '.rec'
        outputs['idx'] = rec_index_path(outputs['rec'])
    return outputs


def _identity(path):
    """What makes two paths the same file: the real path, and (device, inode) if it exists."""
    if '\0' in path:  # no file has such a name (validation reports it)
        return path, None
    real = os.path.realpath(path)
    try:
        stat = os.stat(real)
    except OSError:
        return real, None
    return real, (stat.st_dev, stat.st_ino)


def _same(a, b):
    return a[0] == b[0] or (a[1] is not None and a[1] == b[1])


def check_outputs(out_path, rec=False, inputs=(), class_file=None):
    """Refuse, before any work, outputs that cannot be written or would replace files.

    Parameters
    ----------
    out_path : str
        The ``.lst`` to write (``output_paths`` gives the others).
    rec : bool
    inputs : iterable of str
        Every file the conversion reads (annotations, image sets, images).
    class_file : str, optional
        The class list the names were read from. Unlike other inputs it may be the output
        class list itself: that file is rewritten with the same names.

    Raises
    ------
    InputError (``param='out_path'``)
        For an ``out_path`` ending like another output (``.rec``, ``.idx``, ...), two outputs
        that are one file, an output that is a folder, an output that is one of ``inputs``, or
        an output folder that cannot be created or written (read-only, or a file in the way).
    """
    if not out_path or out_path.endswith(os.sep):
        raise InputError('out_path {!r} must name the .lst file to write'.format(out_path),
                         param='out_path')
    for suffix in _RESERVED_SUFFIXES:
        if out_path.lower().endswith(suffix):
            raise InputError(
                'out_path {} ends with {}, the name of another output of the conversion; name '
                'the .lst (e.g. {}.lst): the converter writes the others beside it'.format(
                    out_path, suffix, out_path[:-len(suffix)]), param='out_path')
    outputs = output_paths(out_path, rec)
    seen = {}
    for kind, path in outputs.items():
        identity = _identity(path)
        for other_kind, other in seen.items():
            if _same(identity, other):
                raise InputError('out_path {}: {} and {} would be the same file {}; choose '
                                 'another name'.format(out_path, _OUTPUT_NAMES[other_kind],
                                                       _OUTPUT_NAMES[kind], path),
                                 param='out_path')
        seen[kind] = identity
        if os.path.isdir(path):
            raise OutputExistsError('{} ({}) is a folder; out_path must name a .lst file, such as '
                                    '{}'.format(path, _OUTPUT_NAMES[kind],
                                                os.path.join(out_path, 'train.lst')),
                                    param='out_path')
    protected = [(path, _identity(path)) for path in inputs if path]
    class_identity = _identity(class_file) if class_file else None
    for kind, identity in seen.items():
        if kind == 'classes' and class_identity is not None and _same(identity, class_identity):
            continue
        for path, other in protected:
            if _same(identity, other):
                raise OutputExistsError(
                    '{} ({} of out_path {}) is an input of this conversion ({}); writing it '
                    'would destroy the input: choose another out_path'.format(
                        outputs[kind], _OUTPUT_NAMES[kind], out_path, path), param='out_path')
    check_output_folder(out_path, 'out_path')


def _source_inputs(sources):
    files = []
    for source in sources:
        files += list(source.input_files)
        files += [item.image_path for item in source.items]
    return files


def _image_bytes(path, reencode, log):
    """The bytes to pack for an image, or None (after an error in ``log``) if it cannot be."""
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except OSError as e:
        log.error(path, 'cannot read the image ({})'.format(e.strerror or e),
                  'it was readable when the conversion started: check the file')
        return None
    if not reencode:
        return data
    import cv2
    import numpy as np
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error:
        image = None
    if image is None:
        log.error(path, 'OpenCV cannot decode the image to re-encode it (reencode)',
                  're-export the image, or pack the file bytes as they are (without reencode)')
        return None
    ok, encoded = cv2.imencode('.jpg', image, [cv2.IMWRITE_JPEG_QUALITY, REENCODE_JPEG_QUALITY])
    if not ok:
        log.error(path, 'OpenCV cannot encode the decoded image as JPEG (reencode)',
                  'pack the file bytes as they are (without reencode)')
        return None
    return encoded.tobytes()


def _write_error(error, out_path):
    return write_error(error, 'out_path', 'nothing was written',
                       what='the outputs of {}'.format(out_path))


def convert_to_lst(sources, out_path, class_names=None, image_root=None, clip=False,
                   hard_if_smaller=None, hard_if_truncated=False, rec=False, reencode=False,
                   log=None, progress=None, class_file=None):
    """Validate sources and write a detection ``.lst`` (and optionally ``.rec``/``.idx``).

    Parameters
    ----------
    sources : sequence of Source
        From ``voc_source``, ``coco_source``, ``csv_source``, ``negatives_source``; records
        keep this order.
    out_path : str
        The ``.lst`` file. Beside it: the class list (``out.classes.txt``), the manifest
        (``out.manifest.json``) and with ``rec=True`` ``out.rec`` and ``out.idx``.
    class_names : sequence of str, optional
        Fixed class list (unknown classes are errors); None infers a sorted list.
    image_root : str, optional
        Image paths in the ``.lst`` are relative to it; default ``default_image_root``. Every
        image must be below it.
    clip, hard_if_smaller, hard_if_truncated
        See ``validate_items``.
    rec : bool
        Also pack ``.rec``/``.idx``: image bytes copied from the files as they are.
    reencode : bool
        With ``rec``, decode and re-encode every image as JPEG instead of copying its bytes.
    log : ProblemLog, optional
        Source parsing problems already found; a new log if None.
    progress : bool, optional
        progress bars (None: only on a terminal; ``utils.progress``).
    class_file : str, optional
        The file ``class_names`` came from; it is protected like the other inputs, except that
        it may be the output class list (rewritten with the same names).

    Returns
    -------
    ConversionResult

    Raises
    ------
    InputError
        Before any work, for outputs that would replace an input or each other, or cannot be
        written (``check_outputs``); after, for a failed write (full disk, say): nothing is
        written then.
    DataError
        If the sources, their validation or (with ``reencode``) the decoding of an image
        produced any error; nothing is written then.
    """
    log = log or ProblemLog()
    inputs = _source_inputs(sources) + ([class_file] if class_file else [])
    check_outputs(out_path, rec, inputs, class_file)
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
        if relative.split(os.sep)[0] == os.pardir:
            log.error(record.image_path, 'the image is not below image_root {}'.format(image_root),
                      'choose an image_root that holds every image (or leave it to the default)')
            continue
        try:
            check_lst_path(relative)
        except RecordFormatError as e:
            log.error(record.image_path, str(e))
    log.raise_if_errors(NOTHING_WRITTEN)

    outputs = output_paths(out_path, rec)
    try:
        os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    except OSError as e:
        raise _write_error(e, out_path) from None
    fields = [record_fields(r.width, r.height, r.label) for r in records]
    order = [key for key in _WRITE_ORDER if key in outputs]
    try:
        with atomic_outputs(*(outputs[key] for key in order)) as temps:
            temp = dict(zip(order, temps))
            digests = {}
            if rec:
                digests['rec'] = _write_rec(temp['rec'], temp['idx'], records, fields,
                                            reencode, log, progress)
                log.raise_if_errors(NOTHING_WRITTEN, 'reencode' if reencode else None)
            with open(temp['classes'], 'w', encoding='utf-8') as f:
                f.writelines(name + '\n' for name in result.class_names)
            with open(temp['lst'], 'w', encoding='utf-8') as f:
                for index, relative in enumerate(relative_paths):
                    f.write(format_lst_line(index, relative, fields[index]))
            for key in ('idx', 'classes', 'lst'):
                if key in temp:
                    digests[key] = file_digest(temp[key])
            with open(temp['manifest'], 'w', encoding='utf-8') as f:
                f.write(manifest_text({key: (outputs[key],) + digest
                                       for key, digest in digests.items()}))
    except OSError as e:
        raise _write_error(e, out_path) from None
    return ConversionResult(records, result.class_names, image_root, outputs,
                            result.clipped_boxes, result.dropped_boxes,
                            result.hard_boxes_by_reason, list(log.warnings))


def _write_rec(rec_temp, idx_temp, records, fields, reencode, log, progress):
    """Pack every record; returns the ``.rec``'s ``(size, sha256)``. Images that cannot be
    packed are errors in ``log`` (packing goes on, to report them all)."""
    with open(rec_temp, 'wb') as rec_file, open(idx_temp, 'w', encoding='ascii') as idx_file:
        hashed = HashingWriter(rec_file)
        writer = RecordWriter(hashed, idx_file)
        for index in progress_bar(range(len(records)), enabled=progress, desc='packing .rec',
                                  unit='img'):
            image_bytes = _image_bytes(records[index].image_path, reencode, log)
            if image_bytes is not None and not log.errors:
                writer.write(index, pack_record(index, fields[index], image_bytes))
    return hashed.size, hashed.sha256.hexdigest()


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
    for key in ('lst', 'classes', 'rec', 'idx', 'manifest'):
        if key in result.outputs:
            lines.append('wrote {:<8} {}'.format(key, result.outputs[key]))
    lines.append("read it with LstDetection({!r}, root={!r})".format(
        result.outputs['lst'], result.image_root))
    return '\n'.join(lines)
