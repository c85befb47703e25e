import struct

import cv2
import mxnet as mx
import pytest
from fixtures import write_image
from hypothesis import given, settings
from hypothesis import strategies as st

from gluoncv_hard.data.imagesize import ImageHeaderError, read_image_info, read_image_size


def _with_exif_orientation(jpeg_bytes, orientation, byte_order='II'):
    fmt = '<' if byte_order == 'II' else '>'
    tiff = (byte_order.encode() + struct.pack(fmt + 'H', 42) + struct.pack(fmt + 'I', 8)
            + struct.pack(fmt + 'H', 1) + struct.pack(fmt + 'HHIHH', 0x0112, 3, 1, orientation, 0)
            + struct.pack(fmt + 'I', 0))
    payload = b'Exif\x00\x00' + tiff
    segment = b'\xff\xe1' + struct.pack('>H', len(payload) + 2) + payload
    return jpeg_bytes[:2] + segment + jpeg_bytes[2:]


@settings(max_examples=15, deadline=None)
@given(width=st.integers(1, 300), height=st.integers(1, 300),
       extension=st.sampled_from(['.jpg', '.png', '.bmp']))
def test_header_size_matches_decoded_size(tmp_path_factory, width, height, extension):
    path = write_image(str(tmp_path_factory.mktemp('img') / ('x' + extension)), width, height)
    info = read_image_info(path)
    assert (info.width, info.height) == (width, height)
    assert info.format == {'.jpg': 'jpeg', '.png': 'png', '.bmp': 'other'}[extension]
    assert info.complete
    assert mx.image.imread(path).shape[:2] == (height, width)


def test_progressive_jpeg(tmp_path):
    image = cv2.imread(write_image(str(tmp_path / 'a.png'), 33, 17))
    path = str(tmp_path / 'p.jpg')
    cv2.imwrite(path, image, [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    assert read_image_size(path) == (33, 17)


@pytest.mark.parametrize('orientation,swapped', [(1, False), (3, False), (6, True), (8, True)])
@pytest.mark.parametrize('byte_order', ['II', 'MM'])
def test_exif_orientation_gives_the_size_mxnet_decodes(tmp_path, orientation, swapped, byte_order):
    plain = open(write_image(str(tmp_path / 'a.jpg'), 100, 40), 'rb').read()
    path = tmp_path / 'rotated.jpg'
    path.write_bytes(_with_exif_orientation(plain, orientation, byte_order))
    expected = (40, 100) if swapped else (100, 40)
    assert read_image_size(str(path)) == expected
    decoded = mx.image.imread(str(path))
    assert (decoded.shape[1], decoded.shape[0]) == expected


def test_truncated_jpeg_body_is_flagged_incomplete(tmp_path):
    data = open(write_image(str(tmp_path / 'a.jpg'), 64, 64), 'rb').read()
    path = tmp_path / 'cut.jpg'
    path.write_bytes(data[:len(data) // 2])
    info = read_image_info(str(path))
    assert (info.width, info.height) == (64, 64)
    assert not info.complete


def test_truncated_png_is_flagged_incomplete(tmp_path):
    data = open(write_image(str(tmp_path / 'a.png'), 20, 10), 'rb').read()
    path = tmp_path / 'cut.png'
    path.write_bytes(data[:-20])
    assert read_image_info(str(path)) == (20, 10, 'png', False)


@pytest.mark.parametrize('cut', [3, 10, 20])
def test_truncated_jpeg_header_raises(tmp_path, cut):
    data = open(write_image(str(tmp_path / 'a.jpg'), 64, 64), 'rb').read()
    path = tmp_path / 'cut.jpg'
    path.write_bytes(data[:cut])
    with pytest.raises(ImageHeaderError, match='truncated') as error:
        read_image_info(str(path))
    assert str(path) in str(error.value)


def test_corrupt_jpeg_marker_raises(tmp_path):
    # SOI, a 16-byte APP0 segment, then garbage where the next marker must start.
    path = tmp_path / 'bad.jpg'
    path.write_bytes(b'\xff\xd8\xff\xe0\x00\x10' + b'\x00' * 14 + b'\x12' * 40)
    with pytest.raises(ImageHeaderError, match='corrupt JPEG header .expected a marker at byte 20'
                       ) as error:
        read_image_info(str(path))
    assert str(path) in str(error.value)


def test_jpeg_without_frame_header_raises(tmp_path):
    path = tmp_path / 'nosof.jpg'
    path.write_bytes(b'\xff\xd8\xff\xda\x00\x08' + b'\x00' * 100)
    with pytest.raises(ImageHeaderError, match='before any frame header'):
        read_image_info(str(path))


def test_corrupt_png_header_raises(tmp_path):
    data = bytearray(open(write_image(str(tmp_path / 'a.png'), 20, 10), 'rb').read())
    data[12:16] = b'XXXX'
    path = tmp_path / 'bad.png'
    path.write_bytes(bytes(data))
    with pytest.raises(ImageHeaderError, match='not IHDR'):
        read_image_info(str(path))


def test_not_an_image_raises(tmp_path):
    path = tmp_path / 'notes.jpg'
    path.write_text('hello, I am not an image')
    with pytest.raises(ImageHeaderError, match='not a readable image') as error:
        read_image_info(str(path))
    assert error.value.path == str(path)


def test_missing_file_raises(tmp_path):
    with pytest.raises(ImageHeaderError, match='cannot read'):
        read_image_info(str(tmp_path / 'nope.jpg'))
