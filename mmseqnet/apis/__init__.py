from .inference_pipeline import build_inference_pipeline
from .person_searcher import (FRAME_SEPARATOR, IMAGE_EXTENSIONS,
                              VIDEO_EXTENSIONS, Gallery, PersonSearcher,
                              Ranking, SearchMatch, draw_search_result,
                              list_sources, read_source)

__all__ = [
    'build_inference_pipeline', 'FRAME_SEPARATOR', 'IMAGE_EXTENSIONS',
    'VIDEO_EXTENSIONS', 'Gallery', 'PersonSearcher', 'Ranking', 'SearchMatch',
    'draw_search_result', 'list_sources', 'read_source'
]
