import pytest
import torch
from mmdet.registry import MODELS


def test_as_bbox_head_regressor():
    head = MODELS.build(
        dict(
            type='BBoxHead',
            with_avg_pool=False,
            with_cls=False,
            roi_feat_size=1,
            in_channels=64,
            num_classes=1,
            reg_predictor_cfg=dict(type='BNNeckLinear'),
            init_cfg=[]))
    torch.manual_seed(0)
    head.init_weights()
    assert {k for k in head.state_dict() if k.startswith('fc_reg')} == {
        'fc_reg.fc.weight', 'fc_reg.fc.bias', 'fc_reg.bn.weight',
        'fc_reg.bn.bias', 'fc_reg.bn.running_mean', 'fc_reg.bn.running_var',
        'fc_reg.bn.num_batches_tracked'
    }
    fc, bn = head.fc_reg.fc, head.fc_reg.bn
    assert fc.weight.std().item() == pytest.approx(0.01, rel=0.2)
    # N(0, 0.01) rather than BatchNorm's default of ones.
    assert 0 < bn.weight.abs().max().item() < 0.05
    assert fc.bias.abs().sum() == 0 and bn.bias.abs().sum() == 0
    head.eval()
    x = torch.randn(3, 64)
    _, deltas = head(x)
    torch.testing.assert_close(deltas, bn(fc(x)))
