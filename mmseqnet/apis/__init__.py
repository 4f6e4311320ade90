from .ann_index import GalleryIndex
from .gallery import (FRAME_SEPARATOR, IMAGE_EXTENSIONS, VIDEO_EXTENSIONS,
                      Gallery, list_sources, read_source)
from .inference_pipeline import build_inference_pipeline
from .person_searcher import (PersonSearcher, Ranking, SearchMatch,
                              draw_search_result)
from .sharded_gallery import ShardedGallery
from .tracks import TrackSpan, link_tracks, rank_tracks, split_video_source

__all__ = [
    'build_inference_pipeline', 'FRAME_SEPARATOR', 'IMAGE_EXTENSIONS',
    'VIDEO_EXTENSIONS', 'Gallery', 'GalleryIndex', 'PersonSearcher',
    'Ranking', 'SearchMatch', 'draw_search_result', 'list_sources',
    'read_source', 'ShardedGallery', 'TrackSpan', 'link_tracks',
    'rank_tracks', 'split_video_source'
]
