import torch

from mmseqnet.models.utils import stable_batched_nms

NMS = dict(type='nms', iou_threshold=0.5)


def test_equal_scores_keep_input_order():
    boxes = torch.tensor([[0., 0., 10., 10.]]).repeat(64, 1)
    boxes[:, 2] += torch.arange(64) * 0.01  # all different, all overlapping
    keep = stable_batched_nms(boxes, torch.ones(64),
                              torch.zeros(64, dtype=torch.long), NMS)
    assert keep.tolist() == [0]
    keep = stable_batched_nms(boxes.flip(0), torch.ones(64),
                              torch.zeros(64, dtype=torch.long), NMS)
    assert keep.tolist() == [0]


def test_scores_order_and_classes():
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 0., 10., 10.],
                          [50., 50., 60., 60.], [0., 0., 10., 10.]])
    scores = torch.tensor([0.5, 0.9, 0.7, 0.8])
    idxs = torch.tensor([0, 0, 0, 1])
    keep = stable_batched_nms(boxes, scores, idxs, NMS)
    # Box 0 falls to box 1; box 3 is another class.
    assert keep.tolist() == [1, 3, 2]
