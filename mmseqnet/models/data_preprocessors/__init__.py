from .unit_range_det_data_preprocessor import UnitRangeDetDataPreprocessor

__all__ = ['UnitRangeDetDataPreprocessor']
