"""Write Pascal VOC annotation XML for the demo scenes.

VOC coordinates are 1-based: the value written is the 0-based pixel index plus one, for all four
coordinates (``xmax``/``ymax`` name the last pixel inside the box). GluonCV's ``VOCDetection``
subtracts 1 from each, which gives back the 0-based inclusive pixel indices.
"""
from xml.sax.saxutils import escape

__all__ = ['VOC_OFFSET', 'annotation_xml']

VOC_OFFSET = 1


def annotation_xml(filename, width, height, objects, folder='JPEGImages', depth=3):
    """Render one annotation file.

    Parameters
    ----------
    filename : str
        Image file name (e.g. ``train_00000.jpg``).
    width, height, depth : int
        Image size.
    objects : iterable of dict
        Each with ``name`` (str), ``box`` (0-based inclusive ``xmin, ymin, xmax, ymax`` ints inside
        the image), ``difficult`` and ``truncated`` (bool).
    folder : str

    Returns
    -------
    str
        The XML document. The output depends only on the arguments (no dates), so the same
        scene always produces the same bytes.

    Raises
    ------
    ValueError
        If a box lies outside the image or is inverted.
    """
    lines = [
        '<annotation>',
        '  <folder>{}</folder>'.format(escape(folder)),
        '  <filename>{}</filename>'.format(escape(filename)),
        '  <source><database>gluoncv-hard demo (scikit-image LFW subset)</database></source>',
        '  <size>',
        '    <width>{:d}</width>'.format(width),
        '    <height>{:d}</height>'.format(height),
        '    <depth>{:d}</depth>'.format(depth),
        '  </size>',
        '  <segmented>0</segmented>',
    ]
    for i, obj in enumerate(objects):
        xmin, ymin, xmax, ymax = (int(v) for v in obj['box'])
        if not (0 <= xmin <= xmax < width and 0 <= ymin <= ymax < height):
            raise ValueError('{}: object {} has box {} outside the {}x{} image or inverted'
                             .format(filename, i, obj['box'], width, height))
        lines += [
            '  <object>',
            '    <name>{}</name>'.format(escape(obj['name'])),
            '    <pose>Unspecified</pose>',
            '    <truncated>{:d}</truncated>'.format(bool(obj['truncated'])),
            '    <difficult>{:d}</difficult>'.format(bool(obj['difficult'])),
            '    <bndbox>',
            '      <xmin>{:d}</xmin>'.format(xmin + VOC_OFFSET),
            '      <ymin>{:d}</ymin>'.format(ymin + VOC_OFFSET),
            '      <xmax>{:d}</xmax>'.format(xmax + VOC_OFFSET),
            '      <ymax>{:d}</ymax>'.format(ymax + VOC_OFFSET),
            '    </bndbox>',
            '  </object>',
        ]
    lines.append('</annotation>')
    return '\n'.join(lines) + '\n'
