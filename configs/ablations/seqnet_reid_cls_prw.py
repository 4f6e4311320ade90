# SeqNet Table 1, second-head tasks: re-ID + classification (no second
# regression).
_base_ = '../seqnet_prw.py'

model = dict(roi_head=dict(reid_bbox_head=None))
