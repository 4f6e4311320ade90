import torch
from mmdet.registry import MODELS
from mmengine.config import ConfigDict


def build_head():
    return MODELS.build(
        dict(
            type='LogitRankedRPNHead',
            in_channels=4,
            feat_channels=4,
            anchor_generator=dict(
                type='RoundedAnchorGenerator',
                strides=[16],
                ratios=[1.0],
                scales=[32]),
            bbox_coder=dict(type='TorchvisionDeltaXYWHBBoxCoder'),
            test_cfg=ConfigDict(
                nms_pre=100,
                max_per_img=10,
                nms=dict(type='nms', iou_threshold=0.7),
                min_bbox_size=1e-3)))


def predict(head, logits):
    """Proposals from 512-pixel anchors on a 1 x len(logits) feature map."""
    cls_score = torch.tensor(logits).view(1, 1, 1, -1)
    bbox_pred = torch.zeros(1, 4, 1, len(logits))
    meta = dict(img_shape=(1000, 1000), scale_factor=(1.0, 1.0))
    return head.predict_by_feat([cls_score], [bbox_pred],
                                batch_img_metas=[meta])[0]


def test_saturated_probabilities_ranked_by_logit():
    head = build_head()
    # Both probabilities are exactly 1 in float32; the anchors at x = 0 and
    # x = 16 overlap (IoU 0.94): the larger logit must survive.
    for logits in ([30.0, 40.0], [40.0, 30.0]):
        results = predict(head, logits)
        assert results.scores.tolist() == [1.0]
        x2 = 256 + 16 * logits.index(40.0)
        assert results.bboxes.tolist() == [[0.0, 0.0, x2, 256.0]]


def test_equal_logits_keep_input_order():
    results = predict(build_head(), [25.0] * 8)
    # All overlap the first anchor by more than 0.7 up to x = 96.
    assert results.bboxes[0].tolist() == [0.0, 0.0, 256.0, 256.0]


def test_scores_are_probabilities_in_logit_order():
    results = predict(build_head(), [0.0, -2.0, 3.0, -40.0, 1.0, 60.0])
    assert ((results.scores >= 0) & (results.scores <= 1)).all()
    assert (results.scores[:-1] >= results.scores[1:]).all()
