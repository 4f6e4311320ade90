# What the CUHK-SYSU and PRW configs share: the paper's pipelines, loaders
# and person-search metric. cuhk_sysu.py and prw.py add the dataset type,
# its location and the CBGM defaults (k1, k2).

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
        filter_cfg=dict(filter_empty_gt=True),
        pipeline=train_pipeline))
# The test dataset lists every test image, then every query.
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader

val_evaluator = dict(
    type='PersonSearchMetric',
    det_score_thr=0.5,
    cbgm=True,
    multi_view=False)
test_evaluator = val_evaluator
