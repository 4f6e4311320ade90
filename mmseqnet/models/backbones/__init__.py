from .param_frozen_resnet import ParamFrozenResNet

__all__ = ['ParamFrozenResNet']
