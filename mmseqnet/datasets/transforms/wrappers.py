"""Wrapper keeping person ids aligned through box-filtering transforms."""
from typing import List, Optional, Union

import numpy as np
from mmcv.transforms import BaseTransform, Compose
from mmdet.registry import TRANSFORMS


@TRANSFORMS.register_module()
class KeepPersonIdsAligned(BaseTransform):
    """Run mmdet transforms that may drop boxes, keeping ``gt_person_ids``.

    mmdet 3.3's transforms that drop boxes (``RandomCrop``,
    ``FilterAnnotations``, ``MinIoURandomCrop``, ``RandomAffine``,
    ``RandomShift``, ...) index a fixed set of keys (``gt_bboxes``,
    ``gt_bboxes_labels``, ``gt_ignore_flags``, ``gt_masks``) and leave any
    other per-box key misaligned. They all index ``gt_bboxes_labels`` like
    the boxes, so this wrapper temporarily replaces the labels by the row
    numbers of the boxes, runs the wrapped transforms unchanged and then
    selects labels and person ids with the surviving rows. Single-image
    transforms only (not ``Mosaic`` / ``MixUp``).

    Example:
        >>> dict(type='KeepPersonIdsAligned',
        ...      transforms=[dict(type='RandomCrop', crop_size=(400, 400))])

    Args:
        transforms (list[dict | callable]): The wrapped transforms.
    """

    def __init__(self, transforms: List[Union[dict, callable]]) -> None:
        self.transforms = Compose(transforms)

    def transform(self, results: dict) -> Optional[dict]:
        """Apply the wrapped transforms.

        Args:
            results (dict): Needs ``gt_bboxes_labels`` and ``gt_person_ids``
                (from ``LoadPersonSearchAnnotations``) to track the boxes;
                without them the transforms run as they are.

        Returns:
            dict | None: The result, or None if a transform rejected it.
        """
        if 'gt_person_ids' not in results or \
                'gt_bboxes_labels' not in results:
            return self.transforms(results)
        labels = results['gt_bboxes_labels']
        person_ids = results['gt_person_ids']
        results['gt_bboxes_labels'] = np.arange(len(labels), dtype=np.int64)
        results = self.transforms(results)
        if results is None:
            return None
        rows = results['gt_bboxes_labels']
        results['gt_bboxes_labels'] = labels[rows]
        results['gt_person_ids'] = person_ids[rows]
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(transforms={self.transforms})'
