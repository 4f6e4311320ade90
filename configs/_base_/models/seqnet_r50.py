# SeqNet (Li & Miao, AAAI 2021) on ResNet-50, as the original implementation:
# stem conv1..layer3 (res4, stride 16), two separate res5 heads, an RPN with
# 15 anchors, a Faster R-CNN head followed by a norm-aware re-ID head.
# ImageNet weights of torchvision's ResNet-50; the res5 heads take its layer4.
# Where mmdet and torchvision compute differently (data preprocessor, RPN
# ranking, box decoding, anchors) the components named after torchvision
# reproduce the original exactly.
pretrained = 'https://download.pytorch.org/models/resnet50-0676ba61.pth'
norm_cfg = dict(type='BN', requires_grad=True)
res5_head = dict(
    type='PooledResLayer',
    depth=50,
    stage=3,
    stride=2,
    style='pytorch',
    norm_cfg=norm_cfg,
    norm_eval=False,
    init_cfg=dict(type='Pretrained', checkpoint=pretrained))
roi_bbox_coder = dict(
    type='TorchvisionDeltaXYWHBBoxCoder',
    target_means=[0.0, 0.0, 0.0, 0.0],
    target_stds=[0.1, 0.1, 0.2, 0.2])
rcnn_stage = dict(
    assigner=dict(
        type='MaxIoUAssigner',
        pos_iou_thr=0.5,
        neg_iou_thr=0.5,
        min_pos_iou=0.5,
        match_low_quality=False,
        ignore_iof_thr=-1),
    sampler=dict(
        type='RandomSampler',
        num=128,
        pos_fraction=0.5,
        neg_pos_ub=-1,
        add_gt_as_proposals=True),
    pos_weight=-1,
    debug=False)

model = dict(
    type='SeqNet',
    # ImageNet mean / std of [0, 1] pixels, computed as torchvision does.
    data_preprocessor=dict(
        type='UnitRangeDetDataPreprocessor',
        mean=[0.485, 0.456, 0.406],
        std=[0.229, 0.224, 0.225],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        type='ParamFrozenResNet',
        depth=50,
        num_stages=3,
        strides=(1, 2, 2),
        dilations=(1, 1, 1),
        out_indices=(2, ),
        # conv1 and bn1 weights frozen; every BN keeps its statistics live.
        frozen_stages=0,
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    rpn_head=dict(
        type='LogitRankedRPNHead',
        in_channels=1024,
        feat_channels=1024,
        num_convs=1,
        anchor_generator=dict(
            type='RoundedAnchorGenerator',
            strides=[16],
            ratios=[0.5, 1.0, 2.0],
            scales=[2, 4, 8, 16, 32]),
        bbox_coder=dict(
            type='TorchvisionDeltaXYWHBBoxCoder',
            target_means=[0.0, 0.0, 0.0, 0.0],
            target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(
            type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        # torchvision 0.4, which SeqNet was written for: L1, sum / sampled.
        loss_bbox=dict(type='L1Loss', loss_weight=1.0)),
    roi_head=dict(
        type='SequentialRoIHead',
        bbox_roi_extractor=dict(
            type='SingleRoIExtractor',
            roi_layer=dict(
                type='RoIAlign',
                output_size=14,
                sampling_ratio=2,
                aligned=False),
            out_channels=1024,
            featmap_strides=[16]),
        box_head=res5_head,
        bbox_head=dict(
            type='BBoxHead',
            with_avg_pool=False,
            roi_feat_size=1,
            in_channels=2048,
            num_classes=1,
            bbox_coder=roi_bbox_coder,
            reg_class_agnostic=False,
            loss_cls=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=10.0),
            # PyTorch's default Linear init, like torchvision's predictor.
            init_cfg=[]),
        reid_head=res5_head,
        reid_bbox_head=dict(
            type='BBoxHead',
            with_avg_pool=False,
            with_cls=False,
            roi_feat_size=1,
            in_channels=2048,
            num_classes=1,
            bbox_coder=roi_bbox_coder,
            reg_class_agnostic=False,
            reg_predictor_cfg=dict(type='BNNeckLinear'),
            loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0),
            # BNNeckLinear initialises itself.
            init_cfg=[]),
        embedding_head=dict(
            type='NormAwareEmbeddingHead',
            in_channels=(1024, 2048),
            out_channels=256,
            loss_cls=dict(
                type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
            # Table sizes are the dataset's: see configs/seqnet_{prw,cuhk}.py.
            loss_reid=dict(
                type='OIMLoss',
                num_person_ids=5532,
                queue_size=5000,
                momentum=0.5,
                scalar=30.0,
                loss_weight=1.0))),
    train_cfg=dict(
        rpn=dict(
            assigner=dict(
                type='MaxIoUAssigner',
                pos_iou_thr=0.7,
                neg_iou_thr=0.3,
                # torchvision keeps every best anchor of a GT, however low.
                min_pos_iou=0.0,
                match_low_quality=True,
                ignore_iof_thr=-1),
            sampler=dict(
                type='RandomSampler',
                num=256,
                pos_fraction=0.5,
                neg_pos_ub=-1,
                add_gt_as_proposals=False),
            allowed_border=-1,
            pos_weight=-1,
            debug=False),
        rpn_proposal=dict(
            nms_pre=12000,
            max_per_img=2000,
            nms=dict(type='nms', iou_threshold=0.7),
            min_bbox_size=1e-3),
        rcnn=[rcnn_stage, rcnn_stage]),
    test_cfg=dict(
        rpn=dict(
            nms_pre=6000,
            max_per_img=300,
            nms=dict(type='nms', iou_threshold=0.7),
            min_bbox_size=1e-3),
        rcnn=dict(
            score_thr=0.5,
            min_bbox_size=1e-2,
            inter_stage_nms=dict(type='nms', iou_threshold=0.4),
            # Second-stage boxes overlap more: the original's looser NMS.
            nms=dict(type='nms', iou_threshold=0.5),
            max_per_img=300,
            use_fcs=True,
            weight_embeddings=True),
        # Query images also run the gallery path: the CBGM context.
        query_context=True))
