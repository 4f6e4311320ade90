# SeqNeXt + Gallery Filter Network on CUHK-SYSU (paper: 96.4 mAP / 97.0
# top-1). The image memory holds the 11206 training images and their
# 55272 boxes (550 MB).
_base_ = './seqnext_cuhk.py'

model = dict(
    roi_head=dict(
        gfn_head=dict(
            _base_.gfn_head,
            memory=dict(
                _base_.gfn_head.memory, num_images=11206, num_persons=55272))))
# Also the numbers re-weighted by GFN scores and GFN-only retrieval.
val_evaluator = dict(gfn=True)
test_evaluator = val_evaluator
