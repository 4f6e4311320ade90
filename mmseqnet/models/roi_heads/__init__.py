from .embedding_heads import *  # noqa: F401,F403
from .sequential_roi_head import SequentialRoIHead
from .shared_heads import *  # noqa: F401,F403

__all__ = ['SequentialRoIHead']
