# SeqNeXt scored and weighted by the FIRST head's score (FCS, SeqNet's
# choice) instead of the second head's (SCS, GFN's default).
_base_ = '../seqnext_prw.py'

model = dict(test_cfg=dict(rcnn=dict(use_fcs=True)))
