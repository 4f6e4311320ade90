from .param_frozen_resnet import ParamFrozenResNet
from .partial_convnext import PartialConvNeXt

__all__ = ['ParamFrozenResNet', 'PartialConvNeXt']
