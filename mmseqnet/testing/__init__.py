"""Helpers for mmseqnet's tests: reference material, the checkout, tiny
models and shared checks.

Not imported by ``import mmseqnet``; the skip helpers need pytest.
"""
from .metric_samples import MetricSamples, synthetic_prw_samples
from .reference import (REFERENCE_DIR_ENV, reference_dir, reference_path,
                        require_reference, skip_without_reference)
from .repository import REPO_ROOT, load_tool
from .synthetic_gallery import SyntheticGallery, synthetic_gallery
from .tiny_models import (TinyPersonSearchDetector, tiny_person_searcher,
                          tiny_seqnet_cfg, tiny_seqnext_cfg)

__all__ = [
    'REFERENCE_DIR_ENV', 'reference_dir', 'reference_path',
    'require_reference', 'skip_without_reference', 'MetricSamples',
    'synthetic_prw_samples', 'REPO_ROOT', 'load_tool',
    'TinyPersonSearchDetector', 'tiny_person_searcher', 'tiny_seqnet_cfg',
    'tiny_seqnext_cfg', 'SyntheticGallery',
    'synthetic_gallery'
]
