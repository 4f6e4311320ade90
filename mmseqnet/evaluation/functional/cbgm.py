"""Context Bipartite Graph Matching (CBGM), SeqNet's test-time re-scoring.

Pure numpy/scipy: usable without mmengine.
"""
import numpy as np
from scipy.optimize import linear_sum_assignment

from .ranking import stable_topk


def cbgm(sims: np.ndarray,
         image_ids: np.ndarray,
         gallery_feats: np.ndarray,
         context_feats: np.ndarray,
         k1: int = 30,
         k2: int = 4) -> np.ndarray:
    """Re-score one query's gallery detections with its image context.

    1. The ``k1`` detections most similar to the query (ties: lower index
       first) select the gallery images to re-score.
    2. The query side is the first ``k2`` rows of ``context_feats``: the query
       box run through the gallery path (row 0) and its context persons.
    3. Per selected image, the complete bipartite graph query side x the
       image's detections is weighted by dot products and solved for the
       maximum-weight matching (Kuhn-Munkres; here
       ``scipy.optimize.linear_sum_assignment(maximize=True)``). As in the
       original, every node of the smaller side is matched, even through a
       negative edge.
    4. If the query (row 0) is matched to detection ``j``, ``sims[j]``
       becomes the LARGEST weight among all matched pairs (not necessarily
       the query's own edge). If it is unmatched (the image has fewer
       detections than the query side) nothing changes.

    Selection uses the similarities before any re-scoring. With an empty
    context (no query-image detections) the similarities are returned
    unchanged.

    Args:
        sims (np.ndarray): (N,) query-to-detection similarities; ``-inf``
            marks detections outside the query's gallery, never selected.
        image_ids (np.ndarray): (N,) image of each detection,
            non-decreasing (detections concatenated image by image).
        gallery_feats (np.ndarray): (N, D) detection embeddings that gave
            ``sims``.
        context_feats (np.ndarray): (C, D) query-side embeddings, query box
            first; C may be 0.
        k1 (int): Detections whose images are re-scored. Defaults to 30
            (PRW; CUHK-SYSU uses 10).
        k2 (int): Query-side nodes, the query included. Defaults to 4 (PRW;
            CUHK-SYSU uses 3).

    Returns:
        np.ndarray: (N,) re-scored copy of ``sims``.
    """
    sims = np.asarray(sims)
    image_ids = np.asarray(image_ids).ravel()
    context = np.asarray(context_feats).reshape(-1, gallery_feats.shape[1])
    context = context[:k2]
    rescored = sims.copy()
    if len(context) == 0:
        return rescored
    if image_ids.shape != sims.shape or len(gallery_feats) != len(sims):
        raise ValueError(
            'cbgm: sims, image_ids and gallery_feats must have one row per '
            f'detection, got {sims.shape}, {image_ids.shape} and '
            f'{gallery_feats.shape}')
    if np.any(image_ids[1:] < image_ids[:-1]):
        raise ValueError('cbgm: image_ids must be non-decreasing (detections '
                         'concatenated image by image)')
    images = np.unique(image_ids[stable_topk(sims, k1)])
    if images.size == 0:
        return rescored
    starts = np.searchsorted(image_ids, images, side='left')
    ends = np.searchsorted(image_ids, images, side='right')
    # One product for every selected detection; the graphs are its column
    # blocks.
    rows = np.concatenate([np.arange(s, e) for s, e in zip(starts, ends)])
    weights = context @ gallery_feats[rows].T
    offset = 0
    for start, end in zip(starts, ends):
        graph = weights[:, offset:offset + end - start]
        offset += end - start
        left, right = linear_sum_assignment(graph, maximize=True)
        query_edge = np.flatnonzero(left == 0)
        if query_edge.size:
            rescored[start + right[query_edge[0]]] = graph[left, right].max()
    return rescored
