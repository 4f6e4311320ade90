"""Person search ranking: per-query AP and top-k, with optional CBGM.

The protocol (which images form each query's gallery, where the query person
is) comes in as a :class:`QueryGalleries` (see ``gallery.py`` for the
CUHK-SYSU and PRW builders); this module ranks and scores. Pure numpy/scipy:
usable without mmengine.
"""
from typing import Dict, Mapping, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from .bbox_iou import bbox_iou
from .cbgm import DEFAULT_K1, DEFAULT_K2, cbgm_updates

# Rows up to this wide are counted by comparing every entry (see
# _count_at_or_above).
NARROW_ROWS = 64


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


def positive_hits(det_bboxes: np.ndarray, image_starts: np.ndarray,
                  image_ends: np.ndarray, pos_image: np.ndarray,
                  pos_bboxes: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """The detections that may be true positives: IoU with the ground truth
    of their positive image reaching :func:`search_iou_thr`.

    They do not depend on the similarities, so one call serves every
    ranking of the same galleries.

    Args:
        det_bboxes (np.ndarray): (N, 4) xyxy detections.
        image_starts (np.ndarray): (M,) first detection row of each image.
        image_ends (np.ndarray): (M,) one past the last row of each image.
        pos_image (np.ndarray): (P,) positive images.
        pos_bboxes (np.ndarray): (P, 4) the query person's box in each.

    Returns:
        Tuple[np.ndarray, np.ndarray]: (H,) int64 positive (index into
        ``pos_image``) and (H,) int64 detection row of every hit, ordered by
        positive, then row.
    """
    # Queries of one identity share their positives: each distinct
    # (image, box) is matched once.
    pos_image = np.asarray(pos_image, dtype=np.int64).reshape(-1)
    pos_bboxes = np.asarray(pos_bboxes, dtype=np.float64).reshape(-1, 4)
    distinct, inverse = np.unique(
        np.column_stack([pos_image, pos_bboxes]), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    images = distinct[:, 0].astype(np.int64)
    starts = image_starts[images]
    lengths = image_ends[images] - starts
    group = np.repeat(np.arange(len(images)), lengths)
    first_of_group = np.repeat(np.cumsum(lengths) - lengths, lengths)
    rows = starts[group] + np.arange(group.size) - first_of_group
    gt = distinct[group, 1:]
    hit = bbox_iou(det_bboxes[rows], gt) >= search_iou_thr(gt)
    group, rows = group[hit], rows[hit]
    # back to the positives: each takes its (image, box)'s hits
    counts = np.bincount(group, minlength=len(images))[inverse]
    first = np.searchsorted(group, inverse)
    return (np.repeat(np.arange(len(inverse)), counts),
            rows[np.repeat(first - np.cumsum(counts) + counts, counts) +
                 np.arange(counts.sum())])


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
    group, rows = positive_hits(det_bboxes, image_starts, image_ends,
                                pos_image, pos_bboxes)
    return rows[_first_of_groups(group, rows, sims[rows])]


def eval_search(query_feats: np.ndarray,
                det_image_ids: np.ndarray,
                det_bboxes: np.ndarray,
                det_feats: np.ndarray,
                galleries: QueryGalleries,
                topk: Sequence[int] = (1, 5, 10),
                num_matches: int = 0,
                context_feats: Optional[Sequence[np.ndarray]] = None,
                k1: int = DEFAULT_K1,
                k2: int = DEFAULT_K2,
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

    :func:`eval_search_variants` computes several galleries, and the
    rankings with and without CBGM, from one set of matrix products.

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
            a few ``chunk_size * N`` arrays). Defaults to 128.

    Returns:
        SearchResult: Per-query AP, found, hits and top matches.
    """
    results = eval_search_variants(
        query_feats,
        det_image_ids,
        det_bboxes,
        det_feats, {'': galleries},
        topk=topk,
        num_matches=num_matches,
        context_feats=context_feats,
        k1=k1,
        k2=k2,
        chunk_size=chunk_size,
        plain=context_feats is None)
    return results['_cbgm' if context_feats is not None else '']


def eval_search_variants(query_feats: np.ndarray,
                         det_image_ids: np.ndarray,
                         det_bboxes: np.ndarray,
                         det_feats: np.ndarray,
                         variants: Mapping[str, QueryGalleries],
                         topk: Sequence[int] = (1, 5, 10),
                         num_matches: int = 0,
                         context_feats: Optional[Sequence[np.ndarray]] = None,
                         k1: int = DEFAULT_K1,
                         k2: int = DEFAULT_K2,
                         chunk_size: int = 128,
                         plain: bool = True,
                         image_weights: Optional[np.ndarray] = None
                         ) -> Dict[str, SearchResult]:
    """:func:`eval_search` for several galleries of the same queries and
    detections, with and without CBGM, sharing the work they have in common.

    Each chunk of queries is multiplied with the detections once, and its
    rows are sorted once, for all variants. A gallery that holds most
    detections (PRW) counts the entries at or above every true positive
    (the AP) in the sorted row less the few entries it leaves out, sorted
    apart; one that holds few (CUHK-SYSU) sorts its own entries. The counts
    give each gallery's k-th largest similarity, and the entries above it
    are ranked. CBGM changes at most one entry per re-scored image, so its
    counts and top-k come from the plain ones plus the changed entries.
    Every number equals what :func:`eval_search` on the variant alone would
    compute with the literal per-query loop.

    Args:
        query_feats (np.ndarray): (Q, D) query embeddings.
        det_image_ids (np.ndarray): (N,) non-decreasing image of each
            detection.
        det_bboxes (np.ndarray): (N, 4) xyxy detections.
        det_feats (np.ndarray): (N, D) detection embeddings.
        variants (Mapping[str, QueryGalleries]): Galleries by name (e.g.
            ``''`` standard, ``'_mv'`` multi-view), all over the same M
            images and Q queries.
        topk (Sequence[int]): Ranks for top-k accuracy. Defaults to
            (1, 5, 10).
        num_matches (int): Top matches to return per query. Defaults to 0.
        context_feats (Sequence[np.ndarray], optional): Per query (C_q, D)
            CBGM query side (query box first); None: no CBGM results.
            Defaults to None.
        k1 (int): CBGM images: those of the k1 most similar detections.
            Defaults to 30.
        k2 (int): CBGM query-side nodes. Defaults to 4.
        chunk_size (int): Queries per similarity matrix product (memory:
            a few ``chunk_size * N`` arrays per variant). Defaults to 128.
        plain (bool): Also return the rankings without CBGM. Defaults to
            True.
        image_weights (np.ndarray, optional): (Q, M) positive factor of
            every similarity of query q to a detection of image m (GFN's
            :func:`gfn_scores`), applied before ranking and CBGM: CBGM
            selects by the weighted similarities and its re-scored value is
            weighted too (its matching, within one image, is unchanged by a
            factor). Products in float32. None: unweighted.
            Defaults to None.

    Returns:
        Dict[str, SearchResult]: ``name`` (without CBGM, if ``plain``) and
        ``name + '_cbgm'`` (with ``context_feats``) for every variant.
    """
    query_feats = np.asarray(query_feats, dtype=np.float32)
    det_feats = np.asarray(det_feats, dtype=np.float32)
    det_image_ids = np.asarray(det_image_ids, dtype=np.int64).ravel()
    det_bboxes = np.asarray(det_bboxes).reshape(-1, 4)
    if not variants:
        return {}
    if not (np.isfinite(query_feats).all() and np.isfinite(det_feats).all()):
        raise ValueError('eval_search: query_feats and det_feats must be '
                         'finite (NaN or inf would drop out of the ranking)')
    for galleries in variants.values():
        _check_inputs(query_feats, det_image_ids, det_bboxes, det_feats,
                      galleries, context_feats)
    num_queries = len(query_feats)
    num_images = next(iter(variants.values())).masks.shape[1]
    if image_weights is not None:
        image_weights = np.asarray(image_weights, dtype=np.float32)
        valid = (image_weights.shape == (num_queries, num_images)
                 and bool(np.all(image_weights > 0))
                 and bool(np.isfinite(image_weights).all()))
        if not valid:
            raise ValueError(
                'eval_search: image_weights must be positive and finite, '
                f'(Q={num_queries}, M={num_images}), got shape '
                f'{image_weights.shape}')
    image_starts = np.searchsorted(det_image_ids, np.arange(num_images))
    image_ends = np.searchsorted(
        det_image_ids, np.arange(num_images), side='right')
    topk = tuple(int(k) for k in topk)
    num_ranked = max(max(topk, default=0), num_matches)
    cbgm_k1 = k1 if context_feats is not None else 0

    results: Dict[str, SearchResult] = {}
    hits = {}
    for name, galleries in variants.items():
        hit_pos, hit_rows = positive_hits(det_bboxes, image_starts, image_ends,
                                          galleries.pos_image,
                                          galleries.pos_bboxes)
        hits[name] = (hit_pos, galleries.pos_query[hit_pos], hit_rows)
        if plain:
            results[name] = _empty_result(galleries.count_gt, len(topk),
                                          num_matches)
        if context_feats is not None:
            results[name + '_cbgm'] = _empty_result(galleries.count_gt,
                                                    len(topk), num_matches)
    depth = num_ranked + cbgm_k1
    for chunk_start in range(0, num_queries, chunk_size):
        chunk = slice(chunk_start, min(chunk_start + chunk_size, num_queries))
        sims = query_feats[chunk] @ det_feats.T
        if image_weights is not None:
            weights = image_weights[chunk]
            sims *= weights[:, det_image_ids]
        sorted_sims = None  # sorted when a dense gallery needs it
        for name, galleries in variants.items():
            masks = galleries.masks[chunk]
            if _dense(masks, image_starts, image_ends):
                if sorted_sims is None:
                    sorted_sims = np.sort(sims, axis=1)
                ranking = _rank_dense(sims, sorted_sims, masks, det_image_ids,
                                      image_starts, image_ends, depth)
            else:
                ranking = _rank_sparse(sims, masks, image_starts, image_ends,
                                       depth)
            hit_pos, hit_query, hit_rows = hits[name]
            first, last = np.searchsorted(hit_query, [chunk.start, chunk.stop])
            chunk_hits = (hit_pos[first:last],
                          hit_query[first:last] - chunk.start,
                          hit_rows[first:last])
            if plain:
                _score_chunk(ranking, chunk_hits, topk, num_ranked,
                             results[name], chunk)
            if context_feats is not None:
                updates = cbgm_updates(ranking.top[:, :k1], det_image_ids,
                                       det_feats, context_feats[chunk], k2)
                if image_weights is not None:
                    query, rows, values = updates
                    updates = (query, rows,
                               values * weights[query, det_image_ids[rows]])
                _score_chunk(
                    _rescore_chunk(ranking, *updates, num_ranked), chunk_hits,
                    topk, num_ranked, results[name + '_cbgm'], chunk)
    return results


def _gallery_entries(masks: np.ndarray, image_starts: np.ndarray,
                     image_ends: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Query and detection row of every detection of the images ``masks``
    (q, M) selects, by query, then row."""
    query, image = np.nonzero(masks)
    sizes = image_ends[image] - image_starts[image]
    rows = np.repeat(image_starts[image] - np.cumsum(sizes) + sizes,
                     sizes) + np.arange(sizes.sum())
    return np.repeat(query, sizes), rows


def _dense(masks: np.ndarray, image_starts: np.ndarray,
           image_ends: np.ndarray) -> bool:
    """Whether the galleries hold more detections than they leave out."""
    in_gallery = masks.sum(axis=0) @ (image_ends - image_starts)
    return 2 * in_gallery >= masks.shape[0] * (
        image_ends[-1] if len(image_ends) else 0)


class _GalleryCounter(NamedTuple):
    """Counts a chunk's gallery entries at or above given similarities.

    Attributes:
        sorted_sims (np.ndarray): (q, L) per query, sorted ascending and
            ``-inf`` padded, its gallery's similarities and, if ``excluded``
            is not empty, also the others.
        excluded (np.ndarray): (q, E) the others, sorted ascending and
            ``-inf`` padded; E may be 0.
    """
    sorted_sims: np.ndarray
    excluded: np.ndarray

    def count(self, query: np.ndarray, values: np.ndarray) -> np.ndarray:
        """For every finite ``values[i]``, the gallery entries of
        ``query[i]`` (non-decreasing) at or above it."""
        return (_count_at_or_above(self.sorted_sims, query, values) -
                _count_at_or_above(self.excluded, query, values))


class _ChunkRanking(NamedTuple):
    """A chunk of similarity rows prepared for scoring.

    Attributes:
        sims (np.ndarray): (q, N) plain similarities to all detections.
        counter (_GalleryCounter): Counts the gallery entries at or above
            a similarity, without CBGM.
        top (np.ndarray): (q, K) rows of the K highest gallery similarities,
            highest first (ties: lower row first), -1 padded.
        top_sims (np.ndarray): (q, K) their similarities, NaN padded.
        changed_keys (np.ndarray): (U,) increasing ``query * N + row`` of the
            entries re-scored by CBGM (query in the chunk); empty without.
        changed_old (np.ndarray): (U,) their plain similarity.
        changed_new (np.ndarray): (U,) their similarity after CBGM.
    """
    sims: np.ndarray
    counter: _GalleryCounter
    top: np.ndarray
    top_sims: np.ndarray
    changed_keys: np.ndarray
    changed_old: np.ndarray
    changed_new: np.ndarray


def _rank_dense(sims: np.ndarray, sorted_sims: np.ndarray, masks: np.ndarray,
                det_image_ids: np.ndarray, image_starts: np.ndarray,
                image_ends: np.ndarray, depth: int) -> _ChunkRanking:
    """Rank galleries that hold most detections, from the sorted rows of
    all similarities less the few entries outside each gallery."""
    query, rows = _gallery_entries(~masks, image_starts, image_ends)
    counter = _GalleryCounter(
        sorted_sims, _sorted_rows(query, sims[query, rows], len(sims)))
    threshold = _kth_largest(counter, depth)
    query, rows = np.divmod(
        np.flatnonzero(sims >= threshold[:, None]), sims.shape[1])
    in_gallery = masks[query, det_image_ids[rows]]
    query, rows = query[in_gallery], rows[in_gallery]
    return _ranking(sims, counter, query, rows, depth)


def _rank_sparse(sims: np.ndarray, masks: np.ndarray, image_starts: np.ndarray,
                 image_ends: np.ndarray, depth: int) -> _ChunkRanking:
    """Rank galleries that hold few detections, from their entries only."""
    query, rows = _gallery_entries(masks, image_starts, image_ends)
    values = sims[query, rows]
    counter = _GalleryCounter(
        _sorted_rows(query, values, len(sims)), np.zeros((len(sims), 0)))
    keep = values >= _kth_largest(counter, depth)[query]
    return _ranking(sims, counter, query[keep], rows[keep], depth)


def _ranking(sims: np.ndarray, counter: _GalleryCounter, query: np.ndarray,
             rows: np.ndarray, depth: int) -> _ChunkRanking:
    """The ranking of the candidate entries ``(query, rows)``."""
    top, top_sims = _top_rows(query, rows, sims[query, rows], len(sims), depth)
    empty = np.zeros(0, dtype=sims.dtype)
    return _ChunkRanking(sims, counter, top, top_sims,
                         np.zeros(0, dtype=np.int64), empty, empty)


def _kth_largest(counter: _GalleryCounter, k: int) -> np.ndarray:
    """Per query the k-th largest gallery similarity, ``-inf`` where the
    gallery has fewer than k entries (ties: at least k are >= it).

    It is the (k + j)-th largest of ``counter.sorted_sims``' row, where j
    entries outside the gallery lie at or above it. Starting from j = 0,
    each step sets j to the excluded entries at or above the current
    candidate; j only grows, and stops at the answer (usually at once or
    in one more step).
    """
    num_queries, length = counter.sorted_sims.shape
    queries = np.arange(num_queries)
    num_excluded = (counter.excluded > -np.inf).sum(axis=1)
    j = np.zeros(num_queries, dtype=np.int64)
    while True:
        position = length - k - j
        inside = position >= 0
        value = np.full(num_queries, -np.inf, counter.sorted_sims.dtype)
        value[inside] = counter.sorted_sims[queries[inside], position[inside]]
        next_j = num_excluded.copy()
        next_j[inside] = _count_at_or_above(counter.excluded, queries[inside],
                                            value[inside])
        if np.array_equal(next_j, j):
            return value
        j = next_j


def _sorted_rows(query: np.ndarray, values: np.ndarray,
                 num_queries: int) -> np.ndarray:
    """(num_queries, L) each query's ``values`` sorted ascending, ``-inf``
    padded (below every similarity); ``query`` non-decreasing."""
    starts = np.searchsorted(query, np.arange(num_queries))
    width = int(np.bincount(query, minlength=1).max())
    rows = np.full((num_queries, width), -np.inf, dtype=values.dtype)
    rows[query, np.arange(query.size) - starts[query]] = values
    rows.sort(axis=1)
    return rows


def _rescore_chunk(plain: _ChunkRanking, query: np.ndarray, rows: np.ndarray,
                   values: np.ndarray, depth: int) -> _ChunkRanking:
    """``plain`` with the entries ``(query, rows)`` set to ``values``.

    Only the changed entries can enter the top ``depth`` from beyond
    ``plain``'s top ``depth + #changed``, so those rank the new rows.
    """
    num_queries, num_dets = plain.sims.shape
    keys = query * num_dets + rows
    order = np.argsort(keys)
    keys = keys[order]
    old = plain.sims[query[order], rows[order]]
    # the similarities are float32: so is every re-scored one
    rescored = plain._replace(
        changed_keys=keys,
        changed_old=old,
        changed_new=values[order].astype(plain.sims.dtype))
    top_query, top_rank = np.nonzero(plain.top >= 0)
    pool_query = np.concatenate([top_query, query])
    pool_rows = np.concatenate([plain.top[top_query, top_rank], rows])
    top, top_sims = _top_rows(pool_query, pool_rows,
                              _entry_sims(rescored, pool_query, pool_rows),
                              num_queries, depth)
    return rescored._replace(top=top, top_sims=top_sims)


def _entry_sims(ranking: _ChunkRanking, query: np.ndarray,
                rows: np.ndarray) -> np.ndarray:
    """Similarities of the entries ``(query, rows)``, CBGM's where it
    re-scored them."""
    values = ranking.sims[query, rows]
    if ranking.changed_keys.size:
        found, at = _find(ranking.changed_keys,
                          query * ranking.sims.shape[1] + rows)
        values[found] = ranking.changed_new[at[found]]
    return values


def _find(sorted_keys: np.ndarray,
          keys: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Which ``keys`` occur in ``sorted_keys`` (non-empty, increasing), and
    where."""
    at = np.minimum(np.searchsorted(sorted_keys, keys), sorted_keys.size - 1)
    return sorted_keys[at] == keys, at


def _top_rows(query: np.ndarray, rows: np.ndarray, values: np.ndarray,
              num_queries: int, depth: int) -> Tuple[np.ndarray, np.ndarray]:
    """(num_queries, depth) rows of each query's highest ``values``, highest
    first (ties: lower row first), -1 padded, and their values (NaN padded);
    repeated (query, row) pairs count once."""
    order = np.lexsort((rows, -values, query))
    query, rows, values = query[order], rows[order], values[order]
    distinct = np.ones(len(rows), dtype=bool)
    distinct[1:] = (rows[1:] != rows[:-1]) | (query[1:] != query[:-1])
    query, rows, values = query[distinct], rows[distinct], values[distinct]
    rank = np.arange(len(query)) - np.searchsorted(query, query)
    shown = rank < depth
    top = np.full((num_queries, depth), -1, dtype=np.int64)
    top[query[shown], rank[shown]] = rows[shown]
    top_values = np.full((num_queries, depth), np.nan, dtype=values.dtype)
    top_values[query[shown], rank[shown]] = values[shown]
    return top, top_values


def _first_of_groups(group: np.ndarray, rows: np.ndarray,
                     values: np.ndarray) -> np.ndarray:
    """Indices of each group's highest value (ties: lower row), in group
    order."""
    order = np.lexsort((rows, -values, group))
    first = np.ones(order.size, dtype=bool)
    first[1:] = group[order[1:]] != group[order[:-1]]
    return order[first]


def _empty_result(count_gt: np.ndarray, num_topk: int,
                  num_matches: int) -> SearchResult:
    """A SearchResult to fill chunk by chunk."""
    num_queries = len(count_gt)
    return SearchResult(
        ap=np.full(num_queries, np.nan),
        found=np.zeros(num_queries, dtype=np.int64),
        count_gt=np.asarray(count_gt, dtype=np.int64),
        hits=np.zeros((num_queries, num_topk), dtype=bool),
        match_inds=np.full((num_queries, num_matches), -1, dtype=np.int64),
        match_sims=np.full((num_queries, num_matches), np.nan, np.float32),
        match_correct=np.zeros((num_queries, num_matches), dtype=bool))


def _score_chunk(ranking: _ChunkRanking, chunk_hits: Tuple[np.ndarray, ...],
                 topk: Tuple[int, ...], num_ranked: int, result: SearchResult,
                 chunk: slice) -> None:
    """Write the chunk's AP, found, hits and matches into ``result``.

    ``chunk_hits``: positive, query (in the chunk) and row of the chunk's
    :func:`positive_hits`.
    """
    hit_pos, hit_query, hit_rows = chunk_hits
    num_queries, num_dets = ranking.sims.shape
    hit_sims = _entry_sims(ranking, hit_query, hit_rows)
    tp = _first_of_groups(hit_pos, hit_rows, hit_sims)
    # true positives by query, then similarity ascending
    tp = tp[np.lexsort((hit_sims[tp], hit_query[tp]))]
    tp_query, tp_rows, tp_sims = hit_query[tp], hit_rows[tp], hit_sims[tp]
    found = np.bincount(tp_query, minlength=num_queries)
    result.found[chunk] = found
    num_at_or_above = ranking.counter.count(tp_query, tp_sims)
    if ranking.changed_keys.size:
        changed_query = ranking.changed_keys // num_dets
        num_at_or_above += (
            _count_at_or_above(
                _sorted_rows(changed_query, ranking.changed_new, num_queries),
                tp_query, tp_sims) - _count_at_or_above(
                    _sorted_rows(changed_query, ranking.changed_old,
                                 num_queries), tp_query, tp_sims))
    # true positives of the same query at or above each (ties included)
    new_value = np.ones(tp.size, dtype=bool)
    new_value[1:] = ((tp_query[1:] != tp_query[:-1]) |
                     (tp_sims[1:] != tp_sims[:-1]))
    first_equal = np.maximum.accumulate(
        np.where(new_value, np.arange(tp.size), 0))
    pos_at_or_above = np.searchsorted(
        tp_query, tp_query, side='right') - first_equal
    ap = result.ap[chunk]
    count_gt = result.count_gt[chunk]
    ap[(count_gt > 0) & (found == 0)] = 0.0
    scored = np.flatnonzero(found)
    # the mean precision of each query's true positives, as
    # average_precision_from_counts takes it
    ap[scored] = _segment_means(
        pos_at_or_above / num_at_or_above,
        found[scored]) * found[scored] / count_gt[scored]
    ranked = ranking.top[:, :num_ranked]
    shown = ranked >= 0
    correct = np.zeros(ranked.shape, dtype=bool)
    if tp.size:
        tp_keys = np.sort(tp_query * num_dets + tp_rows)
        correct[shown] = _find(tp_keys,
                               (np.arange(num_queries)[:, None] * num_dets +
                                ranked)[shown])[0]
    for j, k in enumerate(topk):
        result.hits[chunk, j] = correct[:, :k].any(axis=1)
    num_matches = result.match_inds.shape[1]
    result.match_inds[chunk] = ranked[:, :num_matches]
    result.match_correct[chunk] = correct[:, :num_matches]
    result.match_sims[chunk] = ranking.top_sims[:, :num_matches]


def _segment_means(values: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """``np.mean`` of each of the consecutive segments of ``values`` with
    the given (positive) ``sizes``, bit for bit: segments of one size are
    averaged as the rows of one matrix."""
    starts = np.cumsum(sizes) - sizes
    means = np.zeros(len(sizes))
    for size in np.unique(sizes):
        segments = np.flatnonzero(sizes == size)
        means[segments] = values[starts[segments, None] +
                                 np.arange(size)].mean(axis=1)
    return means


def _count_at_or_above(sorted_rows: np.ndarray, query: np.ndarray,
                       values: np.ndarray) -> np.ndarray:
    """For every pair ``(query, values)`` (query non-decreasing), the
    entries of row ``query`` of ``sorted_rows`` (sorted ascending) at or
    above the value.

    Narrow rows are compared whole; wide ones get one ``np.searchsorted``
    per row (a binary search vectorised over all rows would gather from the
    whole matrix at every step, which costs more).
    """
    width = sorted_rows.shape[1]
    if width <= NARROW_ROWS:
        return (sorted_rows[query] >= values[:, None]).sum(axis=1)
    count = np.zeros(len(values), dtype=np.int64)
    bounds = np.searchsorted(query, np.arange(len(sorted_rows) + 1))
    for q in np.flatnonzero(bounds[1:] > bounds[:-1]):
        pairs = slice(bounds[q], bounds[q + 1])
        count[pairs] = width - np.searchsorted(sorted_rows[q], values[pairs])
    return count


def summarize_search(result: SearchResult,
                     topk: Sequence[int] = (1, 5, 10)) -> dict:
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
