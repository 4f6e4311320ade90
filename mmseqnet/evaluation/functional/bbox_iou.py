"""Box IoU in the convention of the standard person-search evaluation.

Pure numpy: usable without mmengine.
"""
import numpy as np


def bbox_iou(bboxes1: np.ndarray, bboxes2: np.ndarray) -> np.ndarray:
    """Element-wise IoU of xyxy boxes, broadcasting over leading dimensions.

    Continuous coordinates (area ``(x2 - x1) * (y2 - y1)``, no ``+1``) and
    computed in float64, as the standard evaluation code does. Pass
    ``a[:, None]`` and ``b[None]`` for the pairwise matrix.

    Args:
        bboxes1 (np.ndarray): (..., 4) boxes ``x1, y1, x2, y2``.
        bboxes2 (np.ndarray): (..., 4) boxes, broadcastable with ``bboxes1``.

    Returns:
        np.ndarray: (...) float64 IoU; 0 where the union is empty
        (the original divides by zero there).
    """
    a = np.asarray(bboxes1, dtype=np.float64)
    b = np.asarray(bboxes2, dtype=np.float64)
    inter_w = np.maximum(
        np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0)
    inter_h = np.maximum(
        np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0)
    inter = inter_w * inter_h
    union = ((a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1]) +
             (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1]) - inter)
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
