import itertools

import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from mmseqnet.evaluation.functional import cbgm, stable_topk
from mmseqnet.evaluation.functional.cbgm import (cbgm_updates,
                                                 max_weight_matchings)


def graph_feats(weights):
    """Gallery features whose dot products with an identity context are the
    given (C, n) weights."""
    return np.asarray(weights, np.float32).T.copy()


def test_cbgm_writes_back_largest_matched_weight():
    # image 0: weights query->(det0 0.5, det1 0.6), context->(0.9, 0.1):
    # the best matching is query-det1 (0.6) + context-det0 (0.9), so det1
    # gets 0.9, the largest matched weight, not its own edge 0.6
    feats = np.vstack([
        graph_feats([[0.5, 0.6], [0.9, 0.1]]),
        graph_feats([[0.3], [0.2]]),
    ])
    sims = np.array([0.2, 0.3, 0.4], np.float32)
    out = cbgm(
        sims,
        np.array([0, 0, 1]),
        feats,
        np.eye(2, dtype=np.float32),
        k1=3,
        k2=2)
    assert out.dtype == sims.dtype
    assert out.tolist() == pytest.approx([0.2, 0.9, 0.3])
    # the input is left alone
    assert sims.tolist() == pytest.approx([0.2, 0.3, 0.4])


def test_cbgm_unmatched_query_changes_nothing():
    # 3 query-side nodes, 1 detection: the detection goes to context row 1
    feats = graph_feats([[0.1], [0.8], [0.2]])
    sims = np.array([0.5], np.float32)
    out = cbgm(
        sims, np.array([0]), feats, np.eye(3, dtype=np.float32), k1=5, k2=3)
    assert out.tolist() == pytest.approx([0.5])


def test_cbgm_only_images_of_top_k1_detections():
    feats = np.vstack(
        [graph_feats([[0.9], [0.0]]),
         graph_feats([[0.1], [0.0]])])
    sims = np.array([0.7, 0.2], np.float32)
    out = cbgm(
        sims, np.array([0, 1]), feats, np.eye(2, dtype=np.float32), k1=1, k2=2)
    # image 0 re-scored (0.9), image 1 not selected (0.2 kept)
    assert out.tolist() == pytest.approx([0.9, 0.2])
    # -inf (outside the gallery) is never selected, even when k1 is larger
    sims = np.array([0.7, -np.inf], np.float32)
    out = cbgm(
        sims, np.array([0, 1]), feats, np.eye(2, dtype=np.float32), k1=5, k2=2)
    assert out[0] == pytest.approx(0.9) and out[1] == -np.inf


def test_cbgm_k2_truncates_context():
    feats = graph_feats([[0.1, 0.2], [0.9, 0.0], [0.0, 0.95]])
    sims = np.array([0.1, 0.2], np.float32)
    context = np.eye(3, dtype=np.float32)
    # k2 = 2: rows 0 and 1 only; query->det1 (0.2), row1->det0 (0.9)
    out = cbgm(sims, np.array([0, 0]), feats, context, k1=2, k2=2)
    assert out.tolist() == pytest.approx([0.1, 0.9])
    # k2 = 3: query unmatched (det0->row1, det1->row2)
    out = cbgm(sims, np.array([0, 0]), feats, context, k1=2, k2=3)
    assert out.tolist() == pytest.approx([0.1, 0.2])


def test_cbgm_empty_context_and_empty_gallery():
    feats = np.ones((2, 4), np.float32)
    sims = np.array([0.3, 0.1], np.float32)
    out = cbgm(sims, np.array([0, 1]), feats, np.zeros((0, 4), np.float32))
    assert out.tolist() == pytest.approx([0.3, 0.1])
    out = cbgm(
        np.zeros(0, np.float32), np.zeros(0, np.int64),
        np.zeros((0, 4), np.float32), np.ones((2, 4), np.float32))
    assert out.size == 0


def test_cbgm_rejects_bad_layout():
    feats = np.ones((2, 4), np.float32)
    with pytest.raises(ValueError, match='non-decreasing'):
        cbgm(np.zeros(2), np.array([1, 0]), feats, feats)
    with pytest.raises(ValueError, match='one row per detection'):
        cbgm(np.zeros(3), np.array([0, 0, 1]), feats, feats)


def brute_force_matching(weights):
    """Maximum-weight matching saturating the smaller side, by enumerating
    every injective assignment."""
    rows, cols = weights.shape
    best, best_pairs = -np.inf, None
    if rows <= cols:
        for perm in itertools.permutations(range(cols), rows):
            pairs = list(zip(range(rows), perm))
            total = sum(weights[i, j] for i, j in pairs)
            if total > best:
                best, best_pairs = total, pairs
    else:
        for perm in itertools.permutations(range(rows), cols):
            pairs = list(zip(perm, range(cols)))
            total = sum(weights[i, j] for i, j in pairs)
            if total > best:
                best, best_pairs = total, pairs
    return best_pairs


def test_cbgm_matches_brute_force_matching():
    rng = np.random.default_rng(3)
    for _ in range(20):
        counts = rng.integers(1, 6, size=6)
        image_ids = np.repeat(np.arange(6), counts)
        feats = rng.normal(size=(len(image_ids), 8)).astype(np.float32)
        context = rng.normal(size=(int(rng.integers(1, 5)),
                                   8)).astype(np.float32)
        sims = rng.normal(size=len(image_ids)).astype(np.float32)
        out = cbgm(sims, image_ids, feats, context, k1=4, k2=3)
        expected = sims.copy()
        top = sorted(range(len(sims)), key=lambda j: (-sims[j], j))[:4]
        for img in sorted({int(image_ids[j]) for j in top}):
            rows = np.flatnonzero(image_ids == img)
            weights = context[:3] @ feats[rows].T
            pairs = brute_force_matching(weights)
            for i, j in pairs:
                if i == 0:
                    expected[rows[j]] = max(weights[a, b] for a, b in pairs)
        assert out == pytest.approx(expected, abs=1e-6)


def scipy_matching(graph):
    """Row 0's column (-1: unmatched) and the largest matched weight, by
    scipy, graph by graph."""
    left, right = linear_sum_assignment(graph, maximize=True)
    query_edge = np.flatnonzero(left == 0)
    return (int(right[query_edge[0]]) if query_edge.size else -1,
            graph[left, right].max())


@pytest.mark.parametrize('rounding', [None, 0])
def test_max_weight_matchings_equal_scipy(rounding):
    # query sides of 1..6 (5 and 6 go to scipy), wide and tall graphs;
    # rounded weights make many equal matchings, which scipy decides
    rng = np.random.default_rng(7)
    for _ in range(60):
        rows = int(rng.integers(1, 7))
        sizes = rng.integers(1, 12, size=int(rng.integers(1, 30)))
        weights = rng.normal(size=(rows, sizes.sum())).astype(np.float32)
        if rounding is not None:
            weights = np.round(weights, rounding)
        starts = np.cumsum(sizes) - sizes
        out = max_weight_matchings(weights, starts, sizes)
        assert out.max_weight.dtype == weights.dtype
        for g, (start, size) in enumerate(zip(starts, sizes)):
            col, best = scipy_matching(weights[:, start:start + size])
            assert out.query_col[g] == col
            assert out.max_weight[g] == best


def test_max_weight_matchings_images_with_many_detections():
    # more columns than the enumeration's bit sets hold go to scipy; the
    # widest enumerated class pads 32..63 columns
    rng = np.random.default_rng(8)
    sizes = np.array([3, 70, 64, 63, 33, 5, 100])
    weights = rng.normal(size=(4, sizes.sum())).astype(np.float32)
    starts = np.cumsum(sizes) - sizes
    out = max_weight_matchings(weights, starts, sizes)
    for g, (start, size) in enumerate(zip(starts, sizes)):
        assert (out.query_col[g], out.max_weight[g]) == scipy_matching(
            weights[:, start:start + size])


def test_max_weight_matchings_rejects_non_finite_weights_like_scipy():
    weights = np.array([[0.5, np.nan], [0.1, 0.2]], np.float32)
    with pytest.raises(ValueError):
        max_weight_matchings(weights, np.array([0]), np.array([2]))


def test_cbgm_updates_equal_cbgm_per_query():
    rng = np.random.default_rng(5)
    image_ids = np.repeat(np.arange(12), rng.integers(0, 5, size=12))
    feats = rng.normal(size=(len(image_ids), 8)).astype(np.float32)
    sims = rng.normal(size=(6, len(image_ids))).astype(np.float32)
    contexts = [
        rng.normal(size=(int(rng.integers(0, 6)), 8)).astype(np.float32)
        for _ in range(6)
    ]
    selected = np.stack([
        np.pad(stable_topk(s, 5), (0, 5 - min(5, s.size)), constant_values=-1)
        for s in sims
    ])
    query, rows, values = cbgm_updates(
        selected, image_ids, feats, contexts, k2=4)
    assert (np.diff(query) >= 0).all()
    for q in range(6):
        expected = cbgm(sims[q], image_ids, feats, contexts[q], k1=5, k2=4)
        changed = np.flatnonzero(expected != sims[q])
        mine = query == q
        assert set(changed) <= set(rows[mine])
        rescored = sims[q].copy()
        rescored[rows[mine]] = values[mine]
        assert np.array_equal(rescored, expected)
