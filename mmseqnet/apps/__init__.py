"""Applications on the person-search API. Each imports its optional
dependencies when it is built, so importing this package needs none."""
from .search_page import (build_search_page, match_record,
                          source_camera_and_time)

__all__ = ['build_search_page', 'match_record', 'source_camera_and_time']
