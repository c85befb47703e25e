"""Every setting of a training run, as one frozen value: :class:`TrainConfig`.

A ``TrainConfig`` is seven frozen groups (``data``, ``model``, ``hard``, ``mining``,
``schedule``, ``devices``, ``output``); its field names are the train command's flags without
the dashes (``data.data_root`` is ``--data-root``; ``hard.policy`` is ``--hard-policy``).
Defaults are the train command's. Those that depend on the data set are ``None`` in the groups
and resolved when the ``TrainConfig`` is built, here and nowhere else:

- ``schedule``: ``epochs``, ``lr``, ``lr_decay_epoch``, ``lr_warmup``, ``wd`` follow GluonCV's
  script: :data:`SCHEDULES` (``coco``, and ``default`` for voc/lst/rec);
- ``data.train``: ``'train'`` for voc (required for coco/lst/rec), ``data.val``: ``'val'`` for
  voc, ``''`` (no validation) otherwise;
- ``output.save_prefix``: ``runs/faster_rcnn_NETWORK[_fpn]_DATASET``.

Build one with :meth:`TrainConfig.create` (flat keyword arguments, e.g.
``TrainConfig.create(network='tiny', data_root='demo_data', epochs=2)``) or from the groups;
derive others with :meth:`TrainConfig.replace` (flat names) or ``dataclasses.replace``. Values
that cannot work raise :class:`gluoncv_hard.errors.InputError` naming the parameter. Configs
are hashable, comparable and picklable.

>>> config = TrainConfig.create(network='tiny', dataset='coco', train='train.json')
>>> config.schedule.epochs, config.schedule.lr_decay_epoch, config.data.val
(26, (17.0, 23.0), '')
>>> config.output.save_prefix
'runs/faster_rcnn_tiny_coco'
>>> config.replace(epochs=2).schedule.epochs
2
"""
import dataclasses
import os
from dataclasses import dataclass, field

from gluoncv_hard.core.config import HardConfig
from gluoncv_hard.data.datasets import DATASET_KINDS
from gluoncv_hard.data.transform import DEFAULT_TRAIN_TRANSFORM
from gluoncv_hard.errors import InputError
from gluoncv_hard.modeling.losses import NEG_MININGS, RPN_LOSSES
from gluoncv_hard.modeling.zoo import NETWORKS

__all__ = ['SCHEDULES', 'DEFAULT_NUM_WORKERS', 'DataConfig', 'ModelConfig', 'MiningConfig',
           'ScheduleConfig', 'DevicesConfig', 'OutputConfig', 'TrainConfig', 'parse_epochs',
           'default_save_prefix']

# Per-dataset schedules, as GluonCV's script sets them (lst/rec/voc alike).
SCHEDULES = {
    'coco': dict(epochs=26, lr=0.00125, lr_decay_epoch=(17.0, 23.0), lr_warmup=1000, wd=1e-4),
    'default': dict(epochs=20, lr=0.001, lr_decay_epoch=(14.0, 20.0), lr_warmup=0, wd=5e-4),
}
DEFAULT_NUM_WORKERS = min(4, os.cpu_count() or 1)


def parse_epochs(text):
    """``'14,20'`` -> ``(14.0, 20.0)``: the epochs at which the learning rate decays.

    Raises ``ValueError`` for a part that is not a number.
    """
    return tuple(float(part) for part in str(text).split(',') if part.strip())


def default_save_prefix(network, use_fpn, dataset):
    """``runs/faster_rcnn_NETWORK[_fpn]_DATASET``."""
    return os.path.join('runs', 'faster_rcnn_{}{}_{}'.format(network, '_fpn' if use_fpn else '',
                                                            dataset))


def _paths(value):
    """A tuple of paths from a path or a sequence of them (configs must stay hashable)."""
    return (value,) if isinstance(value, str) else tuple(value)


def _freeze(group, name, value):
    object.__setattr__(group, name, value)


@dataclass(frozen=True)
class DataConfig:
    """What to train and validate on (see :func:`gluoncv_hard.data.datasets.open_dataset`).

    ``train``/``val`` ``None``: the data set's default (module docstring). ``neg_train``: folders
    or ``.lst`` files of images without objects mixed into training; ``neg_val``: the same for
    the false-detection metric. ``random_crop``: train on random crops of this size (0: whole
    images). ``train_transform``: ``'package.module:ClassName'`` of the training transform, a
    subclass of :class:`gluoncv_hard.FasterRCNNDefaultTrainTransform`
    (docs/transform_subclassing.md).
    """
    dataset: str = 'voc'
    data_root: str = ''
    train: str | None = None
    val: str | None = None
    classes: str = ''
    neg_train: tuple = ()
    neg_val: tuple = ()
    random_crop: int = 0
    crop_cut_thresh: float = 0.5
    crop_object_prob: float = 0.5
    num_workers: int = DEFAULT_NUM_WORKERS
    train_transform: str = DEFAULT_TRAIN_TRANSFORM

    def __post_init__(self):
        _freeze(self, 'neg_train', _paths(self.neg_train))
        _freeze(self, 'neg_val', _paths(self.neg_val))


@dataclass(frozen=True)
class ModelConfig:
    """The network: ``network`` (one of ``gluoncv_hard.modeling.zoo.NETWORKS``), ``init``: a
    local ``.params`` to start from, ``short``/``max_size``: image size (0: the network's)."""
    network: str = 'resnet50_v1b'
    use_fpn: bool = False
    pretrained_base: bool = False
    init: str = ''
    short: int = 0
    max_size: int = 0


@dataclass(frozen=True)
class MiningConfig:
    """Hard example mining inside training: OHEM for the RPN and RCNN negatives, focal loss."""
    rpn_neg_mining: str = 'random'
    rcnn_sampler: str = 'random'
    neg_pos_ratio: float = 3.0
    ohem_min_neg: int = 16
    rcnn_ohem_pool: int = 4
    rpn_loss: str = 'bce'
    focal_gamma: float = 2.0
    focal_alpha: float = 0.25


@dataclass(frozen=True)
class ScheduleConfig:
    """Batches, epochs and the learning-rate schedule (``None``: the data set's default).

    ``lr_decay_epoch``: a tuple of epochs (a ``'14,20'`` string is accepted too); a fractional
    one decays within its epoch (``0.8``: after 80% of epoch 0's iterations).
    """
    batch_size: int = 1
    epochs: int | None = None
    start_epoch: int = 0
    lr: float | None = None
    lr_decay: float = 0.1
    lr_decay_epoch: tuple | None = None
    lr_warmup: int | None = None
    lr_warmup_factor: float = 1. / 3.
    wd: float | None = None
    momentum: float = 0.9
    seed: int = 233

    def __post_init__(self):
        epochs = self.lr_decay_epoch
        if epochs is None:
            return
        try:
            epochs = parse_epochs(epochs) if isinstance(epochs, str) else \
                tuple(float(e) for e in epochs)
        except (TypeError, ValueError):
            raise InputError("{!r} is not a list of epochs such as (14, 20) or '14,20'".format(
                self.lr_decay_epoch), param='lr_decay_epoch') from None
        _freeze(self, 'lr_decay_epoch', epochs)


@dataclass(frozen=True)
class DevicesConfig:
    """Where to train: ``gpus`` like ``'0,1'`` (``''``: CPU, split over ``cpu_contexts``)."""
    gpus: str = ''
    cpu_contexts: int = 1
    kv_store: str = ''
    horovod: bool = False
    amp: bool = False
    disable_hybridization: bool = False
    static_alloc: bool = False


@dataclass(frozen=True)
class OutputConfig:
    """Checkpoints and logs: everything is written to ``save_prefix + '_...'``
    (``None``/``''``: the default prefix); ``resume``: a checkpoint to continue from;
    ``save_interval``: also keep ``_EPOCH`` checkpoints every N epochs (0: only ``_best`` and
    ``_last``: a checkpoint of a ResNet-50 network is about 265 MB)."""
    save_prefix: str | None = None
    save_interval: int = 0
    val_interval: int = 1
    resume: str = ''
    log_interval: int = 100


# (attribute, group class) in the order the equivalent command line lists them.
_GROUPS = (('model', ModelConfig), ('data', DataConfig), ('hard', HardConfig),
           ('mining', MiningConfig), ('schedule', ScheduleConfig), ('devices', DevicesConfig),
           ('output', OutputConfig))
# Flat setting name -> group attribute; the HardConfig travels whole as ``hard``.
_GROUP_OF = {f.name: attr for attr, cls in _GROUPS if cls is not HardConfig
             for f in dataclasses.fields(cls)}
# Always written by :meth:`TrainConfig.to_flags`: what a reader needs to tell runs apart.
_ALWAYS_LISTED = ('network', 'dataset', 'data_root', 'train', 'val', 'num_workers', 'epochs',
                  'lr', 'seed', 'save_prefix')


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of :func:`gluoncv_hard.engine.trainer.train` (see the module docstring).

    Parameters
    ----------
    data : DataConfig
    model : ModelConfig
    hard : gluoncv_hard.HardConfig
    mining : MiningConfig
    schedule : ScheduleConfig
    devices : DevicesConfig
    output : OutputConfig

    Raises
    ------
    InputError
        For values that cannot work; ``param`` names the setting (e.g. ``'epochs'``).
    """
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    hard: HardConfig = field(default_factory=HardConfig)
    mining: MiningConfig = field(default_factory=MiningConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    devices: DevicesConfig = field(default_factory=DevicesConfig)
    output: OutputConfig = field(default_factory=OutputConfig)

    def __post_init__(self):
        for attr, cls in _GROUPS:
            if not isinstance(getattr(self, attr), cls):
                raise TypeError('TrainConfig.{} must be a {}, not {!r}'.format(
                    attr, cls.__name__, getattr(self, attr)))
        self._resolve_defaults()
        self._check()

    @classmethod
    def create(cls, hard=None, **settings):
        """A config from flat settings named like the train command's flags (``data_root``,
        ``epochs``, ``rcnn_sampler`` ...); ``hard`` is a :class:`gluoncv_hard.HardConfig`.
        Unnamed settings keep their defaults."""
        groups = _grouped(settings, 'create')
        kwargs = {attr: cls_(**groups.get(attr, {})) for attr, cls_ in _GROUPS
                  if cls_ is not HardConfig}
        return cls(hard=HardConfig() if hard is None else hard, **kwargs)

    def replace(self, hard=None, **settings):
        """A copy with flat settings changed (as in :meth:`create`); settings resolved from the
        data set (schedule, prefix) keep their values unless named."""
        groups = _grouped(settings, 'replace')
        changes = {attr: dataclasses.replace(getattr(self, attr), **values)
                   for attr, values in groups.items()}
        if hard is not None:
            changes['hard'] = hard
        return dataclasses.replace(self, **changes)

    def to_flags(self, skip=()):
        """The train command's flags that rebuild this config, e.g. ``['--network', 'tiny',
        ...]``: network, data set, data paths, workers, epochs, lr, seed and save prefix always,
        every other setting where it differs from its default; none named in ``skip``.
        ``gluoncv_hard.cli.train`` parses them back into an equal config (tests/engine/
        test_config.py checks this)."""
        defaults = _defaults(self.data.dataset)
        argv = []
        for attr, cls in _GROUPS:
            group = getattr(self, attr)
            for f in dataclasses.fields(cls):
                name = 'hard_' + f.name if cls is HardConfig else f.name
                value = getattr(group, f.name)
                if name in skip or (name not in _ALWAYS_LISTED and value == defaults[name]):
                    continue
                argv += _flag_tokens(name, value)
        return argv

    def _resolve_defaults(self):
        data, schedule, output = self.data, self.schedule, self.output
        voc = data.dataset == 'voc'
        data = dataclasses.replace(
            data, train=data.train or ('train' if voc else ''),
            val=data.val if data.val is not None else ('val' if voc else ''))
        schedule = dataclasses.replace(schedule, **{
            name: value for name, value in _schedule_for(data.dataset).items()
            if getattr(schedule, name) is None})
        if not output.save_prefix:
            output = dataclasses.replace(output, save_prefix=default_save_prefix(
                self.model.network, self.model.use_fpn, data.dataset))
        for attr, value in (('data', data), ('schedule', schedule), ('output', output)):
            object.__setattr__(self, attr, value)

    def _check(self):
        data, mining, schedule = self.data, self.mining, self.schedule
        _check_choice('dataset', data.dataset, DATASET_KINDS)
        _check_choice('network', self.model.network, NETWORKS)
        _check_choice('rpn_loss', mining.rpn_loss, RPN_LOSSES)
        _check_choice('rpn_neg_mining', mining.rpn_neg_mining, NEG_MININGS)
        _check_choice('rcnn_sampler', mining.rcnn_sampler, NEG_MININGS)
        if not data.train:
            raise InputError('is required for dataset {!r} (coco: the annotation JSON; lst/rec: '
                             'the file)'.format(data.dataset), param='train')
        if mining.rpn_loss == 'focal' and mining.rpn_neg_mining == 'ohem':
            raise InputError("rpn_loss='focal' already down-weights easy negatives; keep "
                             "rpn_neg_mining='random' with it", param='rpn_neg_mining')
        if mining.rcnn_ohem_pool < 1:
            raise InputError('must be at least 1, got {}'.format(mining.rcnn_ohem_pool),
                             param='rcnn_ohem_pool')
        for name, value in (('epochs', schedule.epochs), ('batch_size', schedule.batch_size),
                            ('val_interval', self.output.val_interval)):
            if value < 1:
                raise InputError('must be at least 1, got {}'.format(value), param=name)


def _grouped(settings, method):
    """``{group attribute: {name: value}}`` of flat ``settings``; TypeError for unknown names."""
    groups = {}
    for name, value in settings.items():
        if name not in _GROUP_OF:
            raise TypeError('TrainConfig.{}() got an unknown setting {!r}'.format(method, name))
        groups.setdefault(_GROUP_OF[name], {})[name] = value
    return groups


def _schedule_for(dataset):
    return SCHEDULES['coco' if dataset == 'coco' else 'default']


def _check_choice(name, value, allowed):
    if value not in allowed:
        raise InputError('{!r} is not one of: {}'.format(value, ', '.join(allowed)), param=name)


def _defaults(dataset):
    """Flat setting name -> default value for a data set (``hard_*`` for the HardConfig)."""
    defaults = {}
    for _, cls in _GROUPS:
        for f in dataclasses.fields(cls):
            name = 'hard_' + f.name if cls is HardConfig else f.name
            default = f.default_factory() if f.default is dataclasses.MISSING else f.default
            defaults[name] = _paths(default) if name in ('neg_train', 'neg_val') else default
    defaults.update(_schedule_for(dataset))
    return defaults


def _flag_tokens(name, value):
    flag = '--' + name.replace('_', '-')
    if isinstance(value, bool):
        return [flag] if value else []
    if name in ('neg_train', 'neg_val'):
        return [token for path in value for token in (flag, path)]
    if name == 'lr_decay_epoch':
        return [flag, ','.join(str(int(e)) if e == int(e) else repr(e) for e in value)]
    return [flag, repr(value) if isinstance(value, float) else str(value)]
