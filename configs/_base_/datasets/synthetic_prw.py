# The synthetic PRW-format dataset written by
# tools/misc/generate_synthetic_dataset.py --format prw --out <data_root>.
# Its frames are 4x smaller than PRW's (480x270, camera 6 300x240) and its
# people 40-140 px tall; enlarged 1.5x, the smallest still span about four
# cells of the stride-16 res4 map that the RoIs are pooled from.
_base_ = './prw.py'

data_root = 'data/synthetic_prw/'
train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadPersonSearchAnnotations'),
    dict(type='Resize', scale=(720, 405), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackPersonSearchInputs')
]
test_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='Resize', scale=(720, 405), keep_ratio=True),
    dict(type='LoadPersonSearchAnnotations'),
    dict(type='PackPersonSearchInputs')
]
train_dataloader = dict(
    num_workers=1,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    num_workers=1, dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
