"""Person-search evaluation on plain numpy arrays (no mmengine needed)."""
from .bbox_iou import bbox_iou
from .cbgm import cbgm
from .detection import DetectionResult, eval_detection
from .gallery import cuhk_sysu_galleries, prw_galleries
from .gfn import gfn_reweight, gfn_scores
from .ranking import (average_precision, average_precision_of_positives,
                      stable_topk)
from .search import (QueryGalleries, SearchResult, eval_search, first_matches,
                     search_iou_thr, summarize_search)

__all__ = [
    'bbox_iou', 'cbgm', 'DetectionResult', 'eval_detection',
    'cuhk_sysu_galleries', 'prw_galleries', 'gfn_reweight', 'gfn_scores',
    'average_precision', 'average_precision_of_positives', 'stable_topk',
    'QueryGalleries', 'SearchResult', 'eval_search', 'first_matches', 'search_iou_thr',
    'summarize_search'
]
