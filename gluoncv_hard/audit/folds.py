"""The audit's fold models: train on ``k - 1`` folds, predict on the held-out one.

Each fold writes its training images as a ``.lst`` (``OUT/folds/fold_K/train.lst``, with the
class file beside it) and trains the base :class:`gluoncv_hard.engine.config.TrainConfig` on
it, without validation, to ``OUT/folds/fold_K/model_*``; see :func:`fold_train_config`.
"""
import os

from gluoncv_hard.errors import InputError

__all__ = ['FOLD_TRAIN_SETTINGS', 'write_fold_lst', 'fold_train_config', 'train_and_predict',
           'fold_trainer']

# The TrainConfig settings each fold sets itself (fold_train_config); a command line that
# passes train flags through refuses theirs.
FOLD_TRAIN_SETTINGS = ('dataset', 'data_root', 'train', 'val', 'classes', 'save_prefix',
                       'resume', 'start_epoch')


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


def train_and_predict(config, dataset, classes, folder, train_indices, test_indices, ctx):
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

    Returns
    -------
    iterator of gluoncv_hard.engine.predict.Prediction, one per test index
    """
    from gluoncv_hard.engine.networks import load_trained_network
    from gluoncv_hard.engine.predict import predict_dataset
    from gluoncv_hard.engine.trainer import train
    lst = write_fold_lst(dataset, train_indices, os.path.join(folder, 'train.lst'), classes)
    checkpoint = train(fold_train_config(config, lst, folder)).checkpoint
    net, _ = load_trained_network(checkpoint, ctx)
    net.hybridize(static_alloc=True)
    return predict_dataset(net, dataset, ctx, indices=test_indices,
                           num_workers=config.data.num_workers)


def fold_trainer(config, dataset, classes, out, ctx, progress=False):
    """``fit_and_predict`` for :func:`gluoncv_hard.audit.findings.audit_dataset`:
    :func:`train_and_predict` with fold ``K``'s files in ``OUT/folds/fold_K``; ``progress``
    shows a bar over each fold's predictions."""
    from tqdm import tqdm

    def fit_and_predict(fold, train_indices, test_indices):
        folder = os.path.join(out, 'folds', 'fold_{}'.format(fold))
        predictions = train_and_predict(config, dataset, classes, folder, train_indices,
                                        test_indices, ctx)
        return tqdm(predictions, total=len(test_indices), unit='img',
                    desc='fold {} detect'.format(fold), disable=not progress)

    return fit_and_predict
