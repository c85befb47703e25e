"""The manifest that makes a conversion's outputs one set: ``OUT.manifest.json``.

The converter renames its outputs into place one after the other (``.rec``, ``.idx``,
``.classes.txt``, ``.lst``, then the manifest). A run killed between two renames would leave new
files beside old ones: a new ``.rec`` with the old ``.idx``, or a new ``.lst`` with the old class
list, whose ids then name other classes without a sign. The manifest, renamed last, records the
size and SHA-256 of each of its siblings; the readers compare the files they open with it, so a
mixed set is refused with a message instead of read.

A file without a manifest beside it (written by other tools) is read without this check. The
``.rec`` is checked by size only (hashing gigabytes on every open would be slow); its ``.idx``,
which pins every record's offset, by SHA-256.
"""
import hashlib
import json
import os

from gluoncv_hard.errors import InputError

__all__ = ['MANIFEST_KIND', 'MANIFEST_VERSION', 'ManifestError', 'HashingWriter',
           'manifest_path_for', 'manifest_text', 'file_digest', 'check_manifest']

MANIFEST_KIND = 'gluoncv-hard conversion outputs'
MANIFEST_VERSION = 1
# Members checked by size only.
_SIZE_ONLY = frozenset(('rec',))


class ManifestError(InputError):
    """Files that a manifest says belong together do not match it."""


class HashingWriter:
    """Wraps a binary file object: ``write`` also feeds a SHA-256 and counts bytes."""

    def __init__(self, f):
        self._f = f
        self.sha256 = hashlib.sha256()
        self.size = 0

    def write(self, data):
        self._f.write(data)
        self.sha256.update(data)
        self.size += len(data)
        return len(data)


def manifest_path_for(path):
    """The manifest of an output set: ``out.lst`` (or ``out.rec``) -> ``out.manifest.json``."""
    return os.path.splitext(path)[0] + '.manifest.json'


def file_digest(path):
    """``(size, sha256 hex)`` of a file."""
    digest, size = hashlib.sha256(), 0
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def manifest_text(members):
    """The manifest JSON for ``members``: ``{kind: (final path, size, sha256 hex)}``."""
    files = {kind: {'name': os.path.basename(path), 'bytes': size, 'sha256': sha}
             for kind, (path, size, sha) in members.items()}
    return json.dumps({'manifest': MANIFEST_KIND, 'version': MANIFEST_VERSION, 'files': files},
                      indent=1, sort_keys=True) + '\n'


def _read_manifest(path):
    try:
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
    except (ValueError, RecursionError):
        data = None
    files = data.get('files') if isinstance(data, dict) else None
    if not (isinstance(data, dict) and data.get('manifest') == MANIFEST_KIND
            and isinstance(files, dict)
            and all(isinstance(v, dict) and isinstance(v.get('name'), str)
                    and isinstance(v.get('bytes'), int) for v in files.values())):
        raise ManifestError('{} is not a readable conversion manifest; convert again, or delete '
                            'it to read the files without checking that they belong '
                            'together'.format(path))
    return files


def check_manifest(data_path, kinds, paths=None):
    """Check files against the manifest beside ``data_path``, if there is one.

    Parameters
    ----------
    data_path : str
        The ``.lst`` or ``.rec`` being opened; its manifest is ``manifest_path_for(data_path)``.
    kinds : sequence of str
        Which members to check (``'lst'``, ``'rec'``, ``'idx'``, ``'classes'``).
    paths : dict, optional
        ``kind -> path`` of the files to check; by default the file the manifest names, in the
        manifest's folder.

    Raises
    ------
    ManifestError
        When a checked file's size or SHA-256 differs from the manifest's, or a file named
        there is missing: the files are not from one conversion.
    """
    manifest = manifest_path_for(data_path)
    if not os.path.isfile(manifest):
        return
    files = _read_manifest(manifest)
    folder = os.path.dirname(manifest)
    for kind in kinds:
        entry = files.get(kind)
        if entry is None:
            continue
        path = (paths or {}).get(kind) or os.path.join(folder, entry['name'])
        fix = ('the files are not from one conversion (one interrupted between its renames, or a '
               'file replaced or edited since): convert again, or delete {} if you changed the '
               'file on purpose'.format(manifest))
        if not os.path.isfile(path):
            raise ManifestError('{} lists {} but it does not exist; {}'.format(manifest, path,
                                                                               fix))
        if kind in _SIZE_ONLY:
            size, sha = os.path.getsize(path), None
        else:
            size, sha = file_digest(path)
        if size != entry['bytes'] or (sha is not None and sha != entry.get('sha256')):
            raise ManifestError('{} does not match {} ({} bytes, the manifest says {}{}); {}'
                                .format(path, manifest, size, entry['bytes'],
                                        '' if sha is None else ' and another SHA-256', fix))
