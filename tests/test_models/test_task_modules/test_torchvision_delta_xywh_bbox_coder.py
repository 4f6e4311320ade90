import math

import pytest
import torch
from mmdet.registry import TASK_UTILS


def coder(stds=(0.1, 0.1, 0.2, 0.2)):
    return TASK_UTILS.build(
        dict(type='TorchvisionDeltaXYWHBBoxCoder', target_stds=list(stds)))


def test_encode_decode_round_trip():
    boxes = torch.tensor([[10., 20., 50., 80.], [0., 0., 100., 30.]])
    gts = torch.tensor([[12., 18., 60., 90.], [5., 2., 90., 40.]])
    deltas = coder().encode(boxes, gts)
    torch.testing.assert_close(coder().decode(boxes, deltas), gts)


def test_size_deltas_clamped_from_above_only():
    box = torch.tensor([[100., 100., 140., 180.]])  # w 40, h 80
    huge = coder(stds=(1, 1, 1, 1)).decode(
        box, torch.tensor([[0., 0., 10., -10.]]))
    w, h = huge[0, 2] - huge[0, 0], huge[0, 3] - huge[0, 1]
    assert w.item() == pytest.approx(40 * 1000 / 16, rel=1e-5)
    # mmdet would clamp at -log(1000 / 16) too (h = 80 * 16 / 1000).
    assert h.item() == pytest.approx(80 * math.exp(-10), rel=1e-3)
    mmdet = TASK_UTILS.build(dict(type='DeltaXYWHBBoxCoder')).decode(
        box, torch.tensor([[0., 0., 10., -10.]]))
    assert (mmdet[0, 3] - mmdet[0, 1]).item() == pytest.approx(1.28,
                                                               rel=1e-3)


def test_class_specific_deltas_and_clipping():
    box = torch.tensor([[10., 10., 30., 50.]])
    deltas = torch.tensor([[0., 0., 0., 0., 10., 0., 0., 0.]])
    out = coder().decode(box, deltas, max_shape=(40, 35))
    assert out.shape == (1, 8)
    torch.testing.assert_close(out[0, :4], torch.tensor([10., 10., 30., 40.]))
    # Shifted by one width (10 * 0.1 * 20) to the right, clipped at x = 35.
    torch.testing.assert_close(out[0, 4:], torch.tensor([30., 10., 35., 40.]))


def test_bad_inputs():
    with pytest.raises(ValueError, match='target_means'):
        TASK_UTILS.build(
            dict(type='TorchvisionDeltaXYWHBBoxCoder',
                 target_means=[0.1, 0, 0, 0]))
    with pytest.raises(ValueError, match='deltas'):
        coder().decode(torch.zeros(2, 4), torch.zeros(3, 4))
