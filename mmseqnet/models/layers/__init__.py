from .bn_neck_linear import BNNeckLinear
from .query_scene_fuser import QuerySceneFuser
from .scene_memory import SceneMemory
from .sparse_matmul_roi_align import SparseMatmulRoIAlign

__all__ = [
    'BNNeckLinear', 'QuerySceneFuser', 'SceneMemory',
    'SparseMatmulRoIAlign'
]
