# GFN's ResNet-50 ablation of SeqNeXt: SeqNet's ResNet-50 stem and res5
# heads with frozen BatchNorm (conv1, bn1 and layer1 frozen), the SeqNeXt
# heads (RCNN second head, SCS, 2048-d, GFN's OIM), SGD 3e-3 (momentum 0.9,
# weight decay 5e-4) for a batch of 12, the 30-epoch schedule.
_base_ = '../seqnext_prw.py'

pretrained = 'https://download.pytorch.org/models/resnet50-0676ba61.pth'
frozen_bn = dict(type='BN', requires_grad=False)
res5_head = dict(
    _delete_=True,
    type='PooledResLayer',
    depth=50,
    stage=3,
    stride=2,
    style='pytorch',
    norm_cfg=frozen_bn,
    norm_eval=True,
    init_cfg=dict(type='Pretrained', checkpoint=pretrained))
model = dict(
    backbone=dict(
        _delete_=True,
        type='ResNet',
        depth=50,
        num_stages=3,
        strides=(1, 2, 2),
        dilations=(1, 1, 1),
        out_indices=(2, ),
        frozen_stages=1,
        norm_cfg=frozen_bn,
        norm_eval=True,
        style='pytorch',
        init_cfg=dict(type='Pretrained', checkpoint=pretrained)),
    rpn_head=dict(in_channels=1024, feat_channels=1024),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=1024),
        box_head=res5_head,
        bbox_head=dict(in_channels=2048),
        reid_head=res5_head,
        reid_bbox_head=dict(in_channels=2048),
        embedding_head=dict(in_channels=(1024, 2048))))
train_dataloader = dict(batch_size=12)
optim_wrapper = dict(
    optimizer=dict(
        _delete_=True, type='SGD', lr=0.003, momentum=0.9, weight_decay=5e-4))
# Warm-up over epoch 0's 475 iterations (batches of 12) minus one, as GFN.
param_scheduler = [
    dict(_base_.param_scheduler[0], end=474), _base_.param_scheduler[1]
]
