"""The ImageNet init of the configs: a whole torchvision ResNet checkpoint
feeds the stem (conv1..layer3) and, through its layer4, both res5 heads."""
import torch
from mmdet.models.backbones import ResNet
from mmdet.registry import MODELS


def test_torchvision_resnet_checkpoint_feeds_stem_and_res5_heads(
        seqnet_cfg, tmp_path):
    # A torchvision-layout ResNet-18 state_dict (same key names as mmdet's
    # ResNet: conv1, bn1, layer1..4, downsample.0/1) plus the classifier.
    torch.manual_seed(0)
    resnet = ResNet(depth=18)
    state_dict = {
        k: torch.randn_like(v) if v.is_floating_point() else v
        for k, v in resnet.state_dict().items()
    }
    state_dict.update({'fc.weight': torch.randn(10, 512),
                       'fc.bias': torch.randn(10)})
    path = str(tmp_path / 'resnet18.pth')
    torch.save(state_dict, path)

    pretrained = dict(type='Pretrained', checkpoint=path)
    seqnet_cfg.backbone.init_cfg = pretrained
    for head in ('box_head', 'reid_head'):
        seqnet_cfg.roi_head[head].init_cfg = pretrained
    model = MODELS.build(seqnet_cfg)
    model.init_weights()

    loaded = dict(model.backbone.state_dict(prefix='backbone.'))
    for name in ('box_head', 'reid_head'):
        loaded.update(getattr(model.roi_head, name).state_dict(
            prefix=f'roi_head.{name}.'))
    for key, value in state_dict.items():
        if key.startswith('layer4.'):
            for name in ('box_head', 'reid_head'):
                assert torch.equal(loaded[f'roi_head.{name}.{key}'], value)
        elif not key.startswith('fc.'):
            assert torch.equal(loaded[f'backbone.{key}'], value), key
    # The two heads are separate copies.
    box4 = model.roi_head.box_head.layer4[0].conv1.weight
    assert box4 is not model.roi_head.reid_head.layer4[0].conv1.weight
