"""Tiny models for fast tests: a small SeqNet config and a stand-in detector.

The stand-in detector has a few weights to load and the output layout of
docs/data_flow.md, without any detection.
"""
import torch
from mmdet.registry import MODELS
from mmengine.config import Config, ConfigDict
from mmengine.model import BaseModel
from mmengine.structures import InstanceData
from torch import nn

from .repository import REPO_ROOT


def tiny_seqnet_cfg() -> ConfigDict:
    """The SeqNet model config on ResNet-18 with few RoIs, random init.

    Same components and test-time settings as
    configs/_base_/models/seqnet_r50.py; small enough to run on CPU in a
    fraction of a second per image.
    """
    cfg = Config.fromfile(
        str(REPO_ROOT / 'configs/_base_/models/seqnet_r50.py')).model
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
    return _few_rois(cfg)


def tiny_seqnext_cfg() -> ConfigDict:
    """configs/seqnext/seqnext_gfn_prw_narrow.py (SeqNeXt + GFN on a narrow
    ConvNeXt) with few RoIs, a small GFN memory and small OIM tables."""
    cfg = Config.fromfile(
        str(REPO_ROOT / 'configs/seqnext/seqnext_gfn_prw_narrow.py')).model
    cfg.roi_head.embedding_head.loss_reid.update(
        num_person_ids=8, queue_size=6)
    cfg.roi_head.gfn_head.memory.update(num_images=3, num_persons=9)
    return _few_rois(cfg)


def _few_rois(cfg: ConfigDict) -> ConfigDict:
    """Few proposals and sampled RoIs, every test detection kept."""
    cfg.train_cfg.rpn_proposal.update(nms_pre=500, max_per_img=50)
    for stage in cfg.train_cfg.rcnn:
        stage.sampler.num = 16
    cfg.test_cfg.rpn.update(nms_pre=500, max_per_img=50)
    # An untrained head scores everything near 0.5: keep it all.
    cfg.test_cfg.rcnn.score_thr = 0.0
    return cfg


@MODELS.register_module(force=True)
class TinyPersonSearchDetector(BaseModel):
    """Detects nobody in gallery images; a query sample gets its query box
    as row 0 with a fixed unit embedding.

    Args:
        backbone (dict): ``width`` sets the weights' shapes (a checkpoint of
            another width does not fit). Defaults to ``dict(width=4)``.
    """

    def __init__(self, backbone: dict = dict(width=4)) -> None:
        super().__init__()
        self.width = backbone['width']
        self.embed = nn.Linear(3, self.width)
        self.norm = nn.BatchNorm1d(self.width)

    def forward(self, inputs=None, data_samples=None, mode='predict'):
        for sample in data_samples:
            if sample.metainfo.get('sample_type') == 'query':
                bboxes = torch.as_tensor(sample.query_bbox).reshape(1, 4)
            else:
                bboxes = torch.zeros(0, 4)
            n = len(bboxes)
            sample.pred_instances = InstanceData(
                bboxes=bboxes.float(),
                scores=torch.ones(n),
                labels=torch.zeros(n, dtype=torch.long),
                embeddings=torch.full((n, self.width), self.width**-0.5))
        return data_samples


def tiny_person_searcher(**kwargs):
    """A ``PersonSearcher`` over :class:`TinyPersonSearchDetector`, images
    loaded by ``LoadCheckedImageFromFile``: the API without a detector.

    Args:
        **kwargs: Arguments of ``PersonSearcher`` (batch size, k1, k2...).
    """
    # The API imports the models; the testing helpers load before it.
    from mmseqnet.apis import PersonSearcher
    model = TinyPersonSearchDetector()
    model.cfg = Config(
        dict(
            test_dataloader=dict(
                dataset=dict(pipeline=[
                    dict(type='LoadCheckedImageFromFile'),
                    dict(type='PackPersonSearchInputs')
                ]))))
    return PersonSearcher(model, **kwargs)
