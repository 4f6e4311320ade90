from .bn_neck_linear import BNNeckLinear
from .sparse_matmul_roi_align import SparseMatmulRoIAlign

__all__ = ['BNNeckLinear', 'SparseMatmulRoIAlign']
