import torch
from mmdet.registry import MODELS


def test_pooled_input_and_output():
    head = MODELS.build(dict(type='PooledResLayer', depth=18))
    head.eval()  # mmdet's ResLayer.train returns None
    assert not head.norm_eval
    x = torch.randn(3, 256, 7, 7)
    res4, res5 = head(x)
    assert res4.shape == (3, 256) and res5.shape == (3, 512)
    torch.testing.assert_close(res4, x.amax(dim=(2, 3)))
    torch.testing.assert_close(res5, head.layer4(x).amax(dim=(2, 3)))
    # The layer is named as in torchvision's ResNet (layer4.*).
    assert 'layer4.0.downsample.1.running_var' in head.state_dict()


def test_train_mode_keeps_bn_training():
    head = MODELS.build(dict(type='PooledResLayer', depth=18))
    head.train()
    assert head.layer4[0].bn1.training


def test_no_rois():
    head = MODELS.build(dict(type='PooledResLayer', depth=18))
    head.eval()
    res4, res5 = head(torch.zeros(0, 256, 7, 7))
    assert res4.shape == (0, 256) and res5.shape == (0, 512)


def test_base_channels_narrows_the_stage_like_resnet():
    backbone = MODELS.build(
        dict(type='ResNet', depth=18, base_channels=16, num_stages=4))
    head = MODELS.build(
        dict(type='PooledResLayer', depth=18, base_channels=16))
    head.eval()
    # The same layer4 as the narrowed ResNet's, parameter for parameter.
    assert {k: v.shape for k, v in head.layer4.state_dict().items()} == {
        k: v.shape for k, v in backbone.layer4.state_dict().items()}
    res4, res5 = head(torch.randn(2, 64, 7, 7))
    assert res4.shape == (2, 64) and res5.shape == (2, 128)


def test_base_channels_of_a_bottleneck_stage():
    head = MODELS.build(
        dict(type='PooledResLayer', depth=50, base_channels=16))
    head.eval()
    res4, res5 = head(torch.randn(2, 256, 6, 6))
    assert res4.shape == (2, 256) and res5.shape == (2, 512)
