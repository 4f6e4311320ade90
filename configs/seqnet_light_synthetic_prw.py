# A light SeqNet that trains in minutes on a 2-core CPU, on the synthetic
# PRW-format dataset (tools/misc/generate_synthetic_dataset.py --format prw
# --num-identities 120: 60 training identities). Same architecture on
# ResNet-18 (res4 256, res5 512 channels), 7x7 RoIs, fewer proposals and
# samples, random init (no ImageNet weights offline).
_base_ = [
    './_base_/models/seqnet_r50.py', './_base_/datasets/synthetic_prw.py',
    './_base_/schedules/seqnet_18e.py', './_base_/default_runtime.py'
]

res5_head = dict(depth=18, init_cfg=None)
# 32 RoIs per image and stage instead of 128.
rcnn_stage = dict(
    _base_.rcnn_stage, sampler=dict(_base_.rcnn_stage.sampler, num=32))
model = dict(
    backbone=dict(depth=18, init_cfg=None),
    rpn_head=dict(in_channels=256, feat_channels=256),
    roi_head=dict(
        bbox_roi_extractor=dict(
            roi_layer=dict(output_size=7), out_channels=256),
        box_head=res5_head,
        bbox_head=dict(in_channels=512),
        reid_head=res5_head,
        reid_bbox_head=dict(in_channels=512),
        embedding_head=dict(
            in_channels=(256, 512),
            out_channels=128,
            loss_reid=dict(num_person_ids=60, queue_size=100))),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=2000, max_per_img=300),
        rcnn=[rcnn_stage, rcnn_stage]),
    test_cfg=dict(
        rpn=dict(nms_pre=1000, max_per_img=100),
        rcnn=dict(max_per_img=100)))

train_dataloader = dict(batch_size=4)
train_cfg = dict(max_epochs=8, val_interval=2)
# Warm-up as the paper's; the step comes after 6 of 8 epochs.
param_scheduler = [
    _base_.param_scheduler[0],
    dict(_base_.param_scheduler[1], milestones=[6])
]
# From scratch, a larger step than the paper's 0.003 (ImageNet weights).
optim_wrapper = dict(optimizer=dict(lr=0.01))
