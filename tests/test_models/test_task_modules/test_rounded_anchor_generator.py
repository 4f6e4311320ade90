import math

import torch
from mmdet.registry import TASK_UTILS

SIZES = (32, 64, 128, 256, 512)
RATIOS = (0.5, 1.0, 2.0)


def seqnet_anchor_generator():
    return TASK_UTILS.build(
        dict(
            type='RoundedAnchorGenerator',
            strides=[16],
            ratios=list(RATIOS),
            scales=[s / 16 for s in SIZES]))


def test_base_anchors_are_torchvision_s():
    base = seqnet_anchor_generator().base_anchors[0]
    # torchvision: ratio-major, h = size * sqrt(r), w = size / sqrt(r),
    # [-w, -h, w, h] / 2 rounded.
    expected = []
    for ratio in RATIOS:
        for size in SIZES:
            w, h = size / math.sqrt(ratio), size * math.sqrt(ratio)
            expected.append([round(-w / 2), round(-h / 2), round(w / 2),
                             round(h / 2)])
    assert base.tolist() == expected
    assert base[0].tolist() == [-23, -11, 23, 11]


def test_anchors_centred_on_stride_multiples():
    anchors = seqnet_anchor_generator().grid_priors([(2, 3)], device='cpu')[0]
    assert anchors.shape == (2 * 3 * 15, 4)
    base = seqnet_anchor_generator().base_anchors[0]
    # Location (y=1, x=2): row-major, then the 15 anchors.
    loc = (1 * 3 + 2) * 15
    torch.testing.assert_close(anchors[loc:loc + 15],
                               base + torch.tensor([32., 16., 32., 16.]))
