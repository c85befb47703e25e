"""Command line ``gluoncv-hard-doctor``: what this machine can run, and how to fix what not.

Prints the versions of the stack, MXNet's build features, the GPUs MXNet sees, each CUDA
library (found where, or missing with the fix), Horovod (frameworks, controllers, tensor
operations) and the pretrained weights already on disk (:mod:`gluoncv_hard.engine.doctor`).

Exit status (``cli.status``): 0 when what was asked for (``--gpu``, ``--horovod``; nothing:
only the report) is usable, 2 with the list of fixes when it is not, 1 for an internal error.
When mxnet itself cannot load (a GPU build without the NVIDIA driver), ``import gluoncv_hard``
fails before this command runs, with the same list of CUDA libraries in its message.
"""
import argparse
import json
import sys

from gluoncv_hard.cli.status import add_debug_argument, exit_status
from gluoncv_hard.engine.doctor import diagnose, format_report, problems
from gluoncv_hard.errors import SetupError

__all__ = ['build_parser', 'run', 'main']


def build_parser():
    """The ``gluoncv-hard-doctor`` argument parser."""
    parser = argparse.ArgumentParser(
        prog='gluoncv-hard-doctor',
        description='Check what this machine can run: MXNet build, GPUs, CUDA libraries, '
                    'Horovod, pretrained weights. Nothing is downloaded or trained.')
    parser.add_argument('--gpu', action='store_true',
                        help='exit 2, with the fixes, unless GPU training can work here')
    parser.add_argument('--horovod', action='store_true',
                        help='exit 2, with the fixes, unless horovodrun ... gluoncv-hard-train '
                             '--horovod can work here (with --gpu: on GPUs)')
    parser.add_argument('--json', action='store_true', help='print the report as JSON')
    add_debug_argument(parser)
    return parser


def run(argv=None):
    """Print the report; returns it (a dict). Raises ``SetupError`` listing the fixes when
    ``--gpu``/``--horovod`` is not usable."""
    args = build_parser().parse_args(argv)
    report = diagnose()
    print(json.dumps(report, indent=2) if args.json else format_report(report))
    found = problems(report, gpu=args.gpu, horovod=args.horovod)
    if found:
        asked = ' and '.join(name for name, on in (('GPU training', args.gpu),
                                                   ('Horovod', args.horovod)) if on)
        raise SetupError('{} {} not usable here:\n{}'.format(
            asked, 'are' if args.gpu and args.horovod else 'is', '\n'.join(
                '  - {}; fix: {}'.format(what, fix) for what, fix in found)))
    return report


def main(argv=None):
    """Entry point of ``gluoncv-hard-doctor``; returns the exit status."""
    return exit_status(run, argv)


if __name__ == '__main__':
    sys.exit(main())
