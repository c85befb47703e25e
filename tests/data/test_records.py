import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gluoncv_hard import schema
from gluoncv_hard.data.records import (
    RecordFormatError,
    format_lst_line,
    iter_rec_labels,
    label_to_pixels,
    open_rec,
    pack_record,
    parse_lst_line,
    parse_record_label,
    read_lst,
    record_fields,
    require_rec_files,
    unpack_record,
)
from gluoncv_hard.errors import InputError


def _label(rows):
    return schema.validate_label(np.array(rows, dtype=np.float32).reshape(-1, 6))


@st.composite
def labels(draw):
    width, height = draw(st.integers(1, 4000)), draw(st.integers(1, 4000))
    rows = []
    for _ in range(draw(st.integers(0, 5))):
        x0, x1 = sorted(draw(st.lists(st.integers(0, width), min_size=2, max_size=2, unique=True)))
        y0, y1 = sorted(draw(st.lists(st.integers(0, height), min_size=2, max_size=2,
                                      unique=True)))
        rows.append([x0, y0, x1, y1, draw(st.integers(0, 30)), draw(st.integers(0, 1))])
    return width, height, _label(rows) if rows else schema.empty_label()


@settings(max_examples=60, deadline=None)
@given(labels())
def test_lst_line_round_trip(case):
    width, height, label = case
    line = format_lst_line(7, 'dir/img 1.jpg', record_fields(width, height, label))
    parsed = parse_lst_line(line, 'x.lst:1')
    assert parsed.index == 7 and parsed.path == 'dir/img 1.jpg'
    assert (parsed.record.width, parsed.record.height) == (width, height)
    assert parsed.record.header_width == schema.LST_HEADER_WIDTH
    assert parsed.record.object_width == schema.LST_OBJECT_WIDTH
    restored = label_to_pixels(parsed.record.label, width, height)
    assert restored.shape == label.shape and restored.dtype == np.float32
    # 6 decimals of a normalized coordinate: error <= 0.5e-6 * side.
    np.testing.assert_allclose(restored[:, schema.BOX], label[:, schema.BOX],
                               atol=max(width, height) * 6e-7)
    np.testing.assert_array_equal(restored[:, [schema.CLASS_ID, schema.HARD]],
                                  label[:, [schema.CLASS_ID, schema.HARD]])


def test_line_layout_follows_schema():
    label = _label([[10, 20, 30, 40, 3, 1]])
    line = format_lst_line(0, 'a.jpg', record_fields(100, 50, label))
    assert line == '0\t4\t6\t100\t50\t3\t0.100000\t0.400000\t0.300000\t0.800000\t1\ta.jpg\n'


def test_zero_box_record_is_header_only():
    line = format_lst_line(5, 'neg.jpg', record_fields(64, 32, schema.empty_label()))
    assert line == '5\t4\t6\t64\t32\tneg.jpg\n'
    record = parse_lst_line(line, 'x').record
    assert record.label.shape == (0, schema.LABEL_WIDTH)


def test_width5_record_reads_hard_zero():
    record = parse_record_label([4, 5, 100, 50, 2, .1, .2, .3, .4, 0, .5, .5, .6, .6], 'x')
    assert record.object_width == 5
    np.testing.assert_allclose(record.label, [[.1, .2, .3, .4, 2, 0], [.5, .5, .6, .6, 0, 0]],
                               rtol=1e-6)


def test_short_header_without_size():
    record = parse_record_label([2, 6, 1, .1, .2, .3, .4, 1], 'x')
    assert record.width is None and record.height is None
    np.testing.assert_allclose(record.label, [[.1, .2, .3, .4, 1, 1]], rtol=1e-6)


def test_wider_records_keep_hard_and_drop_extra_fields():
    record = parse_record_label([4, 7, 10, 10, 1, .1, .2, .3, .4, 1, 99], 'x')
    np.testing.assert_allclose(record.label, [[.1, .2, .3, .4, 1, 1]], rtol=1e-6)


@pytest.mark.parametrize('values,message', [
    ([4], 'at least A and B'),
    ([4, 6, 10], 'header width A = 4'),
    ([1.5, 6, 10, 10], 'header width A = 1.5'),
    ([4, 4, 10, 10, 1, 2, 3, 4], 'box width B = 4'),
    ([4, 6, 10, 10, 1, .1, .2, .3, .4], 'do not divide into boxes of 6'),
    ([4, 6, 10, 10, 1, .1, float('nan'), .3, .4, 0], 'NaN'),
])
def test_malformed_record_labels(values, message):
    with pytest.raises(RecordFormatError, match=message) as error:
        parse_record_label(values, 'train.lst:12')
    assert str(error.value).startswith('train.lst:12: ')


@pytest.mark.parametrize('line,message', [
    ('0\t4\t6\n', 'found 3 field'),
    ('0\t4\tsix\t10\t10\ta.jpg\n', 'non-numeric'),
    ('x\t4\t6\t10\t10\ta.jpg\n', 'non-numeric'),
])
def test_malformed_lst_lines(line, message):
    with pytest.raises(RecordFormatError, match=message) as error:
        parse_lst_line(line, 'train.lst:3')
    assert 'train.lst:3' in str(error.value)


def test_path_with_tab_is_refused():
    for path in ('a\tb.jpg', 'a\nb.jpg', 'a\0b.jpg'):
        with pytest.raises(RecordFormatError, match='tab, newline or NUL'):
            format_lst_line(0, path, ['4', '6', '1', '1'])


def test_read_lst_skips_blank_lines_and_numbers_lines(tmp_path):
    path = tmp_path / 'x.lst'
    path.write_text('0\t4\t6\t10\t10\ta.jpg\n\n1\t4\t6\t10\t10\tb.jpg\n')
    assert [(n, line.path) for n, line in read_lst(str(path))] == [(1, 'a.jpg'), (3, 'b.jpg')]


def test_rec_pack_unpack_round_trip(tmp_path):
    rec = str(tmp_path / 'x.rec')
    fields = record_fields(100, 50, _label([[10, 20, 30, 40, 3, 1]]))
    writer = open_rec(rec, 'w')
    writer.write_idx(0, pack_record(0, fields, b'IMAGE0'))
    writer.write_idx(1, pack_record(1, record_fields(8, 8, schema.empty_label()), b'IMAGE1'))
    writer.close()
    reader = open_rec(rec)
    values, record_id, image_bytes = unpack_record(reader.read_idx(0))
    reader.close()
    # The .rec header label holds exactly the numbers of the .lst fields.
    np.testing.assert_array_equal(values, np.array(fields, dtype=np.float32))
    assert record_id == 0 and image_bytes == b'IMAGE0'
    parsed = list(iter_rec_labels(rec))
    assert [(p, i, r.label.shape) for p, i, r in parsed] == [(0, 0, (1, 6)), (1, 1, (0, 6))]


def test_pack_record_makes_the_bytes_mxnet_makes():
    from mxnet import recordio
    for fields in (['4', '6', '8', '8'], record_fields(100, 50, _label([[10, 20, 30, 40, 3, 1]])),
                   ['2', '5']):
        label = np.array(fields, dtype=np.float32)
        ours = pack_record(9, fields, b'\xff\xd8JPEG')
        assert ours == recordio.pack(recordio.IRHeader(0, label, 9, 0), b'\xff\xd8JPEG')
        header, image = recordio.unpack(ours)
        values, record_id, image_bytes = unpack_record(ours)
        np.testing.assert_array_equal(values, header.label)
        assert (record_id, image_bytes) == (header.id, image) == (9, b'\xff\xd8JPEG')


def test_missing_idx_is_a_clear_error(tmp_path):
    rec = tmp_path / 'x.rec'
    rec.write_bytes(b'')
    with pytest.raises(FileNotFoundError, match=r'x\.idx does not exist') as error:
        require_rec_files(str(rec))
    assert isinstance(error.value, InputError)
