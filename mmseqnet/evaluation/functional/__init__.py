"""Person-search evaluation on plain numpy arrays (no mmengine needed)."""
from .bbox_iou import bbox_iou
from .cbgm import (CBGM_DEFAULTS, Matchings, cbgm, cbgm_updates,
                   max_weight_matchings)
from .detection import DetectionResult, eval_detection
from .gallery import cuhk_sysu_galleries, prw_galleries
from .gfn import GFNRetrieval, gfn_retrieval, gfn_reweight, gfn_scores
from .ranking import (average_precision, average_precision_from_counts,
                      average_precision_of_positives, stable_topk)
from .search import (QueryGalleries, SearchResult, eval_search,
                     eval_search_variants, first_matches, positive_hits,
                     search_iou_thr, summarize_search)

__all__ = [
    'bbox_iou', 'CBGM_DEFAULTS', 'cbgm', 'cbgm_updates',
    'max_weight_matchings', 'Matchings', 'DetectionResult', 'eval_detection',
    'cuhk_sysu_galleries', 'prw_galleries', 'GFNRetrieval', 'gfn_retrieval',
    'gfn_reweight', 'gfn_scores', 'average_precision',
    'average_precision_from_counts', 'average_precision_of_positives',
    'stable_topk', 'QueryGalleries', 'SearchResult', 'eval_search',
    'eval_search_variants', 'first_matches', 'positive_hits', 'search_iou_thr',
    'summarize_search'
]
