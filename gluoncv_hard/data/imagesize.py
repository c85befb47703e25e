"""Read an image's width and height from its file header, without decoding the pixels.

Converting a data set must be I/O bound: for JPEG and PNG only the first few hundred bytes
(and the last few, to spot truncated files) are read. Other formats fall back to a full decode
with OpenCV.

The size returned is the size a decoder *shows*: MXNet and OpenCV apply the JPEG EXIF
orientation tag when decoding, so a JPEG stored as 100x40 with orientation 6 ("rotate 90")
decodes as 40x100, and that is what ``read_image_info`` reports.
"""
import struct
from typing import NamedTuple

from gluoncv_hard.errors import InputError

__all__ = ['ImageHeaderError', 'ImageInfo', 'read_image_info', 'read_image_info_from',
           'read_image_size']

_JPEG_SOI = b'\xff\xd8'
_JPEG_EOI = b'\xff\xd9'
_PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
# The whole IEND chunk: zero length, type, CRC. Every complete PNG ends with it.
_PNG_IEND = b'\x00\x00\x00\x00IEND\xaeB`\x82'

# Start-of-frame markers carry the frame size. C4 (DHT), C8 (JPG) and CC (DAC) do not.
_JPEG_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers without a length field.
_JPEG_STANDALONE_MARKERS = frozenset([0x01] + list(range(0xD0, 0xD8)))
_JPEG_SOS, _JPEG_APP1 = 0xDA, 0xE1
_EXIF_ORIENTATION_TAG = 0x0112
# EXIF orientations 5-8 rotate by 90 or 270 degrees, which swaps width and height.
_EXIF_TRANSPOSED = frozenset((5, 6, 7, 8))


class ImageHeaderError(InputError):
    """The image file is missing, truncated or corrupt.

    ``path`` is the file and ``reason`` what is wrong and how to fix it; ``str()`` gives both.
    """

    def __init__(self, path, reason):
        self.path, self.reason = path, reason
        super().__init__('{}: {}'.format(path, reason))


class ImageInfo(NamedTuple):
    """What the header says about an image.

    Attributes
    ----------
    width, height : int
        Size in pixels as decoded (EXIF orientation applied).
    format : str
        ``'jpeg'``, ``'png'`` or ``'other'``.
    complete : bool
        False when a JPEG does not end with the end-of-image marker or a PNG with its IEND
        chunk: the file was probably cut short (a partial download or copy) and decodes with
        missing rows.
    """
    width: int
    height: int
    format: str
    complete: bool


def read_image_size(path):
    """Return ``(width, height)`` of an image, read from its header. See ``read_image_info``."""
    info = read_image_info(path)
    return info.width, info.height


def read_image_info(path):
    """Read size and format of an image file from its header.

    Parameters
    ----------
    path : str
        Image file.

    Returns
    -------
    ImageInfo

    Raises
    ------
    ImageHeaderError
        If the file cannot be opened, its header is truncated or corrupt, or (for formats
        other than JPEG/PNG) OpenCV cannot decode it.
    """
    try:
        with open(path, 'rb') as f:
            info = _header_info(f, path)
    except OSError as e:
        raise ImageHeaderError(path, 'cannot read the image file ({})'.format(
            e.strerror or e)) from e
    return info or _decode_size(path)


def read_image_info_from(f, name):
    """:func:`read_image_info` for an open binary file object holding just the image.

    ``f`` must support ``read``, ``seek`` (also from the end) and ``tell``: e.g. an
    ``io.BytesIO`` or a view of one record of a ``.rec``. ``name`` names it in errors.
    """
    info = _header_info(f, name)
    if info is not None:
        return info
    f.seek(0)
    return _decode_size_of_bytes(f.read(), name)


def _header_info(f, path):
    """ImageInfo of a JPEG or PNG read from ``f``, or None for another format."""
    magic = f.read(8)
    if magic.startswith(_JPEG_SOI + b'\xff'):
        f.seek(len(_JPEG_SOI))
        width, height = _read_jpeg_size(f, path)
        return ImageInfo(width, height, 'jpeg', _ends_with(f, _JPEG_EOI))
    if magic == _PNG_SIGNATURE:
        width, height = _read_png_size(f, path)
        return ImageInfo(width, height, 'png', _ends_with(f, _PNG_IEND))
    return None


def _ends_with(f, tail):
    f.seek(0, 2)
    if f.tell() < len(tail):
        return False
    f.seek(-len(tail), 2)
    return f.read(len(tail)) == tail


def _read_exactly(f, count, path, what):
    data = f.read(count)
    if len(data) != count:
        raise ImageHeaderError(path, 'header is truncated (file ends inside the {}); the file '
                                     'is incomplete: copy or export it again'.format(what))
    return data


def _read_jpeg_size(f, path):
    """Walk the JPEG marker segments up to the start-of-frame; return the displayed size."""
    orientation = 1
    while True:
        byte = _read_exactly(f, 1, path, 'marker list')
        if byte != b'\xff':
            raise ImageHeaderError(path, 'corrupt JPEG header (expected a marker at byte {}, '
                                   'found 0x{:02x}); the file is damaged: re-export it'
                                   .format(f.tell() - 1, byte[0]))
        marker = _read_exactly(f, 1, path, 'marker list')[0]
        while marker == 0xFF:  # fill bytes before a marker
            marker = _read_exactly(f, 1, path, 'marker list')[0]
        if marker in _JPEG_STANDALONE_MARKERS:
            continue
        if marker == _JPEG_SOS or marker == _JPEG_EOI[1]:
            raise ImageHeaderError(path, 'corrupt JPEG (image data starts before any frame '
                                         'header gives its size); re-export the image')
        length = struct.unpack('>H', _read_exactly(f, 2, path, 'segment length'))[0]
        if length < 2:
            raise ImageHeaderError(path, 'corrupt JPEG header (segment length {}); re-export '
                                         'the image'.format(length))
        if marker in _JPEG_SOF_MARKERS:
            frame = _read_exactly(f, 5, path, 'frame header')
            height, width = struct.unpack('>HH', frame[1:5])
            if width == 0 or height == 0:
                raise ImageHeaderError(path, 'JPEG frame header gives size {}x{}; re-export the '
                                             'image'.format(width, height))
            if orientation in _EXIF_TRANSPOSED:
                width, height = height, width
            return width, height
        if marker == _JPEG_APP1:
            orientation = _exif_orientation(_read_exactly(f, length - 2, path, 'EXIF segment'),
                                            default=orientation)
        else:
            f.seek(length - 2, 1)


def _exif_orientation(segment, default=1):
    """The orientation tag of an APP1 ``Exif`` segment, or ``default`` if there is none."""
    if not segment.startswith(b'Exif\x00\x00'):
        return default
    tiff = segment[6:]
    if tiff[:2] == b'II':
        order = '<'
    elif tiff[:2] == b'MM':
        order = '>'
    else:
        return default
    try:
        ifd = struct.unpack(order + 'I', tiff[4:8])[0]
        count = struct.unpack(order + 'H', tiff[ifd:ifd + 2])[0]
        for i in range(count):
            entry = tiff[ifd + 2 + 12 * i:ifd + 14 + 12 * i]
            tag, _type, _count, value = struct.unpack(order + 'HHIH', entry[:10])
            if tag == _EXIF_ORIENTATION_TAG:
                return value
    except struct.error:
        # A damaged EXIF block does not stop decoders, which then ignore the orientation.
        return default
    return default


def _read_png_size(f, path):
    chunk = _read_exactly(f, 16, path, 'IHDR chunk')
    if chunk[4:8] != b'IHDR':
        raise ImageHeaderError(path, 'corrupt PNG (first chunk is {!r}, not IHDR); re-export '
                                     'the image'.format(chunk[4:8]))
    width, height = struct.unpack('>II', chunk[8:16])
    if width == 0 or height == 0:
        raise ImageHeaderError(path, 'PNG header gives size {}x{}; re-export the image'
                               .format(width, height))
    return width, height


def _decode_size(path):
    # Only formats other than JPEG/PNG get here; they are rare in detection data sets.
    import cv2
    try:
        image = cv2.imread(path, cv2.IMREAD_COLOR)
    except cv2.error:
        image = None
    return _decoded_info(image, path)


def _decode_size_of_bytes(data, name):
    import cv2
    import numpy as np
    try:
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    except cv2.error:
        image = None
    return _decoded_info(image, name)


def _decoded_info(image, path):
    if image is None:
        raise ImageHeaderError(path, 'not a readable image (not JPEG/PNG and OpenCV cannot '
                                     'decode it); convert it to JPEG or PNG')
    height, width = image.shape[:2]
    return ImageInfo(width, height, 'other', True)
