"""Layers import downwards only (docs/architecture.md), and only cli/ imports cli/."""
import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / 'gluoncv_hard'

# Rank of each top-level part of the package: a module may import ranks <= its own.
RANKS = {
    'schema': 0, 'errors': 0, 'utils': 0,
    'core': 1,
    'modeling': 2, 'data': 2, 'demo': 2,
    'engine': 3, 'evaluation': 3,
    'mining': 4, 'audit': 4, 'vis': 4,
    'cli': 5,
}
# ``gluoncv_hard/__init__.py`` re-exports modeling and data classes.
ROOT_RANK = 2


def _part_of(module):
    """``'gluoncv_hard.core.matching'`` -> ``'core'``; ``None`` for the package root."""
    parts = module.split('.')
    return parts[1] if len(parts) > 1 else None


def _rank(module):
    part = _part_of(module)
    return ROOT_RANK if part is None else RANKS[part]


def _imports(source, here, is_package=False):
    """Absolute names of the gluoncv_hard modules that ``source`` (module ``here``) imports."""
    package = here if is_package else here.rsplit('.', 1)[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.split('.')[0] == 'gluoncv_hard']
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                anchor = package.split('.')
                anchor = anchor[:len(anchor) - node.level + 1]
                base = '.'.join(anchor + ([base] if base else []))
            if base.split('.')[0] != 'gluoncv_hard':
                continue
            for alias in node.names:
                candidate = PACKAGE.parent.joinpath(*(base + '.' + alias.name).split('.'))
                is_module = candidate.with_suffix('.py').is_file() or candidate.is_dir()
                found.append(base + '.' + alias.name if is_module else base)
    return found


def _upward(source, here, is_package=False):
    """The imports of ``source`` that point to a higher layer than ``here``'s."""
    return [m for m in _imports(source, here, is_package) if _rank(m) > _rank(here)]


MODULES = sorted(p for p in PACKAGE.rglob('*.py') if p != PACKAGE / '__init__.py')


def test_every_part_has_a_rank():
    parts = {p.relative_to(PACKAGE).parts[0].removesuffix('.py') for p in MODULES}
    assert parts <= set(RANKS), 'add the new part to RANKS and docs/architecture.md: {}'.format(
        parts - set(RANKS))


@pytest.mark.parametrize('path', MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down(path):
    here = '.'.join(path.relative_to(PACKAGE.parent).with_suffix('').parts)
    is_package = path.name == '__init__.py'
    if is_package:
        here = here.rsplit('.', 1)[0]
    upward = _upward(path.read_text(encoding='utf-8'), here, is_package)
    assert not upward, '{} (rank {}) imports higher layers: {}'.format(here, _rank(here), upward)


def test_the_checker_finds_upward_imports():
    # Absolute, relative, module-name and function-local imports are all seen.
    source = ('from gluoncv_hard.cli import status\n'
              'from ..engine import trainer\n'
              'import gluoncv_hard.vis.draw\n'
              'def f():\n    from gluoncv_hard.mining.rounds import run_rounds\n'
              'from gluoncv_hard import schema\n'
              'from .overlaps import pairwise_iou\n')
    assert _upward(source, 'gluoncv_hard.core.matching') == [
        'gluoncv_hard.cli.status', 'gluoncv_hard.engine.trainer', 'gluoncv_hard.vis.draw',
        'gluoncv_hard.mining.rounds']
    assert _upward(source, 'gluoncv_hard.cli.train') == []
