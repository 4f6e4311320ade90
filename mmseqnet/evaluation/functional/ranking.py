"""Ranking primitives shared by the detection and search metrics.

Pure numpy: usable without mmengine.
"""
import numpy as np


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Average precision with the definition of sklearn's
    ``average_precision_score`` (binary case, no interpolation).

    ``AP = sum_n (R_n - R_{n-1}) * P_n`` over the distinct score values taken
    as thresholds in decreasing order. Only thresholds that add positives
    change the recall, so this equals the mean, over the positives ``p``, of
    ``#positives with score >= s_p / #entries with score >= s_p``; tied scores
    form one threshold, so the result does not depend on the order of ties.

    Args:
        labels (np.ndarray): (N,) truthy for positives.
        scores (np.ndarray): (N,) scores, higher is more confident.

    Returns:
        float: AP in [0, 1]; 0.0 when there is no positive (sklearn warns and
        also yields 0 there).
    """
    labels = np.asarray(labels, dtype=bool).ravel()
    scores = np.asarray(scores).ravel()
    if labels.shape != scores.shape:
        raise ValueError('average_precision: labels and scores must have the '
                         f'same length, got {labels.shape} and '
                         f'{scores.shape}')
    return average_precision_of_positives(scores[labels], scores)


def average_precision_of_positives(positive_scores: np.ndarray,
                                   scores: np.ndarray) -> float:
    """:func:`average_precision` given the positives' scores only.

    The search metric knows its few positives and ranks them among tens of
    thousands of detections; counting the entries at or above each positive
    avoids sorting the whole list.

    Args:
        positive_scores (np.ndarray): (P,) scores of the positives; each must
            also be an entry of ``scores``.
        scores (np.ndarray): (N,) scores of all entries, positives included.
            ``-inf`` entries (excluded from the ranking) are never counted.

    Returns:
        float: AP in [0, 1]; 0.0 when ``P == 0``.
    """
    positive_scores = np.sort(np.asarray(positive_scores).ravel())
    if positive_scores.size == 0:
        return 0.0
    scores = np.asarray(scores).ravel()
    ranked = np.sort(scores[scores >= positive_scores[0]])
    return average_precision_from_counts(
        positive_scores,
        ranked.size - np.searchsorted(ranked, positive_scores))


def average_precision_from_counts(positive_scores: np.ndarray,
                                  num_at_or_above: np.ndarray) -> float:
    """:func:`average_precision` given, for each positive, how many entries
    score at or above it.

    Args:
        positive_scores (np.ndarray): (P,) scores of the positives, sorted
            ascending, P >= 1.
        num_at_or_above (np.ndarray): (P,) entries (positives included) with
            a score >= each positive's.

    Returns:
        float: AP in [0, 1].
    """
    pos_at_or_above = positive_scores.size - np.searchsorted(
        positive_scores, positive_scores)
    return float(np.mean(pos_at_or_above / num_at_or_above))


def stable_topk(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` highest scores, highest first.

    Ties are ordered by index (a stable descending sort), so rankings are
    deterministic. Linear in ``len(scores)`` plus ``k log k``.

    Args:
        scores (np.ndarray): (N,) scores; ``-inf`` entries are never returned.
        k (int): How many to return at most.

    Returns:
        np.ndarray: (min(k, #finite),) int64 indices into ``scores``.
    """
    scores = np.asarray(scores).ravel()
    n = scores.size
    if k <= 0 or n == 0:
        return np.zeros(0, dtype=np.int64)
    if k < n:
        kth_largest = np.partition(scores, n - k)[n - k]
        candidates = np.flatnonzero(scores >= kth_largest)
    else:
        candidates = np.arange(n)
    order = candidates[np.lexsort((candidates, -scores[candidates]))][:k]
    return order[scores[order] > -np.inf]
