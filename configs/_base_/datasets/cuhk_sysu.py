# CUHK-SYSU in its original layout (Image/SSM/, annotation/) under
# data_root; see docs/data_flow.md.
_base_ = './person_search.py'

dataset_type = 'CUHKSYSUDataset'
data_root = 'data/CUHK-SYSU/'

train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
# Unset, gallery_size is the standard 100; set it to 50..4000 or -1, or set
# query_subset='occlusion' / 'resolution', for the other protocols.
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader

val_evaluator = dict(k1=10, k2=3)
test_evaluator = val_evaluator
