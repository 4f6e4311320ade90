"""Delta XYWH box coder that decodes exactly as torchvision's BoxCoder."""
import math
from typing import Optional, Sequence, Union

import torch
from mmdet.models.task_modules.coders import DeltaXYWHBBoxCoder
from mmdet.registry import TASK_UTILS
from mmdet.structures.bbox import BaseBoxes, HorizontalBoxes, get_box_tensor
from torch import Tensor


@TASK_UTILS.register_module()
class TorchvisionDeltaXYWHBBoxCoder(DeltaXYWHBBoxCoder):
    """``DeltaXYWHBBoxCoder`` whose decoding follows torchvision's BoxCoder.

    Two differences from mmdet's decoding, both of which the original SeqNet
    (torchvision) shows:

    - the log size deltas are clamped from above only (at
      ``log(1 / wh_ratio_clip)``, torchvision's ``log(1000 / 16)``); mmdet
      also clamps them from below, which enlarges boxes with very negative
      deltas;
    - torchvision's float32 arithmetic order (centre ``x1 + w / 2``, deltas
      divided by ``1 / std``): huge deltas on large boxes amplify the last
      bit into visible fractions of a pixel.

    Encoding is mmdet's (equal up to rounding). ``target_means`` must be
    zeros, as torchvision has none; the other arguments are
    ``DeltaXYWHBBoxCoder``'s.
    """

    def __init__(self,
                 target_means: Sequence[float] = (0., 0., 0., 0.),
                 target_stds: Sequence[float] = (1., 1., 1., 1.),
                 **kwargs) -> None:
        if any(mean != 0 for mean in target_means):
            raise ValueError('TorchvisionDeltaXYWHBBoxCoder: target_means '
                             f'must be zeros, got {target_means}')
        super().__init__(
            target_means=target_means, target_stds=target_stds, **kwargs)

    def decode(self,
               bboxes: Union[Tensor, BaseBoxes],
               pred_bboxes: Tensor,
               max_shape: Optional[Sequence[int]] = None,
               wh_ratio_clip: float = 16 / 1000
               ) -> Union[Tensor, BaseBoxes]:
        """Apply deltas to boxes.

        Args:
            bboxes (Tensor or :obj:`BaseBoxes`): Boxes (N, 4), xyxy.
            pred_bboxes (Tensor): Deltas (N, 4 * k), k classes.
            max_shape (Sequence[int], optional): (H, W) to clip the boxes
                to; None: no clipping. Defaults to None.
            wh_ratio_clip (float): Smallest size ratio kept from exploding:
                size deltas are clamped at ``log(1 / wh_ratio_clip)``.
                Defaults to 16 / 1000.

        Returns:
            Tensor or :obj:`BaseBoxes`: Boxes (N, 4 * k), xyxy.
        """
        bboxes = get_box_tensor(bboxes).to(pred_bboxes.dtype)
        if pred_bboxes.dim() != 2 or bboxes.dim() != 2 or \
                pred_bboxes.size(0) != bboxes.size(0):
            raise ValueError('TorchvisionDeltaXYWHBBoxCoder decodes boxes '
                             '(N, 4) with deltas (N, 4 * k), got '
                             f'{tuple(bboxes.shape)} and '
                             f'{tuple(pred_bboxes.shape)}')
        widths = (bboxes[:, 2] - bboxes[:, 0])[:, None]
        heights = (bboxes[:, 3] - bboxes[:, 1])[:, None]
        ctr_x = bboxes[:, 0, None] + 0.5 * widths
        ctr_y = bboxes[:, 1, None] + 0.5 * heights
        # torchvision's weights are 1 / std and divide the deltas.
        wx, wy, ww, wh = (1 / std for std in self.stds)
        max_ratio = math.log(1 / wh_ratio_clip)
        dx = pred_bboxes[:, 0::4] / wx
        dy = pred_bboxes[:, 1::4] / wy
        dw = torch.clamp(pred_bboxes[:, 2::4] / ww, max=max_ratio)
        dh = torch.clamp(pred_bboxes[:, 3::4] / wh, max=max_ratio)
        pred_ctr_x = dx * widths + ctr_x
        pred_ctr_y = dy * heights + ctr_y
        half_w = 0.5 * (torch.exp(dw) * widths)
        half_h = 0.5 * (torch.exp(dh) * heights)
        decoded = torch.stack([
            pred_ctr_x - half_w, pred_ctr_y - half_h, pred_ctr_x + half_w,
            pred_ctr_y + half_h
        ], dim=2).flatten(1)
        if self.clip_border and max_shape is not None:
            decoded[:, 0::2] = decoded[:, 0::2].clamp(min=0, max=max_shape[1])
            decoded[:, 1::2] = decoded[:, 1::2].clamp(min=0, max=max_shape[0])
        if self.use_box_type:
            return HorizontalBoxes(decoded)
        return decoded
