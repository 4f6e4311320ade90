# SeqNet without confidence-weighted similarity: gallery embeddings are not
# multiplied by their detection score.
_base_ = '../seqnet_prw.py'

model = dict(test_cfg=dict(rcnn=dict(weight_embeddings=False)))
