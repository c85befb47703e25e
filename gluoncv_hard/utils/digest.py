"""Size and SHA-256 of a file, the fingerprint that sidecars record for the files they describe."""
import hashlib

__all__ = ['file_digest']


def file_digest(path):
    """``{'bytes': size, 'sha256': hex digest}`` of a file."""
    digest = hashlib.sha256()
    size = 0
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
            size += len(block)
    return {'bytes': size, 'sha256': digest.hexdigest()}
