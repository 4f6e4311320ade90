"""ResNet whose frozen layers keep training their BatchNorm statistics."""
from mmdet.models.backbones import ResNet
from mmdet.registry import MODELS


@MODELS.register_module()
class ParamFrozenResNet(ResNet):
    """mmdet's ``ResNet`` where ``frozen_stages`` freezes parameters only.

    mmdet's ``ResNet`` also switches the norm layers of the frozen stages to
    eval mode, which freezes their running statistics. The original SeqNet
    only stops the gradients of ``conv1`` and ``bn1`` (``requires_grad=False``)
    and leaves ``bn1`` in train mode, so its running mean and variance keep
    following the training images; ``frozen_stages=0`` here does exactly that.
    Every argument but ``stem_conv_stride`` is mmdet's ``ResNet``'s
    (``frozen_stages=-1`` freezes nothing, ``0`` the stem, ``k`` the stem and
    ``layer1..k``).

    Args:
        stem_conv_stride (int): Stride of ``conv1``, before the stem's
            stride-2 max-pool. Defaults to 2 (ResNet). The light demo
            config strides 4 there and 1, 2, 1 in res2-res4 (``strides``):
            res2 and res3 work at strides 8 and 16 instead of 4 and 8 (res4
            stays at 16), for a quarter of their compute, and that model
            learns the demo's data faster (README).
    """

    def __init__(self, *args, stem_conv_stride: int = 2, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if stem_conv_stride != 2:
            if self.deep_stem:
                raise ValueError('ParamFrozenResNet: stem_conv_stride applies '
                                 'to the plain stem (deep_stem=False)')
            self.conv1.stride = (stem_conv_stride, stem_conv_stride)

    def _freeze_stages(self) -> None:
        """Stop the gradients of the frozen stem and stages.

        Their modules are left in the train/eval mode of the whole model.
        """
        if self.frozen_stages < 0:
            return
        frozen = [self.stem] if self.deep_stem else [self.conv1, self.norm1]
        frozen += [
            getattr(self, f'layer{i}')
            for i in range(1, self.frozen_stages + 1)
        ]
        for module in frozen:
            for param in module.parameters():
                param.requires_grad = False
