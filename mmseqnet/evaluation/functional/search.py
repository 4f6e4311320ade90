"""Person search ranking: per-query AP and top-k, with optional CBGM.

The protocol (which images form each query's gallery, where the query person
is) comes in as a :class:`QueryGalleries` (see ``gallery.py`` for the
CUHK-SYSU and PRW builders); this module ranks and scores. Pure numpy/scipy:
usable without mmengine.
"""
from typing import NamedTuple, Optional, Sequence, Tuple

import numpy as np

from .bbox_iou import bbox_iou
from .cbgm import cbgm
from .ranking import average_precision_of_positives, stable_topk


class QueryGalleries(NamedTuple):
    """Each query's gallery and ground truth, over M gallery images.

    Attributes:
        masks (np.ndarray): (Q, M) bool, images in each query's gallery.
        count_gt (np.ndarray): (Q,) int, ground-truth occurrences to find
            (the AP's recall denominator; may exceed the positives, e.g.
            duplicated CUHK-SYSU list entries).
        pos_query (np.ndarray): (P,) int, non-decreasing query of each
            positive image.
        pos_image (np.ndarray): (P,) int, the image (in the query's gallery,
            at most once per query).
        pos_bboxes (np.ndarray): (P, 4) xyxy ground-truth box of the query
            person in that image.
    """
    masks: np.ndarray
    count_gt: np.ndarray
    pos_query: np.ndarray
    pos_image: np.ndarray
    pos_bboxes: np.ndarray


class SearchResult(NamedTuple):
    """Per-query search outcome.

    Attributes:
        ap (np.ndarray): (Q,) AP x recall; NaN for queries with
            ``count_gt == 0``.
        found (np.ndarray): (Q,) int, true positives found.
        count_gt (np.ndarray): (Q,) int, copied from the galleries.
        hits (np.ndarray): (Q, len(topk)) bool, a true positive within the
            top k.
        match_inds (np.ndarray): (Q, num_matches) int, the most similar
            gallery detections (rows of the detection arrays), -1 padded.
        match_sims (np.ndarray): (Q, num_matches) float32 similarities
            (after CBGM when applied), NaN padded.
        match_correct (np.ndarray): (Q, num_matches) bool, true positives.
    """
    ap: np.ndarray
    found: np.ndarray
    count_gt: np.ndarray
    hits: np.ndarray
    match_inds: np.ndarray
    match_sims: np.ndarray
    match_correct: np.ndarray


def search_iou_thr(gt_bboxes: np.ndarray) -> np.ndarray:
    """IoU a detection needs to hit a ground-truth box in person search.

    ``min(0.5, w * h / ((w + 10) * (h + 10)))``: small persons get a looser
    threshold because a few pixels of error cost them more IoU.

    Args:
        gt_bboxes (np.ndarray): (..., 4) xyxy ground-truth boxes.

    Returns:
        np.ndarray: (...) float64 thresholds.
    """
    gt = np.asarray(gt_bboxes, dtype=np.float64)
    w = gt[..., 2] - gt[..., 0]
    h = gt[..., 3] - gt[..., 1]
    return np.minimum(0.5, w * h / ((w + 10) * (h + 10)))


def first_matches(sims: np.ndarray, det_bboxes: np.ndarray,
                  image_starts: np.ndarray, image_ends: np.ndarray,
                  pos_image: np.ndarray, pos_bboxes: np.ndarray) -> np.ndarray:
    """The true positives of one query: one per positive image at most.

    In each positive image the detections are taken by decreasing
    similarity (ties: lower row first) and the FIRST whose IoU with the
    ground truth reaches :func:`search_iou_thr` is the only true positive.

    Args:
        sims (np.ndarray): (N,) similarities of all detections.
        det_bboxes (np.ndarray): (N, 4) xyxy detections.
        image_starts (np.ndarray): (M,) first detection row of each image.
        image_ends (np.ndarray): (M,) one past the last row of each image.
        pos_image (np.ndarray): (P,) positive images.
        pos_bboxes (np.ndarray): (P, 4) the query person's box in each.

    Returns:
        np.ndarray: (T,) int64 detection rows of the true positives,
        T <= P.
    """
    starts = image_starts[pos_image]
    lengths = image_ends[pos_image] - starts
    group = np.repeat(np.arange(len(pos_image)), lengths)
    first_of_group = np.repeat(np.cumsum(lengths) - lengths, lengths)
    rows = starts[group] + np.arange(group.size) - first_of_group
    gt = np.asarray(pos_bboxes).reshape(-1, 4)[group]
    hit = bbox_iou(det_bboxes[rows], gt) >= search_iou_thr(gt)
    rows, group = rows[hit], group[hit]
    order = np.lexsort((rows, -sims[rows], group))
    group = group[order]
    first = np.ones(group.size, dtype=bool)
    first[1:] = group[1:] != group[:-1]
    return rows[order][first]


def eval_search(query_feats: np.ndarray,
                det_image_ids: np.ndarray,
                det_bboxes: np.ndarray,
                det_feats: np.ndarray,
                galleries: QueryGalleries,
                topk: Sequence[int] = (1, 5, 10),
                num_matches: int = 0,
                context_feats: Optional[Sequence[np.ndarray]] = None,
                k1: int = 30,
                k2: int = 4,
                chunk_size: int = 128) -> SearchResult:
    """Rank every query's gallery detections and score the ranking.

    Per query: similarity = dot product of the query feature with every
    detection of its gallery images (computed as float32 matrix products
    over chunks of queries x all detections), optionally re-scored by
    :func:`cbgm`; true positives by :func:`first_matches`;
    ``AP = average_precision(tp flags, sims) * found / count_gt`` (0 when
    nothing is found, NaN when ``count_gt == 0``: such a query has nothing
    to find and the caller must leave it out of the means); top-k = a true
    positive among the k most similar detections of all gallery images
    ranked together (ties: lower row first). Galleries with fewer than k
    detections, or images without detections, need no special care.

    Args:
        query_feats (np.ndarray): (Q, D) query embeddings.
        det_image_ids (np.ndarray): (N,) non-decreasing image of each
            detection.
        det_bboxes (np.ndarray): (N, 4) xyxy detections.
        det_feats (np.ndarray): (N, D) detection embeddings.
        galleries (QueryGalleries): The protocol, over
            ``M = galleries.masks.shape[1]`` images.
        topk (Sequence[int]): Ranks for top-k accuracy. Defaults to
            (1, 5, 10).
        num_matches (int): Top matches to return per query. Defaults to 0.
        context_feats (Sequence[np.ndarray], optional): Per query (C_q, D)
            CBGM query side (query box first); None disables CBGM.
            Defaults to None.
        k1 (int): CBGM images: those of the k1 most similar detections.
            Defaults to 30.
        k2 (int): CBGM query-side nodes. Defaults to 4.
        chunk_size (int): Queries per similarity matrix product (memory:
            ``chunk_size * N`` float32). Defaults to 128.

    Returns:
        SearchResult: Per-query AP, found, hits and top matches.
    """
    query_feats = np.asarray(query_feats, dtype=np.float32)
    det_feats = np.asarray(det_feats, dtype=np.float32)
    det_image_ids = np.asarray(det_image_ids, dtype=np.int64).ravel()
    det_bboxes = np.asarray(det_bboxes).reshape(-1, 4)
    num_queries, num_images = galleries.masks.shape
    _check_inputs(query_feats, det_image_ids, det_bboxes, det_feats, galleries,
                  context_feats)
    image_starts = np.searchsorted(det_image_ids, np.arange(num_images))
    image_ends = np.searchsorted(
        det_image_ids, np.arange(num_images), side='right')
    pos_offsets = np.searchsorted(galleries.pos_query,
                                  np.arange(num_queries + 1))
    topk = tuple(int(k) for k in topk)
    num_ranked = max(max(topk, default=0), num_matches)

    ap = np.full(num_queries, np.nan)
    found = np.zeros(num_queries, dtype=np.int64)
    hits = np.zeros((num_queries, len(topk)), dtype=bool)
    match_inds = np.full((num_queries, num_matches), -1, dtype=np.int64)
    match_sims = np.full((num_queries, num_matches), np.nan, np.float32)
    match_correct = np.zeros((num_queries, num_matches), dtype=bool)
    for chunk_start in range(0, num_queries, chunk_size):
        chunk = slice(chunk_start, min(chunk_start + chunk_size, num_queries))
        chunk_sims = query_feats[chunk] @ det_feats.T
        # -inf keeps every query's row aligned with the detection arrays
        # while ranking it below anything in its gallery.
        chunk_sims[~galleries.masks[chunk][:, det_image_ids]] = -np.inf
        for q, sims in zip(range(chunk.start, chunk.stop), chunk_sims):
            if context_feats is not None:
                sims = cbgm(sims, det_image_ids, det_feats, context_feats[q],
                            k1, k2)
            pos = slice(pos_offsets[q], pos_offsets[q + 1])
            tp_rows = first_matches(sims, det_bboxes, image_starts, image_ends,
                                    galleries.pos_image[pos],
                                    galleries.pos_bboxes[pos])
            found[q] = tp_rows.size
            count_gt = galleries.count_gt[q]
            if count_gt > 0:
                ap[q] = average_precision_of_positives(
                    sims[tp_rows], sims) * tp_rows.size / count_gt
            ranked = stable_topk(sims, num_ranked)
            correct = np.isin(ranked, tp_rows)
            hits[q] = [correct[:k].any() for k in topk]
            shown = min(num_matches, ranked.size)
            match_inds[q, :shown] = ranked[:shown]
            match_sims[q, :shown] = sims[ranked[:shown]]
            match_correct[q, :shown] = correct[:shown]
    return SearchResult(
        ap=ap,
        found=found,
        count_gt=np.asarray(galleries.count_gt, dtype=np.int64),
        hits=hits,
        match_inds=match_inds,
        match_sims=match_sims,
        match_correct=match_correct)


def summarize_search(
    result: SearchResult, topk: Sequence[int] = (1, 5, 10)) -> dict:
    """Means over the queries that have ground truth to find.

    Args:
        result (SearchResult): Output of :func:`eval_search`.
        topk (Sequence[int]): The ranks ``result.hits`` was computed for.
            Defaults to (1, 5, 10).

    Returns:
        dict: ``mAP``, ``top{k}`` (fractions; 0.0 when no query has ground
        truth), ``num_queries`` and ``num_queries_without_gt`` (queries left
        out of the means because ``count_gt == 0``).
    """
    valid = result.count_gt > 0
    summary = {
        'mAP': float(result.ap[valid].mean()) if valid.any() else 0.0,
    }
    for j, k in enumerate(topk):
        summary[f'top{k}'] = (
            float(result.hits[valid, j].mean()) if valid.any() else 0.0)
    summary['num_queries'] = int(valid.size)
    summary['num_queries_without_gt'] = int((~valid).sum())
    return summary


def _check_inputs(query_feats: np.ndarray, det_image_ids: np.ndarray,
                  det_bboxes: np.ndarray, det_feats: np.ndarray,
                  galleries: QueryGalleries,
                  context_feats: Optional[Sequence[np.ndarray]]) -> None:
    """Raise a ValueError naming the first inconsistent input."""
    num_queries, num_images = galleries.masks.shape
    num_dets = len(det_image_ids)
    checks: Tuple[Tuple[bool, str], ...] = (
        (query_feats.ndim == 2 and len(query_feats) == num_queries,
         f'query_feats must be (Q={num_queries}, D), got '
         f'{query_feats.shape}'),
        (det_feats.ndim == 2 and det_feats.shape[0] == num_dets
         and det_feats.shape[1] == query_feats.shape[-1],
         f'det_feats must be (N={num_dets}, D={query_feats.shape[-1]}), '
         f'got {det_feats.shape}'),
        (len(det_bboxes) == num_dets,
         f'det_bboxes must be (N={num_dets}, 4), got {det_bboxes.shape}'),
        (not np.any(det_image_ids[1:] < det_image_ids[:-1]),
         'det_image_ids must be non-decreasing (detections concatenated '
         'image by image)'),
        (num_dets == 0
         or 0 <= det_image_ids.min() <= det_image_ids.max() < num_images,
         f'det_image_ids must lie in [0, M={num_images})'),
        (len(galleries.count_gt) == num_queries,
         f'galleries.count_gt must have Q={num_queries} entries'),
        (not np.any(galleries.pos_query[1:] < galleries.pos_query[:-1]),
         'galleries.pos_query must be non-decreasing'),
        (bool(galleries.masks[galleries.pos_query, galleries.pos_image].all()),
         'every positive image must be in its query\'s gallery'),
        (context_feats is None or len(context_feats) == num_queries,
         f'context_feats must have one entry per query (Q={num_queries})'),
    )
    for ok, message in checks:
        if not ok:
            raise ValueError(f'eval_search: {message}')
