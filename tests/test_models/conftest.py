"""Shared fixtures of the model tests: tiny SeqNet configs and samples."""
import copy

import pytest
import torch
from mmdet.structures import DetDataSample
from mmdet.utils import register_all_modules
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

import mmseqnet  # noqa: F401  (registers the components)
from mmseqnet.testing import tiny_seqnet_cfg

IMG_SHAPE = (128, 160)


@pytest.fixture(scope='session', autouse=True)
def mmdet_modules():
    """Register mmdet's modules, as the runner does."""
    register_all_modules(init_default_scope=True)


@pytest.fixture
def seqnet_cfg() -> ConfigDict:
    """A fresh tiny SeqNet model config (see :func:`tiny_seqnet_cfg`)."""
    return copy.deepcopy(tiny_seqnet_cfg())


def _make_sample(bboxes=((10, 10, 50, 100), (60, 20, 120, 120),
                         (100, 30, 150, 110)),
                 person_ids=(0, -1, 3),
                 img_shape=IMG_SHAPE,
                 scale_factor=(1.0, 1.0),
                 **metainfo) -> DetDataSample:
    """A sample as the data preprocessor outputs it (boxes as tensors)."""
    sample = DetDataSample(
        metainfo=dict(
            img_shape=img_shape,
            ori_shape=(round(img_shape[0] / scale_factor[1]),
                       round(img_shape[1] / scale_factor[0])),
            scale_factor=scale_factor,
            pad_shape=img_shape,
            batch_input_shape=img_shape,
            **metainfo))
    bboxes = torch.tensor(bboxes, dtype=torch.float32).view(-1, 4)
    sample.gt_instances = InstanceData(
        bboxes=bboxes,
        labels=torch.zeros(len(bboxes), dtype=torch.long),
        person_ids=torch.tensor(person_ids, dtype=torch.long).view(-1))
    return sample


@pytest.fixture
def make_sample():
    """Factory of data samples: ``make_sample(bboxes, person_ids, ...)``."""
    return _make_sample
