from .formatting import PERSON_SEARCH_META_KEYS, PackPersonSearchInputs
from .loading import LoadCheckedImageFromFile, LoadPersonSearchAnnotations
from .wrappers import KeepPersonIdsAligned

__all__ = [
    'LoadCheckedImageFromFile', 'LoadPersonSearchAnnotations',
    'PackPersonSearchInputs', 'PERSON_SEARCH_META_KEYS',
    'KeepPersonIdsAligned'
]
