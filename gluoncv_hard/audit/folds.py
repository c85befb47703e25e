"""The audit's fold models: train on ``k - 1`` folds, predict on the held-out one.

Each fold writes its training images as a ``.lst`` (``OUT/folds/fold_K/train.lst``, with the
class file beside it) and trains the base :class:`gluoncv_hard.engine.config.TrainConfig` on
it, without validation, to ``OUT/folds/fold_K/model_*``; see :func:`fold_train_config`.

With ``reuse`` a fold whose model was trained before in the same folder, with the same training
list and settings, is not trained again: after training, ``fold_done.json`` records the fold's
train flags and the SHA-256 of its ``.lst`` and of its checkpoint (:data:`FOLD_DONE`).
"""
import json
import os

from gluoncv_hard.errors import InputError

__all__ = ['FOLD_TRAIN_SETTINGS', 'FOLD_DONE', 'write_fold_lst', 'fold_train_config',
           'finished_fold_checkpoint', 'train_and_predict', 'fold_trainer']

# The TrainConfig settings each fold sets itself (fold_train_config); a command line that
# passes train flags through refuses theirs.
FOLD_TRAIN_SETTINGS = ('dataset', 'data_root', 'train', 'val', 'classes', 'save_prefix',
                       'resume', 'start_epoch')
# Written in a fold's folder after its model is trained; what ``reuse`` compares.
FOLD_DONE = 'fold_done.json'
# Train settings that do not change the model (every item is seeded on its own).
_NOT_IN_RECORD = ('num_workers',)


def write_fold_lst(dataset, indices, path, class_names):
    """Write the images ``indices`` of ``dataset`` as a ``.lst`` (absolute image paths: a
    ``.lst`` read with a root must not climb out of it) and its class file, for training with
    ``dataset='lst'`` and ``data_root=''``.

    Each image is decoded once (for its size and pixel label). Returns the ``.lst`` path.
    """
    from gluoncv_hard.data.classes import classes_path_for
    from gluoncv_hard.data.records import format_lst_line, record_fields
    from gluoncv_hard.utils.atomic import atomic_outputs
    if not hasattr(dataset, 'image_path'):
        raise InputError('the audit needs image files (a VOC folder, COCO JSON or .lst); '
                         'convert a .rec data set with gluoncv-hard-convert without --rec',
                         param='dataset')
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    lines = []
    for number, index in enumerate(indices):
        img, label = dataset[int(index)]
        height, width = img.shape[:2]
        lines.append(format_lst_line(number, os.path.abspath(dataset.image_path(int(index))),
                                     record_fields(width, height, label)))
    with atomic_outputs(classes_path_for(path), path) as (classes_tmp, lst_tmp):
        with open(classes_tmp, 'w', encoding='utf-8') as f:
            f.write(''.join(name + '\n' for name in class_names))
        with open(lst_tmp, 'w', encoding='utf-8') as f:
            f.writelines(lines)
    return path


def fold_train_config(config, lst_path, folder):
    """``config`` trained on the fold list ``lst_path`` (its class file beside it), without
    validation, to ``FOLDER/model_*``. Sets exactly :data:`FOLD_TRAIN_SETTINGS`."""
    return config.replace(dataset='lst', data_root='', train=lst_path, val='', classes='',
                          save_prefix=os.path.join(folder, 'model'), resume='', start_epoch=0)


def _fold_record(fold_config, lst_path, checkpoint):
    from gluoncv_hard.engine.checkpoint import file_digest
    return {'train_flags': fold_config.to_flags(skip=_NOT_IN_RECORD),
            'train_lst': file_digest(lst_path), 'checkpoint': os.path.basename(checkpoint),
            'checkpoint_digest': file_digest(checkpoint)}


def finished_fold_checkpoint(fold_config, lst_path, folder):
    """The checkpoint of a fold model trained before in ``folder`` with ``fold_config`` on the
    list ``lst_path`` as it is now (``FOLD_DONE`` says so and the checkpoint set is whole), or
    None."""
    from gluoncv_hard.engine.checkpoint import verify_checkpoint
    try:
        with open(os.path.join(folder, FOLD_DONE), encoding='utf-8') as f:
            record = json.load(f)
        checkpoint = os.path.join(folder, os.path.basename(record['checkpoint']))
        verify_checkpoint(checkpoint, param='reuse')
        if record == _fold_record(fold_config, lst_path, checkpoint):
            return checkpoint
    except (OSError, ValueError, KeyError, TypeError, InputError):
        pass  # no record, a damaged one or a damaged checkpoint: train again
    return None


def train_and_predict(config, dataset, classes, folder, train_indices, test_indices, ctx,
                      reuse=False, log=None):
    """Train a fold model on ``train_indices`` of ``dataset`` (in ``folder``) and predict the
    held-out ``test_indices``.

    Parameters
    ----------
    config : TrainConfig -- the fold models' training (its data settings are replaced)
    dataset : detection data set with ``image_path(i)``
    classes : list of str
    folder : str -- ``train.lst`` and the checkpoints go here
    train_indices, test_indices : (N,) int arrays
    ctx : list of mx.Context -- for the predictions
    reuse : bool -- use the model of an earlier run with the same list and settings
        (:func:`finished_fold_checkpoint`) instead of training again
    log : callable, optional -- called with a message when a model is reused

    Returns
    -------
    iterator of gluoncv_hard.engine.predict.Prediction, one per test index
    """
    from gluoncv_hard.engine.networks import load_trained_network
    from gluoncv_hard.engine.predict import predict_dataset
    from gluoncv_hard.engine.trainer import train
    from gluoncv_hard.utils.atomic import write_text_atomic
    lst = write_fold_lst(dataset, train_indices, os.path.join(folder, 'train.lst'), classes)
    fold_config = fold_train_config(config, lst, folder)
    checkpoint = finished_fold_checkpoint(fold_config, lst, folder) if reuse else None
    if checkpoint is not None:
        if log:
            log('{}: reusing the finished fold model {}'.format(folder, checkpoint))
    else:
        done = os.path.join(folder, FOLD_DONE)
        if reuse:
            # A fresh run: neither an old record nor old metrics lines may outlive it.
            for stale in (done, fold_config.output.save_prefix + '_metrics.jsonl'):
                if os.path.exists(stale):
                    os.remove(stale)
        checkpoint = train(fold_config).checkpoint
        write_text_atomic(done, json.dumps(_fold_record(fold_config, lst, checkpoint), indent=1,
                                           sort_keys=True) + '\n')
    net, _ = load_trained_network(checkpoint, ctx)
    net.hybridize(static_alloc=True)
    return predict_dataset(net, dataset, ctx, indices=test_indices,
                           num_workers=config.data.num_workers)


def fold_trainer(config, dataset, classes, out, ctx, progress=False, reuse=False, log=None):
    """``fit_and_predict`` for :func:`gluoncv_hard.audit.findings.audit_dataset`:
    :func:`train_and_predict` with fold ``K``'s files in ``OUT/folds/fold_K``; ``progress``
    shows a bar over each fold's predictions; ``reuse`` and ``log`` as for
    :func:`train_and_predict`."""
    from gluoncv_hard.utils.progress import progress_bar

    def fit_and_predict(fold, train_indices, test_indices):
        folder = os.path.join(out, 'folds', 'fold_{}'.format(fold))
        predictions = train_and_predict(config, dataset, classes, folder, train_indices,
                                        test_indices, ctx, reuse=reuse, log=log)
        return progress_bar(predictions, enabled=bool(progress), total=len(test_indices),
                            unit='img', desc='fold {} detect'.format(fold))

    return fit_and_predict
