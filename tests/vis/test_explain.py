from gluoncv_hard.cli import explain as explain_cli
from gluoncv_hard.vis import explain


def _cell_at(lines, x, y):
    col = round(x / explain.GRID_STEP) - 1
    row = round(y / explain.GRID_STEP) - 1
    return lines[row][col]


def test_anchor_on_hard_box_per_policy():
    x, y = 120, 36  # the hard box centre's nearest grid anchor is its best anchor
    assert _cell_at(explain.render('positive'), x, y) == '+'
    assert _cell_at(explain.render('drop'), x, y) == '-'
    assert _cell_at(explain.render('ignore'), x, y) == '.'


def test_precedence_changes_only_the_shared_region():
    normal_wins = explain.render('ignore', precedence='normal_wins')
    ignore_wins = explain.render('ignore', precedence='ignore_wins')
    diff = [(r, c) for r, (a, b) in enumerate(zip(normal_wins, ignore_wins))
            for c, (p, q) in enumerate(zip(a, b)) if p != q]
    assert diff and all(normal_wins[r][c] == '+' and ignore_wins[r][c] == '.' for r, c in diff)


def test_cli_prints_every_policy(capsys):
    explain_cli.main(['--overlap', 'iou', '--thresh', '0.3'])
    out = capsys.readouterr().out
    assert 'hard_policy = positive' in out and 'hard_policy = ignore (iou, > 0.3' in out
