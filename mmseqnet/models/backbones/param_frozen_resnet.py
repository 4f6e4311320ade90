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
    Every argument is mmdet's ``ResNet``'s (``frozen_stages=-1`` freezes
    nothing, ``0`` the stem, ``k`` the stem and ``layer1..k``).
    """

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
