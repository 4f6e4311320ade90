"""Person detection recall and AP of the standard person-search protocol.

Pure numpy: usable without mmengine.
"""
from typing import NamedTuple, Optional, Sequence

import numpy as np

from .bbox_iou import bbox_iou
from .ranking import average_precision


class DetectionResult(NamedTuple):
    """Detection numbers over a set of images.

    Attributes:
        recall (float): ``num_tp / num_gt``; 0.0 when ``num_gt == 0``.
        ap (float): ``average_precision(tp flags, scores) * recall``.
        num_gt (int): Ground-truth boxes counted.
        num_tp (int): Ground-truth boxes detected.
        num_dets (int): Detections ranked (score >= threshold).
    """
    recall: float
    ap: float
    num_gt: int
    num_tp: int
    num_dets: int


def eval_detection(det_bboxes: Sequence[np.ndarray],
                   det_scores: Sequence[np.ndarray],
                   gt_bboxes: Sequence[np.ndarray],
                   gt_labeled: Optional[Sequence[np.ndarray]] = None,
                   score_thr: float = 0.5,
                   iou_thr: float = 0.5,
                   labeled_only: bool = False) -> DetectionResult:
    """Detection recall and AP at one IoU threshold, over all images at once.

    Reproduces the evaluation code shared by OIM, NAE and SeqNet:

    - detections with ``score >= score_thr`` are kept;
    - IoU ``>= iou_thr`` with mutual-argmax matching: each detection keeps
      only its highest-IoU ground truth and each ground truth only its
      highest-IoU detection (first index on IoU ties); IoUs are rounded to
      float32 before the comparison, as the original stores them;
    - an image without kept detections adds its ground truth to the count;
    - ``labeled_only``: an image with no labeled person is skipped entirely
      (its detections are not ranked) and elsewhere detections are matched
      against the labeled boxes only, so a detection of an unlabeled person
      is a false positive;
    - AP = average precision over all ranked detections x recall.

    Unlike the original, an image with detections but no ground truth (all
    persons mode) does not crash: its detections are false positives.

    Args:
        det_bboxes (Sequence[np.ndarray]): Per image (n_i, 4) xyxy
            detections.
        det_scores (Sequence[np.ndarray]): Per image (n_i,) scores.
        gt_bboxes (Sequence[np.ndarray]): Per image (g_i, 4) xyxy ground
            truth.
        gt_labeled (Sequence[np.ndarray], optional): Per image (g_i,) bool,
            True for persons with an identity. Required when
            ``labeled_only``. Defaults to None.
        score_thr (float): Minimum detection score. Defaults to 0.5.
        iou_thr (float): Minimum IoU of a true positive. Defaults to 0.5.
        labeled_only (bool): Count labeled persons only. Defaults to False.

    Returns:
        DetectionResult: recall, AP and counts.
    """
    if not len(det_bboxes) == len(det_scores) == len(gt_bboxes):
        raise ValueError(
            'eval_detection: det_bboxes, det_scores and gt_bboxes must have '
            f'one entry per image, got {len(det_bboxes)}, {len(det_scores)} '
            f'and {len(gt_bboxes)}')
    if labeled_only and (gt_labeled is None
                         or len(gt_labeled) != len(gt_bboxes)):
        raise ValueError('eval_detection: labeled_only=True needs gt_labeled '
                         'with one (g_i,) bool array per image')
    num_images = len(gt_bboxes)
    gt_box = _concatenate([np.asarray(b).reshape(-1, 4) for b in gt_bboxes],
                          (0, 4))
    gt_image = np.repeat(
        np.arange(num_images), [np.asarray(b).size // 4 for b in gt_bboxes])
    ranked_images = np.ones(num_images, dtype=bool)
    if labeled_only:
        labeled = _concatenate(
            [np.asarray(lab, dtype=bool).ravel() for lab in gt_labeled], (0, ))
        if labeled.shape != gt_image.shape:
            raise ValueError('eval_detection: gt_labeled must have one entry '
                             'per ground-truth box')
        gt_box, gt_image = gt_box[labeled], gt_image[labeled]
        # an image without labeled persons is skipped entirely
        ranked_images = np.bincount(gt_image, minlength=num_images) > 0
    scores = _concatenate([np.asarray(s).ravel() for s in det_scores], (0, ))
    det_image = np.repeat(
        np.arange(num_images), [np.asarray(s).size for s in det_scores])
    det_box = _concatenate([np.asarray(b).reshape(-1, 4) for b in det_bboxes],
                           (0, 4))
    if len(det_box) != len(scores):
        raise ValueError('eval_detection: det_bboxes must have one (4,) box '
                         f'per score, got {len(det_box)} boxes and '
                         f'{len(scores)} scores')
    keep = (scores >= score_thr) & ranked_images[det_image]
    scores, det_image, det_box = scores[keep], det_image[keep], det_box[keep]
    # every (ground truth, detection) pair of an image
    det_start = np.searchsorted(det_image, np.arange(num_images))
    det_count = np.bincount(det_image, minlength=num_images)[gt_image]
    pair_gt = np.repeat(np.arange(len(gt_image)), det_count)
    pair_det = np.repeat(
        det_start[gt_image] - np.cumsum(det_count) + det_count,
        det_count) + np.arange(det_count.sum())
    ious = bbox_iou(gt_box[pair_gt], det_box[pair_det]).astype(np.float32)
    # mutual argmax: the pair is its detection's first highest-IoU ground
    # truth and its ground truth's first highest-IoU detection
    matched = ious >= iou_thr
    matched[_not_first(pair_det, ious, pair_gt)] = False
    matched[_not_first(pair_gt, ious, pair_det)] = False
    hit = np.bincount(pair_det[matched], minlength=len(scores)) > 0
    num_gt = len(gt_image)
    num_tp = int(matched.sum())
    recall = num_tp / num_gt if num_gt > 0 else 0.0
    num_dets = len(scores)
    ap = 0.0
    if num_dets > 0:
        ap = average_precision(hit, scores) * recall
    return DetectionResult(
        recall=recall, ap=ap, num_gt=num_gt, num_tp=num_tp, num_dets=num_dets)


def _concatenate(arrays: Sequence[np.ndarray],
                 empty_shape: tuple) -> np.ndarray:
    """``np.concatenate``, also of no array (zeros of ``empty_shape``)."""
    return np.concatenate(arrays) if len(arrays) else np.zeros(empty_shape)


def _not_first(group: np.ndarray, values: np.ndarray,
               other: np.ndarray) -> np.ndarray:
    """Indices of the entries that are not their group's first highest
    value (ties: lower ``other`` first)."""
    order = np.lexsort((other, -values, group))
    first = np.ones(order.size, dtype=bool)
    first[1:] = group[order[1:]] != group[order[:-1]]
    return order[~first]
