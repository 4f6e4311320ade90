# SeqNet Table 1, second-head tasks: re-ID + regression (no norm
# classification).
_base_ = '../seqnet_prw.py'

model = dict(roi_head=dict(embedding_head=dict(loss_cls=None)))
