# A light SeqNeXt + GFN for the synthetic PRW-format dataset of `make demo`,
# on the same data, input size, RoI budget, embedding size and schedule as
# configs/seqnet_light_synthetic_prw.py, to compare the two honestly:
# ConvNeXt narrowed to widths 16/32/64/128 and depths 1/1/2/1 (res4 64,
# res5 128 channels), random initialisation, 7x7 RoIs, 16 sampled RoIs per
# image and stage, 128-d embeddings, GFN with a memory of every training
# frame. The SeqNeXt parts stay: RCNN second head, SCS scoring, GFN's OIM,
# the GFN scene branch and loss. No mixed precision (CPU).
_base_ = [
    '../_base_/models/seqnext_convnext_b.py',
    '../_base_/datasets/synthetic_prw.py', '../_base_/schedules/seqnet_18e.py',
    '../_base_/default_runtime.py'
]

# _delete_: the base's arch is the name 'base'.
light_arch = dict(
    _delete_=True, depths=[1, 1, 2, 1], channels=[16, 32, 64, 128])
res5_head = dict(arch=light_arch, drop_path_rate=0.0, init_cfg=None)
embedding_head = dict(in_channels=(64, 128), out_channels=128)
rcnn_stage = dict(
    _base_.rcnn_stage, sampler=dict(_base_.rcnn_stage.sampler, num=16))
model = dict(
    backbone=dict(
        arch=light_arch, drop_path_rate=0.0, frozen_stem=False, init_cfg=None),
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(
        bbox_roi_extractor=dict(
            roi_layer=dict(output_size=7), out_channels=64),
        box_head=res5_head,
        bbox_head=dict(in_channels=128),
        reid_head=res5_head,
        reid_bbox_head=dict(in_channels=128),
        embedding_head=dict(
            embedding_head,
            loss_reid=dict(num_person_ids=1080, queue_size=200)),
        gfn_head=dict(
            _base_.gfn_head,
            scene_reid_head=dict(_base_.gfn_head.scene_reid_head, **res5_head),
            scene_embedding_head=dict(_base_.gfn_head.scene_embedding_head,
                                      **embedding_head),
            fuser=dict(_base_.gfn_head.fuser, num_features=128),
            memory=dict(
                _base_.gfn_head.memory,
                num_features=128,
                num_images=1440,
                num_persons=16384),
            # A 720x405 input gives a 45x26 res4 map.
            scene_pool_size=28)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=2000, max_per_img=300),
        rcnn=[rcnn_stage, rcnn_stage]),
    test_cfg=dict(
        rpn=dict(nms_pre=1000, max_per_img=50), rcnn=dict(max_per_img=50)))

train_dataloader = dict(batch_size=4)
train_cfg = dict(max_epochs=9, val_interval=9)
optim_wrapper = dict(
    optimizer=dict(_delete_=True, type='AdamW', lr=1e-3, weight_decay=0.05))
param_scheduler = [
    dict(_base_.param_scheduler[0], start_factor=0.01, end=0.25),
    dict(_base_.param_scheduler[1], milestones=[7])
]
randomness = dict(seed=0)
# Also the numbers re-weighted by GFN scores and GFN-only retrieval.
val_evaluator = dict(gfn=True)
test_evaluator = val_evaluator
