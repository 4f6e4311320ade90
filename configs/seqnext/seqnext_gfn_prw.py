# SeqNeXt + Gallery Filter Network on PRW (paper: 58.3 mAP / 92.4 top-1).
# The image memory holds the 5704 training frames and their 18048 boxes.
_base_ = './seqnext_prw.py'

model = dict(roi_head=dict(gfn_head=_base_.gfn_head))
# Also the numbers with every gallery image's similarities multiplied by its
# GFN score for the query (with and without CBGM) and GFN-only retrieval.
val_evaluator = dict(gfn=True)
test_evaluator = val_evaluator
