"""The real image content the demo data set is built from, all shipped inside scikit-image.

Everything here loads without network access: the LFW crops and the background photos are
files inside the scikit-image wheel (``skimage/data/``), not pooch downloads.

Patches
-------
``skimage.data.lfw_subset()`` holds 200 crops of 25 x 25 grayscale pixels: indices 0-99 are
faces, 100-199 are non-faces cut from the backgrounds of the same LFW photos (many of them are
parts of faces, which makes them genuine hard negatives). Faces and non-faces are split **by
index** into a train pool and a test pool, so the faces in validation scenes are identities the
detector never saw in training.

Backgrounds
-----------
Photos and textures checked by eye to contain no face and no animal. Pictures that do contain
one are listed in ``FORBIDDEN_BACKGROUNDS`` with the reason; an unlabelled face in a background
would be a false "negative" in every scene cut from it.
"""
import functools

import cv2
import numpy as np
import skimage.data

from gluoncv_hard.errors import SetupError

__all__ = [
    'LFW_PATCH_SIZE', 'FACE_INDICES', 'NONFACE_INDICES', 'PATCH_POOLS', 'PatchPool',
    'BACKGROUND_NAMES', 'FORBIDDEN_BACKGROUNDS', 'MINING_HELDOUT_BACKGROUNDS',
    'load_lfw_patches', 'load_backgrounds',
]

LFW_PATCH_SIZE = 25
FACE_INDICES = tuple(range(0, 100))
NONFACE_INDICES = tuple(range(100, 200))


class PatchPool:
    """The LFW indices one split may draw from.

    Parameters
    ----------
    faces, nonfaces : tuple of int
        Indices into ``lfw_subset()``.
    """

    def __init__(self, faces, nonfaces):
        self.faces = tuple(faces)
        self.nonfaces = tuple(nonfaces)

    def __repr__(self):
        return 'PatchPool(faces={}..{}, nonfaces={}..{})'.format(
            self.faces[0], self.faces[-1], self.nonfaces[0], self.nonfaces[-1])


# 70 / 30 split by index. 'train' feeds train scenes and negatives/pool; 'test' feeds val scenes
# and negatives/test.
PATCH_POOLS = {
    'train': PatchPool(faces=range(0, 70), nonfaces=range(100, 170)),
    'test': PatchPool(faces=range(70, 100), nonfaces=range(170, 200)),
}


def _rgb(image):
    return np.ascontiguousarray(image[..., :3])


# name -> loader returning an RGB or grayscale uint8 array. Every one was viewed and found free of
# faces and animals.
_BACKGROUND_LOADERS = {
    'brick': skimage.data.brick,
    'coffee': skimage.data.coffee,
    'grass': skimage.data.grass,
    'gravel': skimage.data.gravel,
    'hubble_deep_field': skimage.data.hubble_deep_field,
    'moon': skimage.data.moon,
    'page': skimage.data.page,
    'retina': skimage.data.retina,
    'rocket': skimage.data.rocket,
    'text': skimage.data.text,
    'cell': skimage.data.cell,
    'clock': skimage.data.clock,
    'immunohistochemistry': skimage.data.immunohistochemistry,
    # A cluttered garage (shelves, boxes, a bench); the only indoor scene in the wheel.
    'motorcycle': lambda: skimage.data.stereo_motorcycle()[0],
}
BACKGROUND_NAMES = tuple(_BACKGROUND_LOADERS)

# Bundled pictures that must never be used as backgrounds, and why.
FORBIDDEN_BACKGROUNDS = {
    'astronaut': 'a portrait of a person',
    'camera': 'the cameraman: a person',
    'chelsea': 'a cat',
    'cat': 'a cat',
    'coins': 'ancient coins stamped with portrait heads, one of them frontal',
    'horse': 'a horse silhouette',
    'logo': 'the scikit-image logo shows a snake',
}
assert not set(BACKGROUND_NAMES) & set(FORBIDDEN_BACKGROUNDS)

# The backgrounds of the mining scenario (``generate_demo_dataset(heldout_backgrounds=...)``):
# the detector first meets them in the pool it mines and in the held-out false-detection test,
# so nothing trained before mining may see them, the offline-pretrained tiny backbone included
# (``demo.patches`` leaves them out by default). Each is of a kind that keeps a sibling in the
# scenes, so the train and val scenes still show textures, writing, objects and dark fields:
# gravel (a texture; brick and grass stay), text (handwriting; the printed page stays), clock (a
# blurred round object on a flat wall; cell stays) and hubble_deep_field (small bright blobs, of
# the size of tiny faces, on black; rocket's lights at dusk and moon stay).
MINING_HELDOUT_BACKGROUNDS = ('clock', 'gravel', 'hubble_deep_field', 'text')
assert set(MINING_HELDOUT_BACKGROUNDS) < set(BACKGROUND_NAMES)


@functools.lru_cache(maxsize=1)
def load_lfw_patches():
    """The 200 LFW crops.

    Returns
    -------
    numpy.ndarray, float32, shape (200, 25, 25), values in [0, 1]
        Read-only. Indices ``FACE_INDICES`` are faces, ``NONFACE_INDICES`` are not.
    """
    patches = np.asarray(skimage.data.lfw_subset(), dtype=np.float32)
    expected = (len(FACE_INDICES) + len(NONFACE_INDICES), LFW_PATCH_SIZE, LFW_PATCH_SIZE)
    if patches.shape != expected:
        raise SetupError('skimage.data.lfw_subset() returned shape {}, expected {}; the demo '
                         'generator was written for scikit-image 0.24 (constraints.txt)'
                         .format(patches.shape, expected))
    if patches.max() > 1.0:  # some scikit-image versions return uint8
        patches = patches / 255.0
    patches.setflags(write=False)
    return patches


@functools.lru_cache(maxsize=1)
def load_backgrounds():
    """Every allowed background, converted to grayscale.

    Returns
    -------
    dict
        ``name -> numpy.ndarray`` uint8, shape (H, W), read-only, in ``BACKGROUND_NAMES`` order.
    """
    backgrounds = {}
    for name, loader in _BACKGROUND_LOADERS.items():
        image = np.asarray(loader())
        if image.ndim == 3:
            image = cv2.cvtColor(_rgb(image), cv2.COLOR_RGB2GRAY)
        image = np.ascontiguousarray(image, dtype=np.uint8)
        image.setflags(write=False)
        backgrounds[name] = image
    return backgrounds
