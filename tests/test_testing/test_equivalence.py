import pytest
import torch
from mmengine.structures import InstanceData

from mmseqnet.testing.equivalence import (BOX_ATOL, BOX_RTOL,
                                          assert_boxes_close,
                                          assert_detections_close,
                                          assert_values_close, fixed_proposals,
                                          match_rows)

# a near-degenerate box 1200 px wide and 0.5 px tall, and a small one
BOXES = torch.tensor([[0., 10., 1200., 10.5], [5., 5., 15., 25.]])


def test_box_tolerance_scales_with_the_larger_side():
    big_tol = BOX_ATOL + BOX_RTOL * 1200
    small_tol = BOX_ATOL + BOX_RTOL * 20
    shifted = BOXES.clone()
    # along the short side too: 0.1 px on a 0.5 px tall box
    shifted[0, 1] += 0.9 * big_tol
    shifted[1, 2] += 0.9 * small_tol
    assert_boxes_close(shifted, BOXES)
    shifted[1, 2] += 0.2 * small_tol
    with pytest.raises(AssertionError, match='1 of 2 rows.*worst row 1'):
        assert_boxes_close(shifted, BOXES)
    with pytest.raises(AssertionError, match='shape'):
        assert_boxes_close(BOXES[:1], BOXES)


def test_values_close():
    assert_values_close(torch.ones(3), torch.ones(3) + 1e-6, 1e-5)
    with pytest.raises(AssertionError, match=r'max abs difference 0\.001'):
        assert_values_close(torch.ones(3, 2), torch.ones(3, 2) + 1e-3, 1e-5)


def test_rows_of_tied_scores_may_swap_others_not():
    boxes = torch.tensor([[0., 0., 10., 10.], [50., 50., 60., 60.],
                          [100., 100., 110., 110.]])
    scores = torch.tensor([0.9, 0.8, 0.8 - 1e-6])
    swapped = boxes[[0, 2, 1]]
    assert match_rows(swapped, boxes, scores[[0, 2, 1]],
                      scores).tolist() == [0, 2, 1]
    # rows 0 and 1 do not tie: their order is not float noise
    with pytest.raises(AssertionError, match='score-tied position'):
        match_rows(boxes[[1, 0, 2]], boxes, scores[[1, 0, 2]], scores)
    with pytest.raises(AssertionError, match='no output row.*nearest'):
        match_rows(boxes + 1, boxes)
    with pytest.raises(AssertionError, match='2 output rows, 3'):
        match_rows(boxes[:2], boxes)


def test_detections_compared_after_matching():
    boxes = torch.tensor([[0., 0., 10., 10.], [50., 50., 60., 60.]])
    scores = torch.tensor([0.8, 0.8])
    embeddings = torch.eye(2)
    pred = InstanceData(
        bboxes=boxes[[1, 0]], scores=scores, embeddings=embeddings[[1, 0]])
    assert_detections_close(pred, boxes, scores, embeddings)
    pred.embeddings = embeddings
    with pytest.raises(AssertionError, match='embeddings'):
        assert_detections_close(pred, boxes, scores, embeddings)


def test_fixed_proposals_feeds_and_restores():

    class Head:

        def predict(self, x, samples, rescale=False):
            return ['own'] * len(samples)

    model = torch.nn.Module()
    model.rpn_head = Head()
    proposals = torch.rand(3, 4)
    with fixed_proposals(model, proposals) as own:
        results = model.rpn_head.predict([torch.zeros(1)], [None, None])
    assert own == [['own', 'own']]
    assert [torch.equal(r.bboxes, proposals) for r in results] == [True] * 2
    assert model.rpn_head.predict(None, [None]) == ['own']
