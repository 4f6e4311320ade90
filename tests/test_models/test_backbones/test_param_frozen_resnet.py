import pytest
import torch
from mmdet.registry import MODELS
from torch import nn


def build(frozen_stages, **kwargs):
    cfg = dict(
        type='ParamFrozenResNet',
        depth=18,
        num_stages=3,
        strides=(1, 2, 2),
        dilations=(1, 1, 1),
        out_indices=(2, ),
        frozen_stages=frozen_stages,
        norm_eval=False)
    return MODELS.build({**cfg, **kwargs})


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


def test_stem_conv_stride():
    torch.manual_seed(0)
    resnet = build(-1)
    strided = build(-1, stem_conv_stride=4, strides=(1, 2, 1))
    strided.load_state_dict(resnet.state_dict())  # the same parameters
    for model in (resnet, strided):
        model.eval()
    images = torch.randn(2, 3, 96, 160)
    stem = strided.maxpool(strided.relu(strided.norm1(strided.conv1(images))))
    expected = resnet.maxpool(
        resnet.relu(
            resnet.norm1(
                nn.functional.conv2d(
                    images, resnet.conv1.weight, stride=4, padding=3))))
    torch.testing.assert_close(stem, expected)
    # res2 and res3 at strides 8 and 16; res4 at 16 as in ResNet.
    assert strided(images)[0].shape == resnet(images)[0].shape == (2, 256, 6,
                                                                   10)


def test_stem_conv_stride_needs_the_plain_stem():
    with pytest.raises(ValueError, match='deep_stem=False'):
        build(-1, stem_conv_stride=4, deep_stem=True)
    assert len(build(-1, deep_stem=True).stem) == 9  # untouched
