"""Folders of images without objects (negatives): every image becomes a zero-box item."""
import os

from gluoncv_hard.data.items import Source, SourceItem

__all__ = ['IMAGE_EXTENSIONS', 'is_image_file', 'negatives_source']

# Looked up in this order where an image is found by id (VOC); matched case-insensitively.
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff')


def is_image_file(name):
    """True for a file name with one of ``IMAGE_EXTENSIONS`` (any case)."""
    return os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS


def negatives_source(folder, log):
    """Every image under ``folder`` (recursively, sorted by relative path) with no objects.

    Parameters
    ----------
    folder : str
    log : ProblemLog
        A missing folder, or one without any image, is reported as an error (it is almost
        always a wrong path).

    Returns
    -------
    Source
        ``kind='negatives'``; image ids are ``<folder name>/<path relative to folder>``.
    """
    if not os.path.isdir(folder):
        log.error(folder, 'negatives folder does not exist', 'check the folder path')
        return Source('negatives', [])
    folder_name = os.path.basename(os.path.normpath(os.path.abspath(folder)))
    relative_paths = []
    for directory, subdirectories, files in os.walk(folder):
        subdirectories.sort()
        relative_paths += [os.path.relpath(os.path.join(directory, name), folder)
                           for name in files if is_image_file(name)]
    if not relative_paths:
        log.error(folder, 'negatives folder holds no image ({})'.format(
            ', '.join(IMAGE_EXTENSIONS)), 'check the folder path')
    items = [SourceItem('{}/{}'.format(folder_name, relative.replace(os.sep, '/')),
                        os.path.join(folder, relative), os.path.join(folder, relative),
                        None, None, ())
             for relative in sorted(relative_paths)]
    return Source('negatives', items)
