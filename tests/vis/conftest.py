"""Fixtures shared by the sampling-view tests: one scene and one tiny network."""
import pytest
from sampling_data import sample_image

from gluoncv_hard.vis.sampling_inputs import load_network


@pytest.fixture(scope='module')
def image():
    return sample_image()


@pytest.fixture(scope='module')
def net():
    return load_network('tiny', ['face'])
