import numpy as np
import pytest

from mmseqnet.evaluation.functional import eval_detection
from .test_ranking import reference_average_precision


def literal_iou(a, b):
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    union = ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) -
             inter)
    return inter / union if union > 0 else 0.0


def reference_eval_detection(dets, scores, gts, labeled, score_thr, iou_thr,
                             labeled_only):
    """Literal reading of the protocol: loops over images, boxes and
    pairs."""
    y_true, y_score = [], []
    count_gt = count_tp = 0
    for img in range(len(gts)):
        gt_list = [
            gts[img][i] for i in range(len(gts[img]))
            if not labeled_only or labeled[img][i]
        ]
        if labeled_only and not gt_list:
            continue
        det_list = [(dets[img][j], scores[img][j])
                    for j in range(len(dets[img]))
                    if scores[img][j] >= score_thr]
        count_gt += len(gt_list)
        if not det_list:
            continue
        iou = [[np.float32(literal_iou(g, d)) for d, _ in det_list]
               for g in gt_list]
        for j, (_, score) in enumerate(det_list):
            hit = False
            for i in range(len(gt_list)):
                column = [iou[r][j] for r in range(len(gt_list))]
                best_gt = column.index(max(column))
                best_det = iou[i].index(max(iou[i]))
                if iou[i][j] >= iou_thr and best_gt == i and best_det == j:
                    hit = True
                    count_tp += 1
            y_true.append(hit)
            y_score.append(score)
    recall = count_tp / count_gt if count_gt else 0.0
    ap = reference_average_precision(y_true, y_score) * recall
    return recall, ap


def test_detection_by_hand():
    gts = [np.array([[0, 0, 10, 10], [20, 0, 30, 10]], np.float32)]
    dets = [
        np.array(
            [[0, 0, 10, 10], [0, 0, 10, 9], [21, 0, 30, 10], [50, 50, 60, 60]],
            np.float32)
    ]
    # the second det overlaps gt 0 but gt 0 keeps its best det only; the
    # last one falls under the score threshold
    scores = [np.array([0.9, 0.95, 0.6, 0.4], np.float32)]
    result = eval_detection(dets, scores, gts)
    assert result.num_gt == 2 and result.num_tp == 2 and result.num_dets == 3
    assert result.recall == 1.0
    # ranking: 0.95 FP, 0.9 TP, 0.6 TP -> (1/2 + 2/3) / 2
    assert result.ap == pytest.approx((1 / 2 + 2 / 3) / 2)


def test_detection_mutual_argmax_one_det_two_gts():
    gts = [np.array([[0, 0, 10, 10], [2, 0, 12, 10]], np.float32)]
    dets = [np.array([[1, 0, 11, 10]], np.float32)]
    result = eval_detection(dets, [np.array([0.9])], gts)
    # one detection can match one ground truth only
    assert result.num_tp == 1 and result.recall == 0.5
    assert result.ap == pytest.approx(0.5)


def test_detection_labeled_only_edges():
    gts = [
        np.array([[0, 0, 10, 10], [20, 0, 30, 10]], np.float32),
        np.array([[0, 0, 10, 10]], np.float32),  # unlabeled only
        np.array([[0, 0, 10, 10]], np.float32),  # no detection
    ]
    labeled = [np.array([True, False]), np.array([False]), np.array([True])]
    dets = [
        np.array([[0, 0, 10, 10], [20, 0, 30, 10]], np.float32),
        np.array([[0, 0, 10, 10]], np.float32),
        np.zeros((0, 4), np.float32),
    ]
    scores = [np.array([0.6, 0.9]), np.array([0.99]), np.zeros(0)]
    all_persons = eval_detection(dets, scores, gts, labeled)
    assert all_persons.num_gt == 4 and all_persons.num_tp == 3
    labeled_only = eval_detection(
        dets, scores, gts, labeled, labeled_only=True)
    # image 1 is skipped entirely (its 0.99 detection is not ranked); in
    # image 0 the detection of the unlabeled person is a false positive;
    # image 2 adds its labeled box to the count
    assert labeled_only.num_gt == 2 and labeled_only.num_tp == 1
    assert labeled_only.num_dets == 2
    assert labeled_only.recall == 0.5
    # ranking 0.9 FP, 0.6 TP -> AP 1/2, times recall 1/2
    assert labeled_only.ap == pytest.approx(0.25)


def test_detection_degenerate_inputs():
    # detections in an image without ground truth: false positives (the
    # original crashes); no ground truth at all: zeros, no division by zero
    dets = [np.array([[0, 0, 10, 10]], np.float32)]
    result = eval_detection(dets, [np.array([0.9])], [np.zeros((0, 4))])
    assert (result.recall, result.ap, result.num_dets) == (0.0, 0.0, 1)
    empty = eval_detection([np.zeros((0, 4))], [np.zeros(0)],
                           [np.array([[0, 0, 5, 5]])])
    assert (empty.recall, empty.ap, empty.num_gt) == (0.0, 0.0, 1)
    with pytest.raises(ValueError, match='gt_labeled'):
        eval_detection(
            dets, [np.array([0.9])], [np.zeros((0, 4))], labeled_only=True)
    with pytest.raises(ValueError, match='one entry per image'):
        eval_detection(dets, [], [np.zeros((0, 4))])
    with pytest.raises(ValueError, match='one \\(4,\\) box per score'):
        eval_detection(dets, [np.array([0.9, 0.8])], [np.zeros((0, 4))])


@pytest.mark.parametrize('labeled_only', [False, True])
def test_detection_matches_reference_on_random_images(labeled_only):
    rng = np.random.default_rng(2)
    dets, scores, gts, labeled = [], [], [], []
    for _ in range(60):
        num_gt = int(rng.integers(0, 5))
        xy = rng.uniform(0, 200, (num_gt, 2))
        gt = np.hstack([xy, xy + rng.uniform(10, 60, (num_gt, 2))])
        # detections: jittered ground truth plus clutter
        num_near = int(rng.integers(0, 2 * num_gt + 1))
        near = gt[rng.integers(0, max(num_gt, 1), num_near)] if num_gt else \
            np.zeros((0, 4))
        near = near + rng.normal(0, 6, near.shape)
        num_far = int(rng.integers(0, 3))
        xy = rng.uniform(0, 200, (num_far, 2))
        far = np.hstack([xy, xy + rng.uniform(10, 60, (num_far, 2))])
        det = np.vstack([near, far]).astype(np.float32)
        gts.append(gt.astype(np.float32))
        labeled.append(rng.random(num_gt) < 0.6)
        dets.append(det)
        scores.append(rng.random(len(det)).astype(np.float32))
    result = eval_detection(
        dets, scores, gts, labeled, labeled_only=labeled_only)
    recall, ap = reference_eval_detection(dets, scores, gts, labeled, 0.5, 0.5,
                                          labeled_only)
    assert result.recall == pytest.approx(recall, abs=1e-12)
    assert result.ap == pytest.approx(ap, abs=1e-12)
    assert 0 < result.recall < 1
