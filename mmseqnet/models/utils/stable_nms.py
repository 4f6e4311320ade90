"""NMS that visits equal scores in input order."""
import torch
from mmcv.ops import batched_nms
from torch import Tensor


def stable_batched_nms(boxes: Tensor, scores: Tensor, idxs: Tensor,
                       nms_cfg: dict) -> Tensor:
    """mmcv's ``batched_nms`` with ties broken by input order.

    mmcv's NMS sorts the scores with an unstable sort, so among equal scores
    the box that survives is arbitrary; torchvision's NMS (the original
    SeqNet's) sorts stably. Saturated probabilities make ties common (e.g.
    softmax scores of exactly 1). Here the boxes are put in stable
    descending order first and NMS runs on their strictly decreasing ranks.

    Args:
        boxes (Tensor): Boxes (n, 4), xyxy.
        scores (Tensor): Scores (n,).
        idxs (Tensor): Class / level of each box (n,); boxes of different
            ``idxs`` do not suppress each other.
        nms_cfg (dict): mmcv NMS config (``type``, ``iou_threshold``).

    Returns:
        Tensor: Indices of the kept boxes (k,), by decreasing score.
    """
    order = scores.argsort(descending=True, stable=True)
    ranks = torch.arange(
        len(order), 0, -1, dtype=torch.float32, device=scores.device)
    _, keep = batched_nms(boxes[order], ranks, idxs[order], nms_cfg)
    return order[keep]
