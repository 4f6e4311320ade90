import torch
from mmdet.registry import MODELS


def build(frozen_stages):
    return MODELS.build(
        dict(
            type='ParamFrozenResNet',
            depth=18,
            num_stages=3,
            strides=(1, 2, 2),
            dilations=(1, 1, 1),
            out_indices=(2, ),
            frozen_stages=frozen_stages,
            norm_eval=False))


def test_stem_weights_frozen_statistics_live():
    model = build(0)
    model.train()  # mmdet ResNet.train returns None
    frozen = [model.conv1.weight, model.bn1.weight, model.bn1.bias]
    assert not any(p.requires_grad for p in frozen)
    assert all(p.requires_grad for p in model.layer1.parameters())
    assert model.bn1.training
    before = model.bn1.running_mean.clone()
    out = model(torch.randn(2, 3, 64, 64))
    assert out[0].shape == (2, 256, 4, 4)
    assert not torch.equal(before, model.bn1.running_mean)


def test_frozen_stages_freeze_layers_too():
    model = build(1)
    model.train()
    assert not any(p.requires_grad for p in model.layer1.parameters())
    assert model.layer1[0].bn1.training
    assert all(p.requires_grad for p in model.layer2.parameters())


def test_nothing_frozen():
    model = build(-1)
    assert all(p.requires_grad for p in model.parameters())
