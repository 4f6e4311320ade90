# CUHK-SYSU in its original layout (Image/SSM/, annotation/) under
# data_root; see docs/data_flow.md.
dataset_type = 'CUHKSYSUDataset'
data_root = 'data/CUHK-SYSU/'

# Images keep their size here: the model's data preprocessor resizes them
# to the paper's input size (shorter side 900, longer side at most 1500)
# after normalising, as the original's torchvision transform does; see
# configs/seqnet_{prw,cuhk}.py. Flips come first, as the original flips in
# its dataset.
train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadPersonSearchAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackPersonSearchInputs')
]
# The ground truth stays in original pixels for the metric.
test_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadPersonSearchAnnotations'),
    dict(type='PackPersonSearchInputs')
]
train_dataloader = dict(
    batch_size=5,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        filter_cfg=dict(filter_empty_gt=True),
        pipeline=train_pipeline))
# The test dataset lists every test image, then every query. Unset,
# gallery_size is the standard 100; set it to 50..4000 or -1, or set
# query_subset='occlusion' / 'resolution', for the other protocols.
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(
    type='PersonSearchMetric',
    det_score_thr=0.5,
    cbgm=True,
    k1=10,
    k2=3,
    multi_view=False)
test_evaluator = val_evaluator
