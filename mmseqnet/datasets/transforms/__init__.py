from .formatting import PERSON_SEARCH_META_KEYS, PackPersonSearchInputs
from .loading import LoadPersonSearchAnnotations
from .wrappers import KeepPersonIdsAligned

__all__ = [
    'LoadPersonSearchAnnotations', 'PackPersonSearchInputs',
    'PERSON_SEARCH_META_KEYS', 'KeepPersonIdsAligned'
]
