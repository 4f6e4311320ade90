# SeqNet Table 1, second-head tasks: re-ID only (no regression, no norm
# classification in the second head).
_base_ = '../seqnet_prw.py'

model = dict(
    roi_head=dict(reid_bbox_head=None, embedding_head=dict(loss_cls=None)))
