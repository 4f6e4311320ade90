import pytest
from mmengine.registry import init_default_scope


@pytest.fixture(autouse=True)
def mmdet_scope():
    """Pipelines given as dicts are built in mmdet's scope, as a config's
    default_scope (and init_detector) sets it."""
    init_default_scope('mmdet')
