from .person_searcher import (Gallery, PersonSearcher, SearchMatch,
                              draw_search_result, list_sources)

__all__ = [
    'Gallery', 'PersonSearcher', 'SearchMatch', 'draw_search_result',
    'list_sources'
]
