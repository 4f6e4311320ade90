from .centred_pad import CentredPad
from .formatting import PERSON_SEARCH_META_KEYS, PackPersonSearchInputs
from .loading import LoadCheckedImageFromFile, LoadPersonSearchAnnotations
from .random_focused_crop import RandomFocusedCrop
from .random_sized_bbox_safe_crop import RandomSizedBBoxSafeCrop
from .wrappers import KeepPersonIdsAligned

__all__ = [
    'LoadCheckedImageFromFile', 'LoadPersonSearchAnnotations',
    'PackPersonSearchInputs', 'PERSON_SEARCH_META_KEYS',
    'KeepPersonIdsAligned', 'CentredPad', 'RandomFocusedCrop',
    'RandomSizedBBoxSafeCrop'
]
