"""torchvision's detection transform written out, for the tests.

``GeneralizedRCNNTransform`` (eval mode, one ``min_size``) of the
torchvision that ran the original SeqNet, step by step as it computes, on
uint8 BGR inputs read the way ``to_tensor`` reads RGB ones; and its
``resize_boxes``.
"""
import math
from typing import List, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def tv_normalize(bgr: Tensor,
                 mean: Sequence[float] = MEAN,
                 std: Sequence[float] = STD) -> Tensor:
    """to_tensor (RGB, ``x / 255``), then ``normalize`` of a (3, H, W)."""
    image = bgr[[2, 1, 0]].float() / 255
    mean = torch.as_tensor(mean, dtype=image.dtype)
    std = torch.as_tensor(std, dtype=image.dtype)
    return (image - mean[:, None, None]) / std[:, None, None]


def tv_resize(image: Tensor, self_min_size: float,
              self_max_size: float) -> Tensor:
    """``_resize_image_and_masks`` of one (3, H, W) float image."""
    im_shape = torch.tensor(image.shape[-2:])
    min_size = torch.min(im_shape).to(dtype=torch.float32)
    max_size = torch.max(im_shape).to(dtype=torch.float32)
    scale = torch.min(self_min_size / min_size, self_max_size / max_size)
    return F.interpolate(
        image[None],
        size=None,
        scale_factor=scale.item(),
        mode='bilinear',
        recompute_scale_factor=True,
        align_corners=False)[0]


def tv_batch_images(images: List[Tensor], size_divisible: int = 32) -> Tensor:
    """``batch_images``: zero padding to a multiple of ``size_divisible``."""
    max_size = list(images[0].shape)
    for img in images[1:]:
        max_size = [max(a, b) for a, b in zip(max_size, img.shape)]
    stride = float(size_divisible)
    max_size[1] = int(math.ceil(float(max_size[1]) / stride) * stride)
    max_size[2] = int(math.ceil(float(max_size[2]) / stride) * stride)
    batched = images[0].new_full([len(images)] + max_size, 0)
    for i, img in enumerate(images):
        batched[i, :img.shape[0], :img.shape[1], :img.shape[2]].copy_(img)
    return batched


def tv_transform(bgrs: Sequence[Tensor],
                 min_size: int = 900,
                 max_size: int = 1500) -> Tuple[Tensor, List[tuple]]:
    """The batch (B, 3, H, W) and the resized (h, w) of each image."""
    images = [
        tv_resize(tv_normalize(bgr), float(min_size), float(max_size))
        for bgr in bgrs
    ]
    return tv_batch_images(images), [tuple(img.shape[-2:]) for img in images]


def tv_resize_boxes(boxes: Tensor, original_size: Sequence[int],
                    new_size: Sequence[int]) -> Tensor:
    """``resize_boxes``: (n, 4) xyxy from (h, w) ``original_size`` pixels to
    ``new_size`` pixels, by float32 per-axis ratios."""
    ratio_height, ratio_width = (torch.tensor(s, dtype=torch.float32) /
                                 torch.tensor(s_orig, dtype=torch.float32)
                                 for s, s_orig in zip(new_size, original_size))
    xmin, ymin, xmax, ymax = boxes.unbind(1)
    return torch.stack((xmin * ratio_width, ymin * ratio_height,
                        xmax * ratio_width, ymax * ratio_height),
                       dim=1)
