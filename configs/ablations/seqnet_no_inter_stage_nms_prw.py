# SeqNet without the NMS between the two heads: every first-head detection
# above the score threshold goes to the second head.
_base_ = '../seqnet_prw.py'

model = dict(test_cfg=dict(rcnn=dict(inter_stage_nms=None)))
