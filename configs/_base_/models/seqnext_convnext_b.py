# SeqNeXt (Jaffe & Zakhor, WACV 2023, github LukeJaffe/GFN) on ConvNeXt-Base:
# SeqNet's layout on ConvNeXt stages 1-3 (res4: 512 channels, stride 16),
# ConvNeXt stage 4 as both res5 heads, a second head in "RCNN" mode (one
# sigmoid logit, class-agnostic deltas) whose score (SCS) scores and
# weights the detections, 2048-d embeddings and GFN's OIM variant.
# ImageNet weights of mmpretrain's ConvNeXt-B (GFN starts from
# torchvision's; both are ImageNet-1k ConvNeXt-B).
_base_ = './seqnet_r50.py'

arch = 'base'
# torchvision's convnext_base default, linear over all 36 blocks.
drop_path_rate = 0.5
pretrained = ('https://download.openmmlab.com/mmclassification/v0/convnext/'
              'convnext-base_3rdparty_32xb128_in1k_20220124-d0915162.pth')
res5_head = dict(
    type='PooledConvNeXtStage',
    arch=arch,
    stage=3,
    drop_path_rate=drop_path_rate,
    init_cfg=dict(
        type='Pretrained', checkpoint=pretrained, prefix='backbone.'))

model = dict(
    backbone=dict(
        _delete_=True,
        type='PartialConvNeXt',
        arch=arch,
        num_stages=3,
        drop_path_rate=drop_path_rate,
        frozen_stem=True,
        init_cfg=dict(
            type='Pretrained', checkpoint=pretrained, prefix='backbone.')),
    rpn_head=dict(
        in_channels=512,
        feat_channels=512,
        # torchvision >= 0.13, which GFN uses: smooth L1, beta 1/9.
        loss_bbox=dict(
            _delete_=True, type='SmoothL1Loss', beta=1 / 9, loss_weight=1.0)),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=512),
        box_head=dict(_delete_=True, **res5_head),
        bbox_head=dict(in_channels=1024),
        reid_head=dict(_delete_=True, **res5_head),
        reid_bbox_head=dict(
            _delete_=True,
            type='SingleLogitBBoxHead',
            with_avg_pool=False,
            roi_feat_size=1,
            in_channels=1024,
            num_classes=1,
            bbox_coder=_base_.roi_bbox_coder,
            reg_class_agnostic=True,
            loss_cls=dict(
                type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
            loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0),
            # PyTorch's default Linear init, like torchvision's predictor.
            init_cfg=[]),
        embedding_head=dict(
            in_channels=(512, 1024),
            out_channels=2048,
            # No norm-aware score: the second head scores.
            loss_cls=None,
            loss_reid=dict(variant='gfn'))),
    test_cfg=dict(
        rcnn=dict(use_fcs=False, weight_embeddings=True),
        # GFN has no CBGM query-image path.
        query_context=False))

# The Gallery Filter Network (seqnext_gfn_*.py add it as roi_head.gfn_head):
# a res5 copy and an embedding head of its own for scenes, the SE fuser
# (temperature 0.2), NT-Xent (temperature 0.1) and an image memory holding
# every training image and GT box (here PRW's 5704 and 18048; 190 MB).
gfn_head = dict(
    type='GalleryFilterHead',
    scene_reid_head=res5_head,
    scene_embedding_head=dict(
        type='NormAwareEmbeddingHead',
        in_channels=(512, 1024),
        out_channels=2048,
        loss_cls=None,
        loss_reid=None),
    fuser=dict(type='QuerySceneFuser', num_features=2048, temperature=0.2),
    loss_gfn=dict(type='NTXentLoss', temperature=0.1),
    memory=dict(
        type='SceneMemory',
        num_features=2048,
        num_images=5704,
        num_persons=18048),
    scene_pool_size=56)
