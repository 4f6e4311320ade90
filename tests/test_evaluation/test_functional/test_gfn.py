import math

import numpy as np
import pytest

from mmseqnet.evaluation.functional import (gfn_retrieval, gfn_reweight,
                                            gfn_scores)


def test_gfn_scores_by_hand():
    # anchor (1, 0), gate (1, 1), offset 0 or (0, 1).
    filters = np.array([[[1, 0], [1, 1], [0, 0]], [[1, 0], [1, 1], [0, 1]]],
                       dtype=np.float32)
    scenes = np.array([[0, 1], [2, 0]], dtype=np.float32)
    sigmoid = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    expected = [
        # fused (0, 1): cos 0; fused (1, 0): cos 1.
        [sigmoid(0), sigmoid(1)],
        # fused (0, 2): cos 0; fused (1, 1): cos 1 / sqrt 2.
        [sigmoid(0), sigmoid(1 / math.sqrt(2))],
    ]
    np.testing.assert_allclose(
        gfn_scores(filters, scenes), expected, atol=1e-12)
    # Chunking does not change anything.
    np.testing.assert_allclose(
        gfn_scores(filters, scenes, chunk_size=1), expected, atol=1e-12)


def test_gfn_scores_shapes():
    with pytest.raises(ValueError, match='filters'):
        gfn_scores(np.zeros((2, 2, 4)), np.zeros((3, 4)))


def test_gfn_reweight_by_hand():
    out = gfn_reweight(
        np.array([0.9, 0.5, 0.2]), np.array([0, 1, 1]), np.array([0.7, 0.3]))
    np.testing.assert_allclose(out, [0.63, 0.15, 0.06])
    with pytest.raises(ValueError, match='image indices'):
        gfn_reweight(np.array([0.9]), np.array([0, 1]), np.array([0.7]))


def test_gfn_retrieval_by_hand():
    scores = np.array([[0.7, 0.5, 0.6, 0.9], [0.3, 0.3, 0.2, 0.1]])
    positives = np.array([[False, True, True, True],
                          [True, True, False, False]])
    galleries = np.array([[True, True, True, False], [True, True, True, True]])
    result = gfn_retrieval(scores, positives, galleries)
    # Query 0 over images 0-2: ranking 0.7 (neg), 0.6 (pos), 0.5 (pos):
    # AP = (1/2 + 2/3) / 2; top-1 wrong.
    # Query 1: the two positives tie first: AP 1, top-1 right.
    np.testing.assert_allclose(result.ap, [(1 / 2 + 2 / 3) / 2, 1.0])
    assert result.top1.tolist() == [False, True]
    empty = gfn_retrieval(scores, np.zeros((2, 4), bool), galleries)
    assert np.isnan(empty.ap).all()
