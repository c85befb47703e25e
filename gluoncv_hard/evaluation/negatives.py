"""False detections on negative images (images without any object, hard or not).

Every detection on a negative image is false, so the useful numbers are counts above score
thresholds, and the highest score per image, which ranks images for hard negative mining.
"""
import numpy as np

__all__ = ['DEFAULT_SCORE_THRESHOLDS', 'HEADLINE_SCORE_THRESHOLD', 'negative_image_stats']

DEFAULT_SCORE_THRESHOLDS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)
HEADLINE_SCORE_THRESHOLD = 0.5


def negative_image_stats(image_ids, det_scores, score_thresholds=DEFAULT_SCORE_THRESHOLDS):
    """Count detections with ``score >= threshold`` on negative images.

    Parameters
    ----------
    image_ids : sequence of str or int, length M
    det_scores : sequence of numpy.ndarray, length M
        Scores of each image's detections, shape (K_i,), any class.
    score_thresholds : sequence of float

    Returns
    -------
    dict
        - ``num_images``: M.
        - ``score_thresholds``: sorted thresholds.
        - ``by_threshold``: one dict per threshold with ``threshold``, ``total`` (detections
          over all images), ``mean_per_image`` and ``fraction_of_images`` (images with at least
          one detection); the last two are ``None`` when M is 0.
        - ``per_image``: one dict per image, ``image_id``, ``num_detections`` (any score),
          ``max_score`` (``None`` without detections) and ``counts`` (per threshold, aligned
          with ``score_thresholds``), sorted by ``max_score`` descending (stable, images
          without detections last): the order to mine hard negatives in.
    """
    thresholds = np.sort(np.asarray(score_thresholds, dtype=np.float64).reshape(-1))
    if len(image_ids) != len(det_scores):
        raise ValueError('got {} image ids but {} score arrays'
                         .format(len(image_ids), len(det_scores)))
    num_images = len(image_ids)
    counts = np.zeros((num_images, len(thresholds)), dtype=np.int64)
    max_scores = np.full(num_images, -np.inf)
    for i, image_scores in enumerate(det_scores):
        scores = np.asarray(image_scores, dtype=np.float64).reshape(-1)
        counts[i] = (scores[:, None] >= thresholds[None, :]).sum(axis=0)
        if len(scores):
            max_scores[i] = scores.max()

    by_threshold = []
    for j, threshold in enumerate(thresholds):
        column = counts[:, j]
        by_threshold.append({
            'threshold': float(threshold),
            'total': int(column.sum()),
            'mean_per_image': float(column.mean()) if num_images else None,
            'fraction_of_images': float((column > 0).mean()) if num_images else None,
        })
    ranking = np.argsort(-max_scores, kind='mergesort')
    per_image = [{
        'image_id': image_ids[i],
        'num_detections': int(len(np.asarray(det_scores[i]).reshape(-1))),
        'max_score': float(max_scores[i]) if np.isfinite(max_scores[i]) else None,
        'counts': counts[i].tolist(),
    } for i in ranking]
    return {'num_images': num_images, 'score_thresholds': thresholds.tolist(),
            'by_threshold': by_threshold, 'per_image': per_image}
