from .pooled_res_layer import PooledResLayer

__all__ = ['PooledResLayer']
