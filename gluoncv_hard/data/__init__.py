"""Data in and out: converters to GluonCV ``.lst``/``.rec`` with a hard column, readers, checks.

Readers (they import MXNet/GluonCV, so they load on first use); each checks its whole input
when it is created::

    LstDetection, RecordFileDetection, VOCDetection, COCODetection, NegativeDetection,
    ConcatDetection, SourceDetection, ClassMappedDetection

Conversion::

    convert_to_lst(sources, out_path, ...)  with sources from
    voc_source, coco_source, csv_source, negatives_source

Errors in input data are collected and raised together as ``DataError``.
"""
import importlib

from gluoncv_hard.data.coco import coco_source
from gluoncv_hard.data.convert import ConversionResult, convert_to_lst
from gluoncv_hard.data.csv_source import csv_source
from gluoncv_hard.data.negatives import negatives_source
from gluoncv_hard.data.problems import DataError, ProblemLog
from gluoncv_hard.data.voc import parse_voc_xml, voc_source

__all__ = ['LstDetection', 'RecordFileDetection', 'VOCDetection', 'COCODetection',
           'NegativeDetection', 'ConcatDetection', 'SourceDetection', 'ClassMappedDetection',
           'convert_to_lst',
           'ConversionResult', 'voc_source', 'coco_source', 'csv_source', 'negatives_source',
           'parse_voc_xml', 'DataError', 'ProblemLog']

_LAZY = {name: 'readers' for name in ('LstDetection', 'RecordFileDetection', 'VOCDetection',
                                       'COCODetection', 'NegativeDetection', 'ConcatDetection',
                                       'SourceDetection', 'ClassMappedDetection')}


def __getattr__(name):
    # The converter and stats tools do not need MXNet/GluonCV (about 2 s to import).
    if name in _LAZY:
        return getattr(importlib.import_module('.' + _LAZY[name], __name__), name)
    raise AttributeError('module {!r} has no attribute {!r}'.format(__name__, name))
