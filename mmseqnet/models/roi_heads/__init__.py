from .bbox_heads import *  # noqa: F401,F403
from .embedding_heads import *  # noqa: F401,F403
from .gallery_filter_head import GalleryFilterHead
from .sequential_roi_head import SequentialRoIHead
from .shared_heads import *  # noqa: F401,F403

__all__ = ['GalleryFilterHead', 'SequentialRoIHead']
