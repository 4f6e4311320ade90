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
    """Detection recall and AP at one IoU threshold, image by image.

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
    is_tp, ranked_scores = [], []
    num_gt = num_tp = 0
    for i in range(len(gt_bboxes)):
        gts = np.asarray(gt_bboxes[i]).reshape(-1, 4)
        if labeled_only:
            gts = gts[np.asarray(gt_labeled[i], dtype=bool).ravel()]
            if len(gts) == 0:
                continue
        scores = np.asarray(det_scores[i]).ravel()
        keep = scores >= score_thr
        dets = np.asarray(det_bboxes[i]).reshape(-1, 4)[keep]
        scores = scores[keep]
        num_gt += len(gts)
        if len(dets) == 0:
            continue
        hit = np.zeros(len(dets), dtype=bool)
        if len(gts) > 0:
            ious = bbox_iou(gts[:, None], dets[None]).astype(np.float32)
            matched = ious >= iou_thr
            matched &= (
                ious.argmax(axis=0)[None] == np.arange(len(gts))[:, None])
            matched &= (ious.argmax(axis=1)[:, None] == np.arange(len(dets)))
            hit = matched.any(axis=0)
            num_tp += int(matched.sum())
        is_tp.append(hit)
        ranked_scores.append(scores)
    recall = num_tp / num_gt if num_gt > 0 else 0.0
    num_dets = sum(len(s) for s in ranked_scores)
    ap = 0.0
    if num_dets > 0:
        ap = average_precision(
            np.concatenate(is_tp), np.concatenate(ranked_scores)) * recall
    return DetectionResult(
        recall=recall, ap=ap, num_gt=num_gt, num_tp=num_tp, num_dets=num_dets)
