"""Evaluate a checkpoint and write its JSON report: the job of ``gluoncv-hard-eval``, as calls
(the eval command, the demo and the mining rounds write the same report)."""
import json
import os

from gluoncv_hard.errors import InputError
from gluoncv_hard.utils.atomic import write_text_atomic

__all__ = ['evaluate_checkpoint', 'write_report']


def evaluate_checkpoint(params, ctx, dataset='voc', val='', data_root='', neg_val=(),
                        network=None, classes=None, use_fpn=None, num_workers=2,
                        progress=False, bootstrap=0):
    """Evaluate the checkpoint ``params`` on a labelled set and on images without objects.

    Parameters
    ----------
    params : str
        Checkpoint ``.params``; its sidecar names the network and classes.
    ctx : list of mx.Context
    dataset, val, data_root
        The labelled images, as for :func:`gluoncv_hard.data.datasets.open_dataset` (``val``
        ``''``: none).
    neg_val : sequence of str
        Folders or ``.lst`` files of images without objects.
    network, classes, use_fpn
        For a ``.params`` without sidecar (see
        :func:`gluoncv_hard.engine.networks.load_trained_network`).
    num_workers : int
    progress : bool
    bootstrap : int
        Resamples of the images for 95% confidence intervals on every metric (the report's
        ``intervals``); 0 (default): none. ``gluoncv-hard-eval`` passes its ``--bootstrap``.

    Returns
    -------
    dict
        :func:`gluoncv_hard.engine.validation.evaluate_network`'s report plus ``params``.
    """
    from gluoncv_hard.data import ConcatDetection
    from gluoncv_hard.data.datasets import open_dataset, open_negatives
    from gluoncv_hard.engine.networks import load_trained_network
    from gluoncv_hard.engine.validation import evaluate_network
    net, _ = load_trained_network(params, ctx, network=network, classes=classes,
                                  use_fpn=use_fpn)
    classes = list(net.classes)
    if val and dataset in ('lst', 'rec'):
        _check_record_classes(val, classes, params)
    labelled = open_dataset(dataset, val, data_root, classes)[0] if val else None
    negatives = ConcatDetection([open_negatives(spec) for spec in neg_val]) if neg_val else None
    if labelled is None and negatives is None:
        raise InputError('nothing to evaluate: give val and/or neg_val')
    net.hybridize(static_alloc=True)
    report = evaluate_network(net, ctx, classes, labelled, negatives, num_workers=num_workers,
                              progress=progress, bootstrap=bootstrap)
    report['params'] = params
    return report


def _check_record_classes(path, classes, params):
    """A ``.lst``/``.rec`` stores class ids, not names: read with the checkpoint's class list,
    ids of records converted with another list would count as the wrong classes. VOC and COCO
    name their classes, which the readers map by name."""
    from gluoncv_hard.data.classes import read_class_names
    from gluoncv_hard.data.datasets import default_classes_file
    class_file = default_classes_file(path)
    if not os.path.isfile(class_file):
        return
    listed = read_class_names(class_file)
    if listed != classes:
        raise InputError(
            '{} was converted with the classes {} ({}), but {} was trained on {}: their class '
            'ids would be read as the wrong classes. Convert the data again with the '
            "checkpoint's class list (gluoncv-hard-convert --classes FILE, one name per line: "
            '{})'.format(path, listed, class_file, params, classes, ', '.join(classes)),
            param='val')


def write_report(report, path):
    """Write ``report`` as indented, key-sorted JSON, atomically."""
    write_text_atomic(path, json.dumps(report, indent=1, sort_keys=True))
