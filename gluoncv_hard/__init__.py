"""gluoncv-hard: hard ground truth and hard negative mining for GluonCV Faster R-CNN."""
__version__ = '0.1.0'
