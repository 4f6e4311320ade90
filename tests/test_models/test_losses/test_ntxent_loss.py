import math

import torch

from mmseqnet.models.losses import NTXentLoss


def test_ntxent_by_hand():
    anchors = torch.tensor([[2.0, 0.0]])
    # Cosine similarities 1, 0, -1 with the anchor.
    refs = torch.tensor([[[1.0, 0.0], [0.0, 3.0], [-1.0, 0.0]]])
    pos = torch.tensor([[True, False, False]])
    neg = ~pos
    loss = NTXentLoss(temperature=1.0)(anchors, refs, pos, neg)
    expected = math.log(math.e + 1 + math.exp(-1)) - 1
    assert math.isclose(loss.item(), expected, rel_tol=1e-6)
    loss = NTXentLoss(
        temperature=0.5, loss_weight=2.0)(anchors, refs, pos, neg)
    expected = 2 * (math.log(math.exp(2) + 1 + math.exp(-2)) - 2)
    assert math.isclose(loss.item(), expected, rel_tol=1e-6)


def test_ntxent_mean_over_positive_pairs():
    anchors = torch.tensor([[1.0, 0.0]])
    refs = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]])
    # Two positives (cos 1 and 0), one negative (cos -1), t = 1.
    pos = torch.tensor([[True, True, False]])
    neg = torch.tensor([[False, False, True]])
    loss = NTXentLoss(temperature=1.0)(anchors, refs, pos, neg)
    first = math.log(math.e + math.exp(-1)) - 1
    second = math.log(1 + math.exp(-1))
    assert math.isclose(loss.item(), (first + second) / 2, rel_tol=1e-6)


def test_ntxent_without_pairs_is_zero_and_connected():
    anchors = torch.randn(2, 4, requires_grad=True)
    refs = torch.randn(2, 3, 4)
    pos = torch.zeros(2, 3, dtype=torch.bool)
    loss = NTXentLoss()(anchors, refs, pos, ~pos)
    assert loss.item() == 0
    loss.backward()
    assert anchors.grad is not None
