"""The audit's outputs: a static HTML page with drawn thumbnails, and a CSV.

``OUT/index.html`` lists the images worst first (see :mod:`gluoncv_hard.audit`): a thumbnail
(``OUT/img/NNNNN.png``) with the boxes drawn in the project's shared colours, the counts, and the
coordinates of every missed box, suspect and hard hit. Images without findings are listed by
name only.
``OUT/audit.csv`` has one row per audited image. Every file is written atomically, the page
last, so an ``index.html`` always refers to complete thumbnails.
"""
import csv
import html
import io
import os

import cv2
import numpy as np

from gluoncv_hard import schema
from gluoncv_hard.utils.atomic import write_text_atomic
from gluoncv_hard.vis import draw as visualize

__all__ = ['THUMB_MAX_SIDE', 'LEGEND', 'CSV_COLUMNS', 'thumbnail_name', 'draw_audit',
           'legend_image', 'audit_csv_text', 'audit_html', 'write_audit_report']

THUMB_MAX_SIDE = 400
LEGEND = [
    ('ground truth', visualize.NORMAL_GT, False, 1),
    ('hard ground truth', visualize.HARD_GT, True, 1),
    ('missed ground truth (nothing confident detected it)', visualize.MISS, False, 3),
    ('detection matching a box, or a hard box ("hard")', visualize.DETECTION, False, 1),
    ('false alarm (matches no box)', visualize.FALSE_ALARM, False, 2),
    ('suspect: confident, no box nearby: unlabelled object?', visualize.FALSE_ALARM, False, 4),
]
CSV_COLUMNS = ['rank', 'image', 'path', 'fold', 'badness', 'missed', 'false_alarms', 'suspects',
               'hard_hits', 'matched', 'num_gt', 'num_hard', 'max_suspect_score',
               'missed_boxes', 'suspect_boxes', 'hard_hit_boxes']


def thumbnail_name(rank):
    """File name of the thumbnail of the image at ``rank`` (1-based): ``img/00001.png``.

    Named by rank, not by image id: ids may hold characters that are unsafe in file names.
    """
    return 'img/{:05d}.png'.format(rank)


def draw_audit(audit, class_names=None, max_side=THUMB_MAX_SIDE):
    """The image of ``audit`` scaled to ``max_side`` with its labels and findings drawn
    (see ``LEGEND``). Returns an RGB ``uint8`` array."""
    image = visualize.read_rgb(audit.image_path)
    scale = min(1.0, max_side / max(image.shape[:2]))
    if scale < 1:
        image = cv2.resize(image, (int(round(image.shape[1] * scale)),
                                   int(round(image.shape[0] * scale))),
                           interpolation=cv2.INTER_AREA)
    label = audit.gt_label.copy()
    label[:, schema.BOX] *= scale
    boxes = audit.det_boxes * scale
    found = audit.findings
    image = visualize.draw_label(image, label, class_names, captions=False)
    missed = label[found.missed]
    image = visualize.draw_boxes(image, missed[:, schema.BOX], visualize.MISS, thickness=3,
                                 texts=['miss'] * len(missed))
    for indices, colour, thickness, prefix in (
            (found.matched, visualize.DETECTION, 1, ''),
            (found.hard_hits, visualize.DETECTION, 1, 'hard '),
            (np.setdiff1d(found.false_alarms, found.suspects), visualize.FALSE_ALARM, 2, ''),
            (found.suspects, visualize.FALSE_ALARM, 4, 'suspect ')):
        image = visualize.draw_boxes(
            image, boxes[indices], colour, thickness=thickness,
            texts=[prefix + visualize.box_caption(None, s) for s in audit.det_scores[indices]])
    return image


def legend_image(width=2 * THUMB_MAX_SIDE):
    """``LEGEND`` as a picture: each swatch drawn with the line width the thumbnails use."""
    rows = []
    for text, colour, dashed, thickness in LEGEND:
        label = visualize.text_panel([text], width - 40)
        row = np.full((label.shape[0], width, 3), visualize.BACKGROUND, np.uint8)
        row[:, 40:] = label
        rows.append(visualize.draw_boxes(row, [(6, 4, 32, label.shape[0] - 5)], colour,
                                         thickness=thickness, dashed=dashed))
    return visualize.stack_vertical(rows)


def _box_text(box):
    return ' '.join('{:.0f}'.format(v) for v in box)


def _missed_boxes(audit, class_names):
    rows = audit.gt_label[audit.findings.missed]
    return ['{} {}'.format(_class_name(row[schema.CLASS_ID], class_names),
                           _box_text(row[schema.BOX])) for row in rows]


def _detection_boxes(audit, indices, class_names):
    return ['{} {} score {:.2f}'.format(_class_name(audit.det_labels[i], class_names),
                                        _box_text(audit.det_boxes[i]), audit.det_scores[i])
            for i in indices]


def _suspect_boxes(audit, class_names):
    return _detection_boxes(audit, audit.findings.suspects, class_names)


def _hard_hit_boxes(audit, class_names):
    return _detection_boxes(audit, audit.findings.hard_hits, class_names)


def _class_name(class_id, class_names):
    class_id = int(class_id)
    if class_names and 0 <= class_id < len(class_names):
        return str(class_names[class_id])
    return str(class_id)


def audit_csv_text(audits, class_names=None):
    """CSV with one row per audit in the given order (``CSV_COLUMNS``); boxes are
    ``class xmin ymin xmax ymax[ score s]`` in pixels, separated by ``;``. The last column,
    ``hard_hit_boxes``, lists the confident detections on boxes labelled hard (a hard flag
    that may be wrong)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator='\n')
    writer.writerow(CSV_COLUMNS)
    for rank, a in enumerate(audits, 1):
        f = a.findings
        writer.writerow([rank, a.image_id, a.image_path, a.fold, a.badness, len(f.missed),
                         len(f.false_alarms), len(f.suspects), len(f.hard_hits), len(f.matched),
                         int((~schema.is_hard(a.gt_label[:, schema.HARD])).sum()),
                         int(schema.is_hard(a.gt_label[:, schema.HARD]).sum()),
                         '{:.4f}'.format(a.max_suspect_score),
                         '; '.join(_missed_boxes(a, class_names)),
                         '; '.join(_suspect_boxes(a, class_names)),
                         '; '.join(_hard_hit_boxes(a, class_names))])
    return buffer.getvalue()


_STYLE = """
body { font-family: sans-serif; margin: 1.5em; }
table { border-collapse: collapse; }
td, th { border: 1px solid #ccc; padding: 4px 8px; vertical-align: top; text-align: left; }
td.num { text-align: right; }
code { font-size: 90%; }
"""


def audit_html(audits, thumbnails, title, summary_lines, class_names=None,
               legend_file='img/legend.png'):
    """The page (a string). ``thumbnails`` maps an audit's rank to its thumbnail file (images
    without a thumbnail go to the "no findings" list). Every piece of data is escaped."""
    e = html.escape
    parts = ['<!DOCTYPE html>', '<html><head><meta charset="utf-8">',
             '<title>{}</title><style>{}</style></head><body>'.format(e(title), _STYLE),
             '<h1>{}</h1>'.format(e(title)), '<ul>']
    parts += ['<li>{}</li>'.format(e(line)) for line in summary_lines]
    parts += ['</ul>', '<p><img src="{}" alt="legend"></p>'.format(e(legend_file, quote=True))]
    listed = [(rank, a) for rank, a in enumerate(audits, 1) if rank in thumbnails]
    parts.append('<h2>Images with findings, worst first ({})</h2>'.format(len(listed)))
    parts.append('<table><tr><th>#</th><th>image</th><th>findings</th><th>picture</th></tr>')
    for rank, a in listed:
        f = a.findings
        details = ['badness {}: {} missed, {} false alarms ({} suspects), {} on hard boxes, '
                   '{} matched; fold {}'.format(a.badness, len(f.missed), len(f.false_alarms),
                                                len(f.suspects), len(f.hard_hits),
                                                len(f.matched), a.fold)]
        details += ['suspect: ' + text for text in _suspect_boxes(a, class_names)]
        details += ['missed: ' + text for text in _missed_boxes(a, class_names)]
        details += ['hard hit (is the hard flag right?): ' + text
                    for text in _hard_hit_boxes(a, class_names)]
        parts.append(
            '<tr><td class="num">{}</td><td><code>{}</code><br><small>{}</small></td>'
            '<td><ul>{}</ul></td><td><img src="{}" alt="{}"></td></tr>'.format(
                rank, e(a.image_id), e(a.image_path),
                ''.join('<li>{}</li>'.format(e(d)) for d in details),
                e(thumbnails[rank], quote=True), e(a.image_id, quote=True)))
    parts.append('</table>')
    clean = [a for rank, a in enumerate(audits, 1) if rank not in thumbnails]
    parts.append('<h2>Images without findings ({})</h2><p>'.format(len(clean)))
    parts.append(', '.join('<code>{}</code>'.format(e(a.image_id)) for a in clean))
    parts.append('</p></body></html>\n')
    return '\n'.join(parts)


def write_audit_report(out, audits, summary_lines, class_names=None, title='Data set audit',
                       progress=False):
    """Write ``out/img/*.png``, ``out/audit.csv`` and ``out/index.html`` (last).

    A thumbnail is drawn for every image with findings (badness > 0) or a hard hit.
    Returns the path of ``index.html``.
    """
    from gluoncv_hard.utils.progress import progress_bar
    image_dir = os.path.join(out, 'img')
    os.makedirs(image_dir, exist_ok=True)
    visualize.save_png(os.path.join(image_dir, 'legend.png'), legend_image())
    thumbnails = {}
    ranked = list(enumerate(audits, 1))
    for rank, a in progress_bar(ranked, enabled=bool(progress), desc='drawing', unit='img'):
        if a.badness or len(a.findings.hard_hits):
            name = thumbnail_name(rank)
            visualize.save_png(os.path.join(out, name), draw_audit(a, class_names))
            thumbnails[rank] = name
    write_text_atomic(os.path.join(out, 'audit.csv'), audit_csv_text(audits, class_names))
    index = os.path.join(out, 'index.html')
    write_text_atomic(index, audit_html(audits, thumbnails, title, summary_lines, class_names))
    return index
