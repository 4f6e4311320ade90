# SeqNeXt on CUHK-SYSU (paper: 96.1 mAP / 96.5 top-1; 96.4 / 97.0 with GFN,
# see seqnext_gfn_cuhk.py). Same pipelines and schedule as seqnext_prw.py.
_base_ = './seqnext_prw.py'

dataset = dict(type='CUHKSYSUDataset', data_root='data/CUHK-SYSU/')
train_dataloader = dict(dataset=dataset)
val_dataloader = dict(dataset=dataset)
test_dataloader = val_dataloader
val_evaluator = dict(k1=10, k2=3)
test_evaluator = val_evaluator

model = dict(
    roi_head=dict(
        embedding_head=dict(
            loss_reid=dict(num_person_ids=5532, queue_size=5000))))

# 11206 images in batches of 8: 1400 iterations, GFN's warm-up is 1000.
param_scheduler = [
    dict(_base_.param_scheduler[0], end=1000), _base_.param_scheduler[1]
]
