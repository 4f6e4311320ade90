"""Session-wide fixtures: small synthetic datasets in the original formats.

Each dataset is generated once per test session into a temporary directory;
tests must not modify it (copy it first, see ``shutil.copytree``).
"""
import logging
import shutil

import pytest
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

from mmseqnet.datasets.synthetic import generate_cuhk_sysu, generate_prw

# Small but complete: 52 test images are the fewest that hold TestG50.
SYNTHETIC_CUHK_SYSU_ARGS = dict(
    seed=0, num_train_images=16, num_test_images=52, num_identities=24)
SYNTHETIC_PRW_ARGS = dict(
    seed=0, num_train_images=16, num_test_images=16, num_identities=16)


@pytest.fixture(autouse=True)
def mmdet_scope():
    """Build configs given as dicts in mmdet's scope, as a config's
    ``default_scope`` (and ``init_detector``) sets it."""
    init_default_scope('mmdet')


@pytest.fixture(scope='session')
def synthetic_cuhk(tmp_path_factory):
    """(root, generator summary) of a synthetic CUHK-SYSU dataset."""
    root = tmp_path_factory.mktemp('synthetic_cuhk_sysu')
    return str(root), generate_cuhk_sysu(str(root), **SYNTHETIC_CUHK_SYSU_ARGS)


@pytest.fixture(scope='session')
def synthetic_prw(tmp_path_factory):
    """(root, generator summary) of a synthetic PRW dataset."""
    root = tmp_path_factory.mktemp('synthetic_prw')
    return str(root), generate_prw(str(root), **SYNTHETIC_PRW_ARGS)


@pytest.fixture(scope='session')
def synthetic_cuhk_root(synthetic_cuhk):
    """Root directory of a synthetic CUHK-SYSU dataset (read-only)."""
    return synthetic_cuhk[0]


@pytest.fixture(scope='session')
def synthetic_prw_root(synthetic_prw):
    """Root directory of a synthetic PRW dataset (read-only)."""
    return synthetic_prw[0]


@pytest.fixture
def prw_copy(synthetic_prw_root, tmp_path):
    """A copy of the synthetic PRW dataset that a test may modify."""
    root = tmp_path / 'prw'
    shutil.copytree(synthetic_prw_root, root)
    return root


@pytest.fixture
def logged():
    """Messages logged through mmengine's current logger."""
    records = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)
