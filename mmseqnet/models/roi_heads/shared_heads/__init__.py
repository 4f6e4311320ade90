from .pooled_convnext_stage import PooledConvNeXtStage
from .pooled_res_layer import PooledResLayer

__all__ = ['PooledConvNeXtStage', 'PooledResLayer']
