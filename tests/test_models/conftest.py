"""Shared fixtures of the model tests: tiny SeqNet configs and samples."""
import copy
from pathlib import Path

import pytest
import torch
from mmengine.config import Config, ConfigDict
from mmengine.structures import InstanceData
from mmdet.structures import DetDataSample
from mmdet.utils import register_all_modules

import mmseqnet  # noqa: F401  (registers the components)

REPO = Path(__file__).resolve().parents[2]
IMG_SHAPE = (128, 160)


@pytest.fixture(scope='session', autouse=True)
def mmdet_scope():
    """Build configs in mmdet's default scope, as the runner does."""
    register_all_modules(init_default_scope=True)


def tiny_seqnet_cfg() -> ConfigDict:
    """The SeqNet model config on ResNet-18 with few RoIs, random init.

    Same components and test-time settings as
    configs/_base_/models/seqnet_r50.py; small enough to run on CPU in a
    fraction of a second per image.
    """
    cfg = Config.fromfile(
        str(REPO / 'configs/_base_/models/seqnet_r50.py')).model
    res5 = dict(cfg.roi_head.box_head, depth=18, init_cfg=None)
    cfg.backbone.update(depth=18, init_cfg=None)
    cfg.rpn_head.update(in_channels=256, feat_channels=64)
    cfg.roi_head.bbox_roi_extractor.update(
        roi_layer=dict(cfg.roi_head.bbox_roi_extractor.roi_layer,
                       output_size=7),
        out_channels=256)
    cfg.roi_head.update(box_head=res5, reid_head=res5)
    cfg.roi_head.bbox_head.in_channels = 512
    cfg.roi_head.reid_bbox_head.in_channels = 512
    cfg.roi_head.embedding_head.update(
        in_channels=(256, 512),
        out_channels=32,
        loss_reid=dict(
            cfg.roi_head.embedding_head.loss_reid,
            num_person_ids=8,
            queue_size=6))
    cfg.train_cfg.rpn_proposal.update(nms_pre=500, max_per_img=50)
    for stage in cfg.train_cfg.rcnn:
        stage.sampler.num = 16
    cfg.test_cfg.rpn.update(nms_pre=500, max_per_img=50)
    # An untrained head scores everything near 0.5: keep it all.
    cfg.test_cfg.rcnn.score_thr = 0.0
    return cfg


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
