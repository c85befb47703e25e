import os

from fixtures import write_image, write_text

from gluoncv_hard.data.negatives import negatives_source
from gluoncv_hard.data.problems import ProblemLog


def test_every_image_becomes_a_zero_box_item(tmp_path):
    folder = tmp_path / 'bg'
    write_image(str(folder / 'b.jpg'), 8, 8)
    write_image(str(folder / 'A.PNG'), 8, 8)
    write_image(str(folder / 'sub' / 'c.jpg'), 8, 8)
    write_text(folder / 'notes.txt', 'not an image')
    log = ProblemLog()
    source = negatives_source(str(folder), log)
    assert not log.errors
    assert [i.image_id for i in source.items] == ['bg/A.PNG', 'bg/b.jpg', 'bg/sub/c.jpg']
    assert all(i.objects == () and i.width is None for i in source.items)
    assert source.items[2].image_path == os.path.join(str(folder), 'sub', 'c.jpg')


def test_missing_or_empty_folder_is_an_error(tmp_path):
    log = ProblemLog()
    negatives_source(str(tmp_path / 'nope'), log)
    (tmp_path / 'empty').mkdir()
    negatives_source(str(tmp_path / 'empty'), log)
    assert 'does not exist' in str(log.errors[0])
    assert 'holds no image' in str(log.errors[1])
