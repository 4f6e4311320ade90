from .base_person_search import (UNLABELED_PERSON_ID, BasePersonSearchDataset,
                                 PersonSearchImage, PersonSearchQuery)
from .cuhk_sysu import CUHKSYSUDataset, read_cuhk_sysu_protocol
from .mat_io import MatFormatError
from .prw import PRWDataset
from .transforms import (KeepPersonIdsAligned, LoadPersonSearchAnnotations,
                         PackPersonSearchInputs)

__all__ = [
    'UNLABELED_PERSON_ID', 'BasePersonSearchDataset', 'PersonSearchImage',
    'PersonSearchQuery', 'CUHKSYSUDataset', 'read_cuhk_sysu_protocol',
    'MatFormatError', 'PRWDataset', 'KeepPersonIdsAligned',
    'LoadPersonSearchAnnotations', 'PackPersonSearchInputs'
]
