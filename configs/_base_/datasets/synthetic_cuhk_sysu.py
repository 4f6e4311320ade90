# The synthetic CUHK-SYSU-format dataset written by
# tools/misc/generate_synthetic_dataset.py --format cuhk_sysu --out <root>.
# Its images are small (400x300, 480x270), so the input scale is smaller
# than the paper's: fast on CPU, people still about 50-170 px tall.
_base_ = './cuhk_sysu.py'

data_root = 'data/synthetic_cuhk_sysu/'
train_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadPersonSearchAnnotations'),
    dict(type='Resize', scale=(600, 360), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackPersonSearchInputs')
]
test_pipeline = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='Resize', scale=(600, 360), keep_ratio=True),
    dict(type='LoadPersonSearchAnnotations'),
    dict(type='PackPersonSearchInputs')
]
train_dataloader = dict(
    num_workers=1,
    dataset=dict(data_root=data_root, pipeline=train_pipeline))
# Gallery size 50: the generator writes TestG50 whenever it has 51 test
# images, TestG100 only from 101.
val_dataloader = dict(
    num_workers=1,
    dataset=dict(
        data_root=data_root, gallery_size=50, pipeline=test_pipeline))
test_dataloader = val_dataloader
