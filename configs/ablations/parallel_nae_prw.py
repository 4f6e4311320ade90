# Baseline NAE (SeqNet Tables 1, 3): one re-ID head in parallel, no first
# head. It regresses, scores (embedding norm) and embeds the proposals.
_base_ = '../seqnet_prw.py'

model = dict(
    roi_head=dict(box_head=None, bbox_head=None),
    train_cfg=dict(rcnn=[_base_.rcnn_stage]),
    # Without a first head the head's own score is the score; its NMS is the
    # one the first head uses in SeqNet.
    test_cfg=dict(
        rcnn=dict(use_fcs=False, nms=dict(type='nms', iou_threshold=0.4))))
