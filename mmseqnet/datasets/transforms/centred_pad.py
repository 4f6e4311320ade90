"""Pad an image on all sides to at least a size, keeping it centred."""
from typing import Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS


@TRANSFORMS.register_module()
class CentredPad(BaseTransform):
    """Pad to at least ``size``, the image in the middle (boxes shifted).

    GFN pads its window-resized training images to at least 1920x1920 (3
    crop sides) before its random crops, with the value of a black pixel,
    so that crops near the border keep the crop size.

    Args:
        size (tuple[int, int]): Least width and height. Defaults to
            (1920, 1920).
        pad_val (int): Pixel value of the padding. Defaults to 0 (black).
    """

    def __init__(self,
                 size: Tuple[int, int] = (1920, 1920),
                 pad_val: int = 0) -> None:
        self.size = size
        self.pad_val = pad_val

    def transform(self, results: dict) -> dict:
        """Pad ``img`` and shift ``gt_bboxes``."""
        img = results['img']
        h, w = img.shape[:2]
        pad_w, pad_h = max(self.size[0] - w, 0), max(self.size[1] - h, 0)
        left, top = pad_w // 2, pad_h // 2
        pads = ((top, pad_h - top), (left, pad_w - left)) + ((0, 0), ) * (
            img.ndim - 2)
        results['img'] = np.pad(img, pads, constant_values=self.pad_val)
        results['img_shape'] = results['img'].shape[:2]
        if 'gt_bboxes' in results:
            results['gt_bboxes'].translate_([left, top])
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(size={self.size}, '
                f'pad_val={self.pad_val})')
