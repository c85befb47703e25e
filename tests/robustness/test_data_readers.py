"""Robustness of the readers: a ``.lst`` line or ``.rec`` record that is garbage, an image that is
not one, an index that does not belong to its records: refused when the data set is created,
with the file and line (or record) and what to fix; documented behaviours asserted as such.

Every label case runs twice: as a ``.lst`` line (``open_dataset('lst', ...)``) and as the same
numbers in a ``.rec`` header (``open_dataset('rec', ...)``).
"""
import os
import shutil

import numpy as np
import pytest
from fixtures import write_image, write_text

from gluoncv_hard.data.datasets import open_dataset
from gluoncv_hard.data.problems import DataError
from gluoncv_hard.data.recordio import RecordWriter
from gluoncv_hard.data.records import pack_record
from gluoncv_hard.errors import InputError
from robustness.harness import CodeMarker

# The image every case uses: 100 x 50 pixels; the class list has one name.
W, H = 100, 50
GOOD = ['4', '6', str(W), str(H), '0', '0.1', '0.2', '0.5', '0.8', '0']


def _fields(text):
    return text.split()


# name -> (label fields, what the error says)
LABEL_ERRORS = {
    'pixel_coordinates_of_the_issue': ('4 6 402 283 5 10 10 50 60 0', 'class id 5'),
    'coordinates_above_one': ('4 6 100 50 0 10 10 50 40 0', 'lies outside [0, 1]'),
    'coordinates_below_zero': ('4 6 100 50 0 -0.5 0.1 0.5 0.8 0', 'lies outside [0, 1]'),
    'coordinate_just_past_tolerance': ('4 6 100 50 0 0.1 0.1 1.0011 0.8 0',
                                       'lies outside [0, 1]'),
    'class_beyond_the_list': ('4 6 100 50 1 0.1 0.2 0.5 0.8 0', 'class id 1'),
    'class_minus_one': ('4 6 100 50 -1 0.1 0.2 0.5 0.8 0', 'class id -1'),
    'class_not_an_integer': ('4 6 100 50 0.5 0.1 0.2 0.5 0.8 0', 'class id 0.5'),
    'width_zero': ('4 6 0 50 0 0.1 0.2 0.5 0.8 0', 'W x H = 0 x 50'),
    'height_zero': ('4 6 100 0 0 0.1 0.2 0.5 0.8 0', 'W x H = 100 x 0'),
    'width_and_height_zero': ('4 6 0 0', 'W x H = 0 x 0'),
    'width_negative': ('4 6 -100 50', 'W x H = -100 x 50'),
    'width_fraction': ('4 6 100.5 50', 'W x H = 100.5 x 50'),
    'header_width_three': ('3 6 100 50 0 0.1 0.2 0.5 0.8 0', 'header width A = 3'),
    'header_width_swallows_a_box': ('10 6 100 50 0 0.1 0.2 0.5 0.8 0 0 0.1 0.1 0.2 0.2 0',
                                    'header width A = 10'),
    'header_width_one': ('1 6 100 50', 'header width A = 1'),
    'header_width_longer_than_the_label': ('4 6 100', 'header width A = 4 with 3 numbers'),
    'header_width_fraction': ('2.5 6 100 50', 'header width A = 2.5'),
    'box_width_four': ('4 4 100 50 0 0.1 0.2 0.5', 'box width B = 4'),
    'box_width_fraction': ('4 6.5 100 50', 'box width B = 6.5'),
    'box_fields_cut': ('4 6 100 50 0 0.1 0.2 0.5 0.8', '5 box fields after the 4-field header'),
    'nan_coordinate': ('4 6 100 50 0 nan 0.2 0.5 0.8 0', 'NaN or infinity'),
    'infinite_coordinate': ('4 6 100 50 0 0.1 0.2 inf 0.8 0', 'NaN or infinity'),
    'hard_two': ('4 6 100 50 0 0.1 0.2 0.5 0.8 2', 'hard flag 2.0'),
    'hard_minus_one': ('4 6 100 50 0 0.1 0.2 0.5 0.8 -1', 'hard flag -1.0'),
    'hard_half': ('4 6 100 50 0 0.1 0.2 0.5 0.8 0.5', 'hard flag 0.5'),
    'inverted_box': ('4 6 100 50 0 0.5 0.2 0.1 0.8 0', 'inverted or has zero area'),
    'zero_area_box': ('4 6 100 50 0 0.1 0.2 0.1 0.8 0', 'inverted or has zero area'),
    'no_area_once_clipped': ('4 6 100 50 0 1.0002 0.2 1.0008 0.8 0',
                             'no area inside the image once clipped'),
    'size_of_another_image': ('4 6 50 100 0 0.1 0.2 0.5 0.8 0',
                              'the record says the image is 50x100 but it decodes as 100x50'),
}
REC_ONLY_LABEL_ERRORS = {
    'label_of_one_number': ('4', 'record label has 1 numbers'),
}
LST_ONLY_ERRORS = {
    'non_numeric_field': ('0\t4\t6\t100\tfifty\ta.jpg', 'non-numeric field'),
    'three_fields': ('0\t4\ta.jpg', 'expected tab-separated'),
    'path_climbs_out': ('0\t4\t6\t100\t50\t../a.jpg', "image path '../a.jpg' leads outside "
                                                      'data_root'),
    'path_climbs_out_inside': ('0\t4\t6\t100\t50\tsub/../../a.jpg', 'leads outside data_root'),
    'absolute_path_with_a_root': ('0\t4\t6\t100\t50\t/etc/hostname', "'/etc/hostname' leads "
                                                                     'outside data_root'),
    'empty_path': ('0\t4\t6\t100\t50\t', 'the image path (last field) is empty'),
    'nul_in_path': ('0\t4\t6\t100\t50\ta\0.jpg', 'holds a NUL byte'),
    'missing_image': ('0\t4\t6\t100\t50\tgone.jpg', 'gone.jpg does not exist; .lst image paths '
                                                    'are relative to data_root'),
    'image_is_a_folder': ('0\t4\t6\t100\t50\tsub', 'sub does not exist'),
    'image_is_text': ('0\t4\t6\t100\t50\tnotes.jpg', 'unreadable image'),
    'image_is_empty': ('0\t4\t6\t100\t50\tempty.jpg', 'unreadable image'),
    'image_header_cut': ('0\t4\t6\t100\t50\tcut.jpg', 'header is truncated'),
    'image_is_a_pickle': ('0\t4\t6\t100\t50\tpickle.jpg', 'unreadable image'),
}


@pytest.fixture
def folder(tmp_path):
    """``tmp/img`` with a.jpg (100x50) and broken images; ``tmp/x.classes.txt`` with 1 class."""
    img = tmp_path / 'img'
    write_image(str(img / 'a.jpg'), W, H)
    (img / 'sub').mkdir()
    write_text(str(img / 'notes.jpg'), 'these are notes, not an image\n')
    write_text(str(img / 'empty.jpg'), '')
    with open(str(img / 'a.jpg'), 'rb') as f:
        head = f.read(30)
    (img / 'cut.jpg').write_bytes(head)
    (img / 'pickle.jpg').write_bytes(CodeMarker(str(tmp_path / 'ran')).payload())
    write_text(str(tmp_path / 'x.classes.txt'), 'face\n')
    return tmp_path


def _lst(folder, line):
    return write_text(str(folder / 'x.lst'), line + '\n')


def _rec(folder, records):
    """``x.rec``/``x.idx`` from ``[(fields, image bytes), ...]``."""
    with open(str(folder / 'x.rec'), 'wb') as rec, open(str(folder / 'x.idx'), 'w') as idx:
        writer = RecordWriter(rec, idx)
        for key, (fields, image) in enumerate(records):
            writer.write(key, pack_record(key, fields, image))
    return str(folder / 'x.rec')


def _image_bytes(folder, name='a.jpg'):
    with open(str(folder / 'img' / name), 'rb') as f:
        return f.read()


@pytest.mark.parametrize('kind, name', [(kind, name) for kind in ('lst', 'rec')
                                        for name in sorted(LABEL_ERRORS)]
                         + [('rec', name) for name in sorted(REC_ONLY_LABEL_ERRORS)])
def test_a_bad_label_is_refused_at_creation(folder, kind, name):
    fields, needle = LABEL_ERRORS.get(name) or REC_ONLY_LABEL_ERRORS[name]
    if kind == 'lst':
        path, where = _lst(folder, '\t'.join(['0'] + _fields(fields) + ['a.jpg'])), 'x.lst:1: '
    else:
        path, where = _rec(folder, [(_fields(fields), _image_bytes(folder))]), 'x.rec record 0: '
    with pytest.raises(DataError) as error:
        open_dataset(kind, path, data_root=str(folder / 'img'))
    assert where + '' in str(error.value) and needle in str(error.value), str(error.value)


@pytest.mark.parametrize('name', sorted(LST_ONLY_ERRORS))
def test_a_bad_lst_line_or_image_is_refused_at_creation(folder, name):
    line, needle = LST_ONLY_ERRORS[name]
    path = _lst(folder, line)
    with pytest.raises(DataError) as error:
        open_dataset('lst', path, data_root=str(folder / 'img'))
    assert 'x.lst:1: ' in str(error.value) and needle in str(error.value), str(error.value)
    # A missing image is about data_root (the command line shows --data-root).
    assert error.value.param == ('data_root' if name in ('missing_image', 'image_is_a_folder')
                                 else None)
    assert not os.path.exists(str(folder / 'ran'))  # no data file ever runs code


REC_IMAGE_ERRORS = {
    'image_is_text': (b'these are notes, not an image', 'unreadable image'),
    'image_is_empty': (b'', 'unreadable image'),
    'image_is_a_pickle': (None, 'unreadable image'),
    'image_header_cut': ('cut', 'unreadable image: header is truncated'),
}


@pytest.mark.parametrize('name', sorted(REC_IMAGE_ERRORS))
def test_a_record_whose_image_is_not_one_is_refused_at_creation(folder, name):
    image, needle = REC_IMAGE_ERRORS[name]
    if image is None:
        image = CodeMarker(str(folder / 'ran')).payload()
    elif image == 'cut':
        image = _image_bytes(folder)[:30]
    rec = _rec(folder, [(GOOD, _image_bytes(folder)), (GOOD, image)])
    with pytest.raises(DataError, match='^1 error:') as error:
        open_dataset('rec', rec)
    assert 'x.rec record 1: ' + needle in str(error.value)
    assert not os.path.exists(str(folder / 'ran'))


# --- the .lst file itself ---------------------------------------------------------------------

def test_a_binary_lst_is_refused(folder):
    path = folder / 'x.lst'
    path.write_bytes(b'0\t4\t6\t100\t50\ta.jpg\n\xff\xfe\x00\x01')
    with pytest.raises(InputError, match=r'x.lst:2: not UTF-8 text \(byte 19\)'):
        open_dataset('lst', str(path), data_root=str(folder / 'img'))


def test_every_bad_line_is_reported_at_once(folder):
    lines = ['\t'.join(['0'] + _fields(LABEL_ERRORS[name][0]) + ['a.jpg'])
             for name in sorted(LABEL_ERRORS)]
    path = write_text(str(folder / 'x.lst'), '\n'.join(lines) + '\n')
    with pytest.raises(DataError) as error:
        open_dataset('lst', path, data_root=str(folder / 'img'))
    assert len(error.value.problems) == len(LABEL_ERRORS)
    assert str(error.value).startswith('{} errors:'.format(len(LABEL_ERRORS)))


# --- documented behaviours ---------------------------------------------------------------------

def _read(folder, kind, fields, path='a.jpg', image=None, root=None):
    if kind == 'lst':
        source = _lst(folder, '\t'.join(['0'] + _fields(fields) + [path]))
    else:
        source = _rec(folder, [(_fields(fields), image or _image_bytes(folder))])
    dataset, _ = open_dataset(kind, source, data_root=str(folder / 'img') if root is None
                              else root)
    return dataset[0][1]


@pytest.mark.parametrize('kind', ['lst', 'rec'])
def test_documented_label_behaviours(folder, kind):
    # Within COORDINATE_TOLERANCE (1e-3 of the side) outside: clipped onto the border.
    np.testing.assert_allclose(_read(folder, kind, '4 6 100 50 0 -0.0009 0.2 1.0009 0.8 1'),
                               [[0, 10, 100, 40, 0, 1]], atol=1e-4)
    # B = 5 (no hard field): hard = 0; B = 7: the first six fields.
    np.testing.assert_allclose(_read(folder, kind, '4 5 100 50 0 0.1 0.2 0.5 0.8'),
                               [[10, 10, 50, 40, 0, 0]], rtol=1e-6)
    np.testing.assert_allclose(_read(folder, kind, '4 7 100 50 0 0.1 0.2 0.5 0.8 1 9'),
                               [[10, 10, 50, 40, 0, 1]], rtol=1e-6)
    # A = 2 (no image size): coordinates scaled by the decoded size, no size check.
    np.testing.assert_allclose(_read(folder, kind, '2 6 0 0.1 0.2 0.5 0.8 0'),
                               [[10, 10, 50, 40, 0, 0]], rtol=1e-6)
    # A row of -1 (padding, as some writers pad labels) is no box; zero boxes: (0, 6).
    assert _read(folder, kind, '4 6 100 50 -1 -1 -1 -1 -1 -1').shape == (0, 6)
    assert _read(folder, kind, '4 6 100 50').shape == (0, 6)


def test_documented_path_and_image_behaviours(folder):
    # With data_root '' an absolute path is used as written.
    image = str(folder / 'img' / 'a.jpg')
    assert _read(folder, 'lst', '4 6 100 50', path=image, root='').shape == (0, 6)
    # A PNG named .jpg reads (formats are told by their bytes, not their names).
    write_image(str(folder / 'img' / 'p.png'), W, H)
    shutil.move(str(folder / 'img' / 'p.png'), str(folder / 'img' / 'p.jpg'))
    assert _read(folder, 'lst', '4 6 100 50', path='p.jpg').shape == (0, 6)
    # A JPEG without its end marker reads, with a warning that it may be cut short.
    data = _image_bytes(folder)
    (folder / 'img' / 'noend.jpg').write_bytes(data[:-2])
    with pytest.warns(UserWarning, match='does not end with its end marker'):
        _read(folder, 'lst', '4 6 100 50', path='noend.jpg')


def _damaged_png(folder):
    """A PNG whose header reads (100x50) but whose pixel data fails its CRC."""
    write_image(str(folder / 'img' / 'p.png'), W, H)
    data = bytearray((folder / 'img' / 'p.png').read_bytes())
    start = data.find(b'IDAT') + 20
    data[start:start + 180] = b'\0' * 180
    return bytes(data)


@pytest.mark.parametrize('kind', ['lst', 'rec'])
def test_damage_after_the_header(folder, kind):
    """Documented: the default header check cannot see damage in the pixel data; reading such an
    image is an InputError naming the record (exit 2), and ``image_check='decode'`` finds it
    when the data set is created. (A JPEG damaged the same way decodes, with grey rows: MXNet's
    decoder accepts it.)"""
    from gluoncv_hard.data import LstDetection, RecordFileDetection
    (folder / 'img' / 'bad.png').write_bytes(_damaged_png(folder))
    if kind == 'lst':
        path = _lst(folder, '0\t4\t6\t100\t50\tbad.png')

        def make(check):
            return LstDetection(path, root=str(folder / 'img'), image_check=check)
        where = 'x.lst:1'
    else:
        path = _rec(folder, [(GOOD[:4], _damaged_png(folder))])

        def make(check):
            return RecordFileDetection(path, image_check=check)
        where = 'x.rec record 0'
    dataset = make('header')
    with pytest.raises(InputError, match=where + r': the image cannot be decoded \(.*Decoding '
                                               r'failed'):
        dataset[0]
    with pytest.raises(DataError, match=where + ': the image cannot be decoded'):
        make('decode')


# --- .rec / .idx damage -----------------------------------------------------------------------

@pytest.fixture
def rec_set(folder):
    """A 4-record .rec/.idx of a.jpg with the converter's manifest-free layout."""
    return _rec(folder, [(GOOD, _image_bytes(folder))] * 4)


def _idx(rec_set):
    with open(rec_set[:-4] + '.idx') as f:
        return f.read().splitlines(keepends=True)


def _put(path, data):
    with open(path, 'wb' if isinstance(data, bytes) else 'w') as f:
        f.write(data)


def _rec_bytes(rec_set):
    with open(rec_set, 'rb') as f:
        return f.read()


REC_DAMAGE = {
    'index_cut_at_a_line': (lambda r: _put(r[:-4] + '.idx', ''.join(_idx(r)[:2])),
                            'x.idx lists 2 records but'),
    'index_lines_duplicated': (lambda r: _put(r[:-4] + '.idx', ''.join(_idx(r) + _idx(r)[1:2])),
                               'x.idx:5: key 1 is listed again'),
    'index_cut_mid_line': (lambda r: _put(r[:-4] + '.idx', ''.join(_idx(r)[:3]) + '3'),
                           'x.idx:4: expected "key<TAB>offset"'),
    'index_empty': (lambda r: _put(r[:-4] + '.idx', ''), 'x.idx lists 0 records but'),
    'index_offset_shifted': (lambda r: _put(r[:-4] + '.idx', ''.join(_idx(r)[:1]) + '1\t8\n'
                                            + ''.join(_idx(r)[2:])),
                             'offset 8 of key 1 is not where a record'),
    'index_of_another_rec': (lambda r: _put(r[:-4] + '.idx', '0\t0\n1\t77\n'),
                             'offset 77 of key 1 is not where a record'),
    'index_is_a_pickle': (lambda r: _put(r[:-4] + '.idx', CodeMarker(r + '.ran').payload()),
                          'not a .idx file'),
    'index_keys_are_not_the_record_ids': (
        lambda r: _put(r[:-4] + '.idx', ''.join('{}\t{}'.format(int(k) + 10, o) for k, o in
                                                (line.split('\t') for line in _idx(r)))),
        'has id 0 but'),
    'rec_truncated': (lambda r: _put(r, _rec_bytes(r)[:-100]), 'the .rec is truncated'),
    'rec_truncated_in_a_header': (lambda r: _put(r, _rec_bytes(r)[:len(_rec_bytes(r)) // 4 * 1
                                                                  + 3]),
                                  'truncated'),
    'rec_with_garbage_appended': (lambda r: _put(r, _rec_bytes(r) + b'garbage!'),
                                  'no record starts at byte'),
    'rec_is_not_a_recordio_file': (lambda r: _put(r, b'\xff\xd8\xff\xe0' * 50),
                                   'no record starts at byte 0'),
    'rec_is_a_pickle': (lambda r: _put(r, CodeMarker(r + '.ran').payload()),
                        'no record starts at byte 0'),
    'rec_empty_but_indexed': (lambda r: _put(r, b''), 'offset 0 of key 0 is not where a record'),
}


@pytest.mark.parametrize('name', sorted(REC_DAMAGE))
def test_rec_and_idx_damage_is_diagnosed(rec_set, name):
    damage, needle = REC_DAMAGE[name]
    damage(rec_set)
    with pytest.raises(InputError) as error:
        open_dataset('rec', rec_set)
    assert needle in str(error.value), str(error.value)
    assert not os.path.exists(rec_set + '.ran')


def test_a_missing_idx_and_an_empty_set(folder):
    rec = _rec(folder, [])
    # Documented: an empty .rec with an empty .idx is a data set of zero images.
    assert len(open_dataset('rec', rec)[0]) == 0
    os.remove(rec[:-4] + '.idx')
    with pytest.raises(InputError, match=r'x.idx does not exist; a .rec file needs its .idx'):
        open_dataset('rec', rec)


# --- manifests: the converter's outputs as one set --------------------------------------------

@pytest.fixture
def converted(tmp_path):
    from fixtures import small_voc

    from gluoncv_hard.cli.convert import convert_main
    root = small_voc(tmp_path / 'VOC')
    out = str(tmp_path / 'out' / 'x.lst')
    for sets, name in (('train,val', out), ('train', out[:-4] + '.other.lst')):
        assert convert_main(['--format', 'voc', '--root', root, '--sets', sets, '--rec',
                             '--out', name, '--no-progress']) == 0
    return out, os.path.join(root, 'JPEGImages')


def _open_both(out, image_root):
    return (open_dataset('lst', out, image_root)[0], open_dataset('rec', out[:-4] + '.rec')[0])


MANIFEST_CASES = {
    'lst_edited': (lambda out: _put(out, open(out).read().replace('\t0\t', '\t1\t', 1)),
                   ['lst'], 'x.lst does not match'),
    'classes_replaced': (lambda out: _put(out[:-4] + '.classes.txt', 'dog\ncat\n'),
                         ['lst', 'rec'], 'x.classes.txt does not match'),
    'rec_of_another_conversion': (lambda out: shutil.copy(out[:-4] + '.other.rec',
                                                          out[:-4] + '.rec'),
                                  ['rec'], 'is not where a record of'),
    'rec_and_idx_of_another_conversion': (
        lambda out: [shutil.copy(out[:-4] + '.other' + e, out[:-4] + e) for e in ('.rec', '.idx')],
        ['rec'], 'does not match'),
    'idx_replaced': (lambda out: _put(out[:-4] + '.idx', '0\t0\n'), ['rec'], 'x.idx'),
    'manifest_damaged': (lambda out: _put(out[:-4] + '.manifest.json', '{"files": 3'),
                         ['lst', 'rec'], 'is not a readable conversion manifest'),
    'manifest_is_a_pickle': (lambda out: _put(out[:-4] + '.manifest.json',
                                              CodeMarker(out + '.ran').payload()),
                             ['lst', 'rec'], 'is not a readable conversion manifest'),
    'member_removed': (lambda out: os.remove(out[:-4] + '.idx'), ['rec'], 'x.idx does not exist'),
}


@pytest.mark.parametrize('name', sorted(MANIFEST_CASES))
def test_a_set_that_does_not_match_its_manifest_is_refused(converted, name):
    out, image_root = converted
    assert [len(d) for d in _open_both(out, image_root)] == [3, 3]
    damage, refused, needle = MANIFEST_CASES[name]
    damage(out)
    for kind, path in (('lst', out), ('rec', out[:-4] + '.rec')):
        if kind in refused:
            with pytest.raises(InputError) as error:
                open_dataset(kind, path, image_root)
            if needle:
                assert needle in str(error.value), str(error.value)
        else:
            assert len(open_dataset(kind, path, image_root)[0]) == 3
    assert not os.path.exists(out + '.ran')


def test_documented_manifest_behaviours(converted):
    out, image_root = converted
    # The .rec is checked by size (hashing it on every open would be slow): the same number of
    # bytes changed in place goes unnoticed by the manifest (the .idx and records still check).
    data = bytearray(open(out[:-4] + '.rec', 'rb').read())
    data[-8:-4] = b'\0\0\0\0'
    _put(out[:-4] + '.rec', bytes(data))
    assert len(open_dataset('rec', out[:-4] + '.rec')[0]) == 3
    # Deleting the manifest turns the check off (e.g. after editing a file on purpose).
    _put(out, open(out).read().replace('\t0\t', '\t1\t', 1))
    os.remove(out[:-4] + '.manifest.json')
    assert len(open_dataset('lst', out, image_root)[0]) == 3
    # Moved together (renamed folder), the set still checks out.
    moved = os.path.join(os.path.dirname(os.path.dirname(out)), 'moved')
    shutil.copytree(os.path.dirname(out), moved)
    assert len(open_dataset('rec', os.path.join(moved, 'x.rec'))[0]) == 3


@pytest.mark.parametrize('name', ['index_cut_at_a_line', 'index_cut_mid_line', 'rec_truncated',
                                  'index_lines_duplicated'])
def test_the_stats_tool_diagnoses_the_same_damage(rec_set, name, capsys):
    from gluoncv_hard.cli.lst_stats import main as stats_main
    from robustness.harness import clear_error, run_main
    damage, needle = REC_DAMAGE[name]
    damage(rec_set)
    clear_error(run_main(stats_main, [rec_set]), capsys.readouterr().err, needle)
