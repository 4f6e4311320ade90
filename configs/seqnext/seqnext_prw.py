# SeqNeXt on PRW (paper: 57.6 mAP / 89.5 top-1; 58.3 / 92.4 with GFN, see
# seqnext_gfn_prw.py). GFN resizes in the pipeline ("window resize": short
# side 900, long side at most 1500, cv2 bilinear) and evaluates there.
# Training augmentation: GFN's final 'rrc2' mode: window resize, centred
# black padding to 1920x1920, then with equal chance a random focused crop
# (a square around a random labeled person) or a random bbox-safe crop,
# both resized to 640x640, boxes keeping < 60 % of their area dropped, then
# a horizontal flip.
_base_ = [
    '../_base_/models/seqnext_convnext_b.py', '../_base_/datasets/prw.py',
    '../_base_/schedules/seqnext_30e.py', '../_base_/default_runtime.py'
]

window_resize = dict(type='Resize', scale=(1500, 900), keep_ratio=True)
train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadPersonSearchAnnotations'), window_resize,
    dict(type='CentredPad', size=(1920, 1920)),
    dict(
        type='RandomChoice',
        transforms=[
            [dict(type='RandomFocusedCrop', size=640, min_visibility=0.6)],
            [
                dict(
                    type='RandomSizedBBoxSafeCrop',
                    size=640,
                    erosion_rate=0.1,
                    min_visibility=0.6)
            ],
        ]),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackPersonSearchInputs')
]
test_pipeline = [
    dict(type='LoadCheckedImageFromFile'), window_resize,
    dict(type='LoadPersonSearchAnnotations'),
    dict(type='PackPersonSearchInputs')
]
train_dataloader = dict(
    batch_size=8,
    # GFN: a random sampler, no aspect-ratio grouping, incomplete batches
    # dropped.
    batch_sampler=None,
    drop_last=True,
    dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
# GFN reports no CBGM.
val_evaluator = dict(cbgm=False)
test_evaluator = val_evaluator

model = dict(
    roi_head=dict(
        embedding_head=dict(
            loss_reid=dict(num_person_ids=483, queue_size=500))))

# GFN warms up over min(1000, iterations of epoch 0 - 1): 5704 frames in
# batches of 8 make 713 iterations.
param_scheduler = [
    dict(_base_.param_scheduler[0], end=712), _base_.param_scheduler[1]
]
