# SeqNet without the First Classification Score: detections are scored by
# the second head's embedding norm.
_base_ = '../seqnet_prw.py'

model = dict(test_cfg=dict(rcnn=dict(use_fcs=False)))
