"""An offline demo face-detection data set with hard boxes by construction.

Built from image content bundled with scikit-image; see ``docs/demo_data.md``. The public
functions are imported on first use, so that importing the package (e.g. for
``is_complete_output``) does not load OpenCV and scikit-image.
"""
import importlib

__all__ = ['generate_demo_dataset', 'load_meta', 'is_complete_output']

_LOCATIONS = {
    'generate_demo_dataset': 'generate',
    'load_meta': 'generate',
    'is_complete_output': 'staging',
}


def __getattr__(name):
    if name in _LOCATIONS:
        module = importlib.import_module('.' + _LOCATIONS[name], __name__)
        return getattr(module, name)
    raise AttributeError('module {!r} has no attribute {!r}'.format(__name__, name))
