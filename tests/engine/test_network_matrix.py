"""Every network the train command offers, end to end, as a user runs it.

For each of tiny, tiny_fpn, resnet50_v1b and resnet101_v1d (C4 and FPN) and resnet18_v1b (FPN):
build, train (2 iterations), validate, save, ``--init`` (from our checkpoint, and from a stock
GluonCV ``net.save_parameters`` file of the same zoo network with the same and with other
classes), ``--resume``, ``gluoncv-hard-eval`` and ``gluoncv-hard-mine``, through the commands'
``main()`` on the demo data at small input sizes. One network's cases share its trained
checkpoint (a module-scoped fixture) and its folder is deleted after them. The ResNets start
from scratch (``pretrained_base`` off: nothing is downloaded), so nothing here is about
accuracy; what is checked is that every path runs and loads what it should.

Cost (measured with ``pytest --durations=0`` on two shared CPU cores): 8.5-9.5 minutes of wall
time at a load of 3.5-6, 6.4 CPU-minutes. Two thirds of it is the two C4 ResNets, whose res5 head
runs on all 128 sampled RoIs (300 in inference) whatever the image size; the FPN ResNets take
about a minute each, the tiny networks 5 seconds.
"""
import json
import os
import shutil
import warnings
from dataclasses import dataclass

import gluoncv
import mxnet as mx
import numpy as np
import pytest
from gluoncv.model_zoo.rcnn.faster_rcnn.faster_rcnn import FasterRCNN, custom_faster_rcnn_fpn

from gluoncv_hard.cli import evaluate as eval_cli
from gluoncv_hard.cli import mine as mine_cli
from gluoncv_hard.cli import train as train_cli
from gluoncv_hard.engine.networks import initialize_missing
from gluoncv_hard.modeling import zoo

pytestmark = pytest.mark.slow

OTHER_CLASSES = ['cat', 'dog', 'bird']


@dataclass(frozen=True)
class Case:
    network: str
    use_fpn: bool
    short: int
    max_size: int

    @property
    def id(self):
        return self.network + ('-fpn' if self.use_fpn else '')

    def flags(self):
        return ['--network', self.network, '--short', str(self.short), '--max-size',
                str(self.max_size)] + (['--use-fpn'] if self.use_fpn else [])

    def stock_network(self, classes):
        """The same zoo network built by stock GluonCV, every parameter allocated."""
        sizes = dict(short=self.short, max_size=self.max_size)
        with warnings.catch_warnings():
            warnings.filterwarnings('ignore', message='Cannot decide type for the following')
            if self.network in zoo.TINY_NETWORKS:
                parts, defaults = zoo.TINY_NETWORKS[self.network]
                features, top_features, box_features = parts()
                net = FasterRCNN(features, top_features, classes, box_features=box_features,
                                 **dict(defaults, **sizes))
            elif self.use_fpn:
                net = custom_faster_rcnn_fpn(classes, pretrained_base=False,
                                             base_network_name=self.network,
                                             **dict(zoo.FPN_DEFAULTS, **sizes))
            else:
                net = gluoncv.model_zoo.get_model(
                    'faster_rcnn_{}_custom'.format(self.network), classes=classes,
                    pretrained_base=False, transfer=None, **sizes)
        assert type(net) is FasterRCNN
        # Shapes first, so that every parameter is allocated now, without a forward pass; then
        # the initialization of a network about to be trained. (GluonCV's default, uniform in
        # +-0.07, makes a ResNet whose batch norms are frozen at identity overflow.)
        zoo.infer_parameter_shapes(net)
        initialize_missing(net, [mx.cpu()])
        return net


# The C4 ResNets' smallest anchors cover ~123 pixels: they need short >= 144 (test_zoo.py).
CASES = [Case('tiny', False, 128, 192), Case('tiny_fpn', False, 128, 192),
         Case('resnet50_v1b', False, 160, 224), Case('resnet50_v1b', True, 128, 192),
         Case('resnet101_v1d', False, 160, 224), Case('resnet101_v1d', True, 128, 192),
         Case('resnet18_v1b', True, 128, 192)]


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    """Demo data: 2 training scenes (set ``train``; ``one`` has the first), 1 validation scene,
    1 pool and 1 held-out image without faces."""
    from gluoncv_hard.demo.generate import generate_demo_dataset
    root = str(tmp_path_factory.mktemp('matrix_demo') / 'data')
    generate_demo_dataset(root, seed=1, n_train=2, n_val=1, n_negatives_pool=1,
                          n_negatives_test=1, progress=False)
    with open(os.path.join(root, 'ImageSets', 'Main', 'one.txt'), 'w') as f:
        f.write('train_00000\n')
    return root


def train(case, demo, prefix, *extra):
    """Run ``gluoncv-hard-train`` (its ``main``) for ``case``; returns the exit status."""
    return train_cli.main(case.flags() + [
        '--data-root', demo, '--epochs', '1', '--lr', '0.0001', '--log-interval', '1',
        '--num-workers', '0', '--save-prefix', prefix] + list(extra))


def read_lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def read_text(path):
    with open(path) as f:
        return f.read()


@pytest.fixture(scope='module', params=CASES, ids=lambda case: case.id)
def run(request, demo, tmp_path_factory):
    """``(case, folder, prefix)`` of the case's first training run (2 iterations, validated);
    the folder goes when the case's tests are done (ResNet checkpoints are 100-400 MB)."""
    case = request.param
    folder = tmp_path_factory.mktemp(case.id)
    prefix = str(folder / 'base' / 'run')
    assert train(case, demo, prefix, '--train', 'train', '--val', 'val') == 0
    yield case, folder, prefix
    shutil.rmtree(str(folder), ignore_errors=True)


def test_train_validate_save(run):
    case, _, prefix = run
    (line,) = read_lines(prefix + '_metrics.jsonl')
    assert line['epoch'] == 0 and line['iterations'] == 2
    assert all(np.isfinite(v) for v in line['train_losses'].values())
    assert line['val']['voc07_map'] is not None and line['best']
    # Only _best and _last by default, each a complete set.
    written = sorted(name for name in os.listdir(os.path.dirname(prefix))
                     if name.endswith(('.params', '.states', '.json')))
    assert written == ['run_best.json', 'run_best.params', 'run_best.states', 'run_last.json',
                       'run_last.params', 'run_last.states']
    sidecar = json.loads(read_text(prefix + '_last.json'))
    assert (sidecar['network'], sidecar['use_fpn'], sidecar['epoch']) == (
        case.network, case.use_fpn, 0)
    assert sidecar['network_options'] == {'short': case.short, 'max_size': case.max_size}
    log = read_text(prefix + '_train.log')
    kind = 'FPN' if case.use_fpn or case.network == 'tiny_fpn' else 'C4'
    assert 'Training {} ({})'.format(case.network, kind) in log


def test_checkpoints_are_stock_gluoncv_parameter_files(run):
    """A stock GluonCV network of the same zoo entry loads our checkpoint, and its file has our
    parameters by name and shape (ours also holds the constants of the RCNN target generator,
    as any trained GluonCV network's does)."""
    case, folder, prefix = run
    stock_net = case.stock_network(['face'])
    stock = str(folder / 'stock_face.params')
    stock_net.save_parameters(stock)
    ours, theirs = mx.nd.load(prefix + '_last.params'), mx.nd.load(stock)
    assert {k: v.shape for k, v in ours.items() if k in theirs} == \
        {k: v.shape for k, v in theirs.items()}
    assert {k.split('.')[0] for k in ours if k not in theirs} == {'_target_generator'}
    stock_net.load_parameters(prefix + '_last.params', ignore_extra=True)
    assert np.array_equal(stock_net.class_predictor.weight.data().asnumpy(),
                          ours['class_predictor.weight'].asnumpy())


def loaded_exactly(params_path, source_path, skipped=()):
    """The parameters of ``params_path`` equal ``source_path``'s, but ``skipped`` and the
    batch-norm running statistics (a training forward updates those of the tiny networks)."""
    trained, source = mx.nd.load(params_path), mx.nd.load(source_path)
    assert set(source) <= set(trained)
    differ = [name for name, value in source.items()
              if name not in skipped and 'running_' not in name
              and not np.array_equal(value.asnumpy(), trained[name].asnumpy())]
    return not differ


def test_init_from_our_checkpoint(run, demo):
    """lr 0: the network that trains is exactly the one --init loaded."""
    case, folder, prefix = run
    out = str(folder / 'init_ours' / 'run')
    assert train(case, demo, out, '--train', 'one', '--val', '', '--lr', '0',
                 '--init', prefix + '_last.params') == 0
    log = read_text(out + '_train.log')
    assert '--init {}_last.params: loaded all'.format(prefix) in log
    assert loaded_exactly(out + '_last.params', prefix + '_last.params')
    (line,) = read_lines(out + '_metrics.jsonl')
    assert line['iterations'] == 1


@pytest.mark.parametrize('classes', [['face'], OTHER_CLASSES], ids=['same', 'other'])
def test_init_from_a_stock_gluoncv_file(run, demo, classes):
    case, folder, _ = run
    stock = str(folder / 'stock_{}.params'.format(len(classes)))
    case.stock_network(classes).save_parameters(stock)
    out = str(folder / 'init_stock_{}'.format(len(classes)) / 'run')
    assert train(case, demo, out, '--train', 'one', '--val', '', '--lr', '0',
                 '--init', stock) == 0
    log = read_text(out + '_train.log')
    predictors = ('class_predictor.weight', 'class_predictor.bias', 'box_predictor.weight',
                  'box_predictor.bias')
    if classes == ['face']:
        assert '--init {}: loaded all'.format(stock) in log
        assert loaded_exactly(out + '_last.params', stock)
    else:
        assert 'the class predictors are re-initialized for these classes' in log
        assert 'WARNING' not in log and 'not the class predictors' not in log
        assert loaded_exactly(out + '_last.params', stock, skipped=predictors)
        trained = mx.nd.load(out + '_last.params')
        assert trained['class_predictor.weight'].shape[0] == 2  # face + background
        assert mx.nd.load(stock)['class_predictor.weight'].shape[0] == 4


def test_resume_continues_at_the_next_epoch(run, demo):
    case, folder, prefix = run
    out = str(folder / 'resumed' / 'run')
    assert train(case, demo, out, '--train', 'one', '--val', '', '--epochs', '2',
                 '--resume', prefix + '_last.params') == 0
    (line,) = read_lines(out + '_metrics.jsonl')
    assert line['epoch'] == 1 and line['iterations'] == 1
    assert 'Start training from [Epoch 1]' in read_text(out + '_train.log')
    assert json.loads(read_text(out + '_last.json'))['epoch'] == 1


def test_eval_and_mine_the_checkpoint(run, demo):
    _, folder, prefix = run
    report_path = str(folder / 'report.json')
    negatives = os.path.join(demo, 'negatives')
    assert eval_cli.main(['--params', prefix + '_best.params', '--data-root', demo, '--val',
                          'val', '--neg-val', os.path.join(negatives, 'test'), '--num-workers',
                          '0', '--out', report_path]) == 0
    report = json.loads(read_text(report_path))
    assert report['num_images'] == {'positive': 1, 'negative': 1, 'total': 2}
    mined = str(folder / 'mined.lst')
    assert mine_cli.main(['--params', prefix + '_best.params', '--pool',
                          os.path.join(negatives, 'pool'), '--num', '1', '--min-score', '0',
                          '--num-workers', '0', '--no-progress', '--out', mined]) == 0
    assert len(read_text(mined).splitlines()) == 1
