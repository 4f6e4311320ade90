"""GFN's "random focused crop": a square crop around a labeled person."""
import math
import random
from typing import Tuple

import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS

from .crop_resize import crop_resize


@TRANSFORMS.register_module()
class RandomFocusedCrop(BaseTransform):
    """Crop a square around a random labeled person, resize to ``size``.

    GFN's ``RandomFocusedCrop2``: one labeled person (``gt_person_ids >=
    0``) is drawn; the crop side is ``floor(max(crop, box w, box h))``; the
    crop is placed at random among the positions that contain the box,
    clamped to the image; it is resized to ``size``. Without a labeled
    person: a random ``size`` crop. Boxes keeping less than
    ``min_visibility`` of their area are dropped. Pad the image first
    (``CentredPad``) so that the crops fit.

    Args:
        size (int): Crop side and output side. Defaults to 640.
        min_visibility (float): Least kept fraction of a box.
            Defaults to 0.6.
    """

    def __init__(self, size: int = 640, min_visibility: float = 0.6) -> None:
        self.size = size
        self.min_visibility = min_visibility

    def _window(self, results: dict) -> Tuple[int, int, int, int]:
        """The crop window (x1, y1, x2, y2)."""
        h, w = results['img'].shape[:2]
        person_ids = results.get('gt_person_ids')
        labeled = [] if person_ids is None else np.flatnonzero(person_ids >= 0)
        if len(labeled) == 0:
            side = self.size
            x_range, y_range = (0, w - side), (0, h - side)
        else:
            x1, y1, x2, y2 = results['gt_bboxes'].numpy()[random.choice(
                labeled)].tolist()
            bw, bh = x2 - x1, y2 - y1
            side = int(math.floor(max(self.size, bw, bh)))
            ranges = []
            for lo, extent, limit in ((x1, bw, w), (y1, bh, h)):
                low = min(
                    math.floor(lo), math.floor(max(0, lo + extent - side)))
                ranges.append((low, max(low, math.floor(min(limit - side,
                                                            lo)))))
            x_range, y_range = ranges
        if side > w or side > h:
            raise ValueError(
                f'{results.get("img_path")}: a {side}-pixel crop does not '
                f'fit the {w}x{h} image; pad it first (CentredPad)')
        # Clamped to the image: the box may then be partly outside.
        x = min(max(random.randint(*x_range), 0), w - side)
        y = min(max(random.randint(*y_range), 0), h - side)
        return x, y, x + side, y + side

    def transform(self, results: dict) -> dict:
        """Crop and resize ``img``, crop and filter the boxes."""
        return crop_resize(results, self._window(results),
                           (self.size, self.size), self.min_visibility)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(size={self.size}, '
                f'min_visibility={self.min_visibility})')
