# PRW in its original layout (frames/, annotations/, frame_*.mat, ID_*.mat,
# query_info.txt) under data_root; see docs/data_flow.md.
_base_ = './person_search.py'

dataset_type = 'PRWDataset'
data_root = 'data/PRW/'

train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader

val_evaluator = dict(k1=30, k2=4)
test_evaluator = val_evaluator
