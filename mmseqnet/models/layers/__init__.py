from .bn_neck_linear import BNNeckLinear

__all__ = ['BNNeckLinear']
