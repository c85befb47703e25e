import os
import stat

import pytest

from gluoncv_hard.utils.atomic import atomic_outputs


def test_outputs_appear_together_with_normal_permissions(tmp_path):
    paths = [str(tmp_path / 'a.rec'), str(tmp_path / 'a.lst')]
    with atomic_outputs(*paths) as temps:
        for temp in temps:
            assert os.path.dirname(temp) == str(tmp_path)
            with open(temp, 'w') as f:
                f.write('data')
        assert sorted(os.listdir(str(tmp_path))) == sorted(os.path.basename(t) for t in temps)
    assert sorted(os.listdir(str(tmp_path))) == ['a.lst', 'a.rec']
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(os.stat(paths[0]).st_mode) == 0o666 & ~mask


def test_failure_removes_temporaries_and_keeps_old_files(tmp_path):
    old = tmp_path / 'a.lst'
    old.write_text('old')
    with pytest.raises(RuntimeError):
        with atomic_outputs(str(old), str(tmp_path / 'a.idx')) as temps:
            open(temps[0], 'w').write('new')
            raise RuntimeError('boom')
    assert os.listdir(str(tmp_path)) == ['a.lst'] and old.read_text() == 'old'
