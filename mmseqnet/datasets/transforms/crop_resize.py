"""Crop, resize and box filtering shared by the SeqNeXt crop transforms."""
from typing import Tuple

import mmcv
import numpy as np

# Per-box keys of a person-search sample, indexed together.
BOX_KEYS = ('gt_bboxes_labels', 'gt_ignore_flags', 'gt_person_ids')


def crop_resize(results: dict, window: Tuple[int, int, int, int],
                size: Tuple[int, int], min_visibility: float) -> dict:
    """Crop ``window`` (x1, y1, x2, y2) out of the image, resize it to
    ``size`` (w, h) with cv2 bilinear, and keep the boxes of which at least
    ``min_visibility`` of the area lies inside the window (clipped).

    Args:
        results (dict): Sample with ``img`` and optionally ``gt_bboxes``
            and the per-box keys.
        window (tuple[int]): Crop window in image pixels, inside the image.
        size (tuple[int, int]): Output width and height.
        min_visibility (float): Least kept fraction of a box's area.

    Returns:
        dict: The sample, changed in place.
    """
    x1, y1, x2, y2 = window
    img = results['img']
    if not (0 <= x1 < x2 <= img.shape[1] and 0 <= y1 < y2 <= img.shape[0]):
        raise ValueError(f'{results.get("img_path")}: crop window {window} '
                         f'outside the {img.shape[1]}x{img.shape[0]} image')
    results['img'] = mmcv.imresize(img[y1:y2, x1:x2], size)
    results['img_shape'] = results['img'].shape[:2]
    if 'gt_bboxes' not in results:
        return results
    boxes = results['gt_bboxes']
    arr = boxes.numpy().astype(np.float64) - [x1, y1, x1, y1]
    clipped = arr.clip([0, 0, 0, 0], [x2 - x1, y2 - y1, x2 - x1, y2 - y1])
    area = (arr[:, 2] - arr[:, 0]) * (arr[:, 3] - arr[:, 1])
    kept_area = (clipped[:, 2] - clipped[:, 0]) * (
        clipped[:, 3] - clipped[:, 1])
    keep = (area > 0) & (kept_area >= min_visibility * area)
    scale = np.array([size[0] / (x2 - x1), size[1] / (y2 - y1)] * 2)
    results['gt_bboxes'] = type(boxes)(
        (clipped[keep] * scale).astype(np.float32))
    for key in BOX_KEYS:
        if key in results:
            results[key] = results[key][keep]
    return results
