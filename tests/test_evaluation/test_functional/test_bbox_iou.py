import numpy as np
import pytest

from mmseqnet.evaluation.functional import bbox_iou


def test_bbox_iou():
    a = np.array([0, 0, 10, 10])
    assert bbox_iou(a, np.array([5, 0, 15, 10])) == pytest.approx(50 / 150)
    assert bbox_iou(a, np.array([20, 20, 30, 30])) == 0
    # degenerate boxes: empty union gives 0, not NaN
    assert bbox_iou(np.zeros(4), np.zeros(4)) == 0
    pairwise = bbox_iou(np.stack([a, a + 5])[:, None], np.stack([a])[None])
    assert pairwise.shape == (2, 1)
    assert pairwise[:, 0] == pytest.approx([1, 25 / 175])
