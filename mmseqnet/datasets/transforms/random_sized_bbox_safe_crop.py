"""A random crop that keeps every box, resized to a fixed size."""
import random
from typing import Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS

from .crop_resize import crop_resize


@TRANSFORMS.register_module()
class RandomSizedBBoxSafeCrop(BaseTransform):
    """albumentations' ``RandomSizedBBoxSafeCrop`` for mmdet samples.

    The union of the boxes, each shrunk by ``erosion_rate`` of its size, is
    grown towards the image borders by random fractions of the margins;
    that region (placed as albumentations places it) is cropped and resized
    to ``size`` x ``size`` (the aspect ratio is not kept). Without boxes, a
    random crop of ``1 - erosion_rate`` to 1 times the height, of the image's
    aspect ratio. Boxes keeping less than ``min_visibility`` of their area
    are dropped. GFN's second random crop (``aug_mode 'rrc2'``).

    Args:
        size (int): Output side. Defaults to 640.
        erosion_rate (float): Fraction of each box's size that may be cut.
            Defaults to 0.1.
        min_visibility (float): Least kept fraction of a box.
            Defaults to 0.6.
    """

    def __init__(self,
                 size: int = 640,
                 erosion_rate: float = 0.1,
                 min_visibility: float = 0.6) -> None:
        self.size = size
        self.erosion_rate = erosion_rate
        self.min_visibility = min_visibility

    def _window(self, results: dict) -> Tuple[int, int, int, int]:
        """The crop window (x1, y1, x2, y2)."""
        h, w = results['img'].shape[:2]
        boxes = results['gt_bboxes'].numpy() if 'gt_bboxes' in results \
            else np.zeros((0, 4))
        if len(boxes) == 0:
            eroded_h = int(h * (1.0 - self.erosion_rate))
            crop_h = h if eroded_h >= h else random.randint(eroded_h, h)
            crop_w = int(crop_h * w / h)
            h_start, w_start = random.random(), random.random()
        else:
            # Union of the eroded boxes, in [0, 1] image units.
            size = boxes[:, 2:] - boxes[:, :2]
            low = ((boxes[:, :2] + self.erosion_rate * size) /
                   [w, h]).min(axis=0).clip(0, 1)
            high = ((boxes[:, 2:] - self.erosion_rate * size) /
                    [w, h]).max(axis=0).clip(0, 1)
            bx, by = low[0] * random.random(), low[1] * random.random()
            bx2 = high[0] + (1 - high[0]) * random.random()
            by2 = high[1] + (1 - high[1]) * random.random()
            bw, bh = bx2 - bx, by2 - by
            crop_h = h if bh >= 1.0 else int(h * bh)
            crop_w = w if bw >= 1.0 else int(w * bw)
            h_start = 0.0 if bh >= 1.0 else float(np.clip(by / (1 - bh), 0, 1))
            w_start = 0.0 if bw >= 1.0 else float(np.clip(bx / (1 - bw), 0, 1))
        crop_h, crop_w = max(crop_h, 1), max(crop_w, 1)
        y1 = min(int((h - crop_h + 1) * h_start), h - crop_h)
        x1 = min(int((w - crop_w + 1) * w_start), w - crop_w)
        return x1, y1, x1 + crop_w, y1 + crop_h

    def transform(self, results: dict) -> dict:
        """Crop and resize ``img``, crop and filter the boxes."""
        return crop_resize(results, self._window(results),
                           (self.size, self.size), self.min_visibility)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(size={self.size}, erosion_rate='
                f'{self.erosion_rate}, min_visibility={self.min_visibility})')
