"""Optional dependencies of some tests: skip without them, unless CI requires them.

``.ci/run`` installs every optional dependency the suite uses and sets
``GLUONCV_HARD_REQUIRE`` (comma-separated names, e.g. ``horovod,pycocotools``): there a
missing one fails the tests that need it instead of skipping them, so CI never passes by
skipping.
"""
import importlib
import os

import pytest

REQUIRE_ENV = 'GLUONCV_HARD_REQUIRE'


def required(name):
    """Whether CI requires the optional dependency ``name``."""
    return name in {part.strip() for part in os.environ.get(REQUIRE_ENV, '').split(',')}


def missing(name, reason):
    """Skip the calling test (module) for the missing dependency ``name``, or fail in CI."""
    message = '{} is not available: {}'.format(name, reason)
    if required(name):
        pytest.fail(message + ' ({} requires it)'.format(REQUIRE_ENV), pytrace=False)
    pytest.skip(message, allow_module_level=True)


def import_or_skip(module, name=None, reason=''):
    """``importlib.import_module(module)``, or :func:`missing`."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        missing(name or module.split('.')[0], reason or str(e))
