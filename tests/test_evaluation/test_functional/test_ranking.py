import numpy as np
import pytest

from mmseqnet.evaluation.functional import (average_precision,
                                            average_precision_of_positives,
                                            stable_topk)


def reference_average_precision(labels, scores):
    """sklearn's definition, literally: walk the distinct thresholds from
    the highest down and add (recall step) x precision."""
    labels = [bool(v) for v in labels]
    scores = [float(v) for v in scores]
    num_pos = sum(labels)
    if num_pos == 0:
        return 0.0
    ap, prev_recall = 0.0, 0.0
    for threshold in sorted(set(scores), reverse=True):
        selected = [lab for lab, s in zip(labels, scores) if s >= threshold]
        tp = sum(selected)
        recall = tp / num_pos
        ap += (recall - prev_recall) * tp / len(selected)
        prev_recall = recall
    return ap


def test_average_precision_by_hand():
    # positives at ranks 1 and 3: (1/1 + 2/3) / 2
    assert average_precision([1, 0, 1, 0],
                             [0.9, 0.8, 0.7, 0.1]) == pytest.approx(5 / 6)
    # positives at ranks 2 and 4: (1/2 + 2/4) / 2
    assert average_precision([0, 1, 0, 1],
                             [0.9, 0.8, 0.7, 0.1]) == pytest.approx(0.5)
    assert average_precision([0, 0], [0.3, 0.1]) == 0.0


def test_average_precision_ties_form_one_threshold():
    # a tie between a positive and a negative counts both at once, whatever
    # their order
    assert average_precision([1, 0], [0.5, 0.5]) == pytest.approx(0.5)
    assert average_precision([0, 1], [0.5, 0.5]) == pytest.approx(0.5)
    assert average_precision([1, 0, 1], [0.9, 0.5, 0.5]) == pytest.approx(
        (1 + 2 / 3) / 2)


def test_average_precision_matches_reference_definition():
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(1, 60))
        labels = rng.random(n) < 0.3
        # coarse scores create many ties
        scores = np.round(rng.random(n), 1).astype(np.float32)
        assert average_precision(labels, scores) == pytest.approx(
            reference_average_precision(labels, scores), abs=1e-12)


def test_average_precision_of_positives_ignores_excluded_entries():
    scores = np.array([0.9, -np.inf, 0.7, 0.8], dtype=np.float32)
    assert average_precision_of_positives(scores[[2]],
                                          scores) == pytest.approx(1 / 3)
    assert average_precision_of_positives(np.zeros(0), scores) == 0.0


def test_average_precision_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match='same length'):
        average_precision([1, 0], [0.3])


def test_stable_topk_orders_ties_by_index():
    scores = np.array([0.5, 0.9, 0.5, 0.5, -np.inf, 0.1], dtype=np.float32)
    assert stable_topk(scores, 3).tolist() == [1, 0, 2]
    assert stable_topk(scores, 4).tolist() == [1, 0, 2, 3]
    # fewer finite entries than k: -inf never comes back
    assert stable_topk(scores, 10).tolist() == [1, 0, 2, 3, 5]
    assert stable_topk(scores, 0).size == 0
    assert stable_topk(np.zeros(0), 3).size == 0


def test_stable_topk_equals_full_stable_sort():
    rng = np.random.default_rng(1)
    scores = np.round(rng.random(500), 2)
    expected = np.argsort(-scores, kind='stable')
    for k in (1, 7, 100, 499, 500, 600):
        assert stable_topk(scores, k).tolist() == expected[:k].tolist()
