# OIM + SeqNet (SeqNet Table 3): SeqNet with OIM's head as the second head
# (softmax classifier instead of the norm-aware embedding's norm).
_base_ = '../seqnet_prw.py'

model = dict(
    roi_head=dict(
        reid_bbox_head=dict(
            with_cls=True,
            loss_cls=dict(
                type='CrossEntropyLoss', use_sigmoid=False,
                loss_weight=1.0)),
        embedding_head=dict(loss_cls=None)))
