"""Context Bipartite Graph Matching (CBGM), SeqNet's test-time re-scoring.

Pure numpy/scipy: usable without mmengine.
"""
import itertools
from typing import Dict, NamedTuple, Optional, Sequence, Tuple

import numpy as np
from scipy.optimize import linear_sum_assignment

from .ranking import stable_topk

# Largest query side matched by enumeration (4**4 = 256 assignments per
# graph); larger ones (k2 > 4) go to scipy graph by graph.
MAX_ENUMERATED_NODES = 4
# Most detections of an image matched by enumeration: the columns a choice
# uses are the bits of one int64.
MAX_ENUMERATED_COLUMNS = 63
# Two matchings whose total weights differ by less than this fraction of the
# graph's largest |weight| count as tied; tied graphs go to scipy, so that its
# choice among equal matchings, and its rounding, decide them as before.
TIE_TOLERANCE = 1e-9
# Each protocol's CBGM setting: (k1 re-scored images, k2 query-side nodes).
# The functions here default to PRW's.
CBGM_DEFAULTS = {'cuhk_sysu': (10, 3), 'prw': (30, 4)}
DEFAULT_K1, DEFAULT_K2 = CBGM_DEFAULTS['prw']


class Matchings(NamedTuple):
    """Maximum-weight matchings of G bipartite graphs.

    Attributes:
        query_col (np.ndarray): (G,) int64 column matched to row 0 (the
            query), -1 where row 0 is unmatched.
        max_weight (np.ndarray): (G,) largest weight among the matched pairs,
            in the dtype of the weights.
    """
    query_col: np.ndarray
    max_weight: np.ndarray


def cbgm(sims: np.ndarray,
         image_ids: np.ndarray,
         gallery_feats: np.ndarray,
         context_feats: np.ndarray,
         k1: int = DEFAULT_K1,
         k2: int = DEFAULT_K2,
         image_weights: Optional[np.ndarray] = None) -> np.ndarray:
    """Re-score one query's gallery detections with its image context.

    1. The ``k1`` detections most similar to the query (ties: lower index
       first) select the gallery images to re-score.
    2. The query side is the first ``k2`` rows of ``context_feats``: the query
       box run through the gallery path (row 0) and its context persons.
    3. Per selected image, the complete bipartite graph query side x the
       image's detections is weighted by dot products and solved for the
       maximum-weight matching (Kuhn-Munkres in the original; here
       :func:`max_weight_matchings`, equal to
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
        image_weights (np.ndarray, optional): (M,) factor per gallery image
            that ``sims`` already carry (GFN scores); the re-scored values
            get their image's factor too, as ``eval_search_variants`` does.
            Defaults to None.

    Returns:
        np.ndarray: (N,) re-scored copy of ``sims``.
    """
    sims = np.asarray(sims)
    image_ids = np.asarray(image_ids).ravel()
    rescored = sims.copy()
    if len(np.asarray(context_feats).reshape(-1, gallery_feats.shape[1])) == 0:
        return rescored
    if image_ids.shape != sims.shape or len(gallery_feats) != len(sims):
        raise ValueError(
            'cbgm: sims, image_ids and gallery_feats must have one row per '
            f'detection, got {sims.shape}, {image_ids.shape} and '
            f'{gallery_feats.shape}')
    if np.any(image_ids[1:] < image_ids[:-1]):
        raise ValueError('cbgm: image_ids must be non-decreasing (detections '
                         'concatenated image by image)')
    _, rows, values = cbgm_updates(
        stable_topk(sims, k1).reshape(1, -1), image_ids, gallery_feats,
        [context_feats], k2)
    if image_weights is not None:
        values = values * np.asarray(image_weights)[image_ids[rows]]
    rescored[rows] = values
    return rescored


def cbgm_updates(selected: np.ndarray, image_ids: np.ndarray,
                 gallery_feats: np.ndarray,
                 context_feats: Sequence[np.ndarray],
                 k2: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The entries CBGM re-scores, for several queries at once.

    Steps 2-4 of :func:`cbgm` for each query, with the graphs of all queries
    that have the same query-side size solved together.

    Args:
        selected (np.ndarray): (Q, k1) per query the rows of its ``k1`` most
            similar gallery detections (step 1), -1 padded.
        image_ids (np.ndarray): (N,) non-decreasing image of each detection.
        gallery_feats (np.ndarray): (N, D) detection embeddings.
        context_feats (Sequence[np.ndarray]): Per query (C_q, D) query side,
            query box first.
        k2 (int): Query-side nodes, the query included.

    Returns:
        Tuple[np.ndarray, np.ndarray, np.ndarray]: For each re-scored entry
        the query (row of ``selected``), its detection row and its new
        similarity (dtype of the weights), ordered by query.
    """
    dim = gallery_feats.shape[1]
    contexts = [np.asarray(c).reshape(-1, dim)[:k2] for c in context_feats]
    selected = np.asarray(selected, dtype=np.int64).reshape(len(contexts), -1)
    if len(image_ids) == 0:
        selected = selected[:, :0]
    # Each query's selected images, once each and in increasing order: the
    # graphs, as (query, first row, number of rows).
    images = np.sort(
        np.where(selected >= 0, image_ids[np.maximum(selected, 0)], -1),
        axis=1)
    new_image = images >= 0
    new_image[:, 1:] &= images[:, 1:] != images[:, :-1]
    context_size = np.array([len(c) for c in contexts], dtype=np.int64)
    has_context = context_size > 0
    new_image &= has_context.reshape(-1, 1)
    graph_query, column = np.nonzero(new_image)
    graph_image = images[graph_query, column]
    graph_start = np.searchsorted(image_ids, graph_image, side='left')
    graph_size = np.searchsorted(
        image_ids, graph_image, side='right') - graph_start
    graph_rows = np.repeat(graph_start - np.cumsum(graph_size) + graph_size,
                           graph_size) + np.arange(graph_size.sum())
    row_bounds = np.concatenate([[0], np.cumsum(graph_size)])[np.searchsorted(
        graph_query, np.arange(len(contexts) + 1))]
    # One product per query for all its selected detections: the graphs are
    # its column blocks.
    by_size: Dict[int, list] = {}
    for q in np.flatnonzero(has_context):
        by_size.setdefault(context_size[q], []).append(
            contexts[q]
            @ gallery_feats[graph_rows[row_bounds[q]:row_bounds[q + 1]]].T)
    dtype = np.result_type(gallery_feats.dtype, *contexts)
    rescored = np.zeros(len(graph_query), dtype=bool)
    query_col = np.zeros(len(graph_query), dtype=np.int64)
    values = np.zeros(len(graph_query), dtype=dtype)
    for size, weights in by_size.items():
        graphs = np.flatnonzero(context_size[graph_query] == size)
        sizes = graph_size[graphs]
        matchings = max_weight_matchings(
            np.concatenate(weights, axis=1),
            np.cumsum(sizes) - sizes, sizes)
        rescored[graphs] = matchings.query_col >= 0
        query_col[graphs] = matchings.query_col
        values[graphs] = matchings.max_weight
    return (graph_query[rescored], graph_start[rescored] + query_col[rescored],
            values[rescored])


def max_weight_matchings(weights: np.ndarray, starts: np.ndarray,
                         sizes: np.ndarray) -> Matchings:
    """Maximum-weight matchings saturating the smaller side, many at once.

    Gives what ``scipy.optimize.linear_sum_assignment(w, maximize=True)``
    gives graph by graph, faster for small query sides: a graph with C <= n
    is solved by enumerating every row's choice among its C heaviest columns
    (a row matched elsewhere could move to a free one of them and gain), a
    graph with C > n by enumerating every assignment of its n columns;
    graphs of one size class are enumerated together. A graph whose best
    two candidates are within :data:`TIE_TOLERANCE` (equal matchings, whose
    choice is scipy's), one with C > :data:`MAX_ENUMERATED_NODES`, more
    than :data:`MAX_ENUMERATED_COLUMNS` columns or a non-finite weight is
    given to scipy itself.

    Args:
        weights (np.ndarray): (C, W) weights of all graphs side by side:
            query side (row 0: the query) x detections.
        starts (np.ndarray): (G,) first column of each graph.
        sizes (np.ndarray): (G,) columns of each graph, >= 1.

    Returns:
        Matchings: Row 0's column (within its graph) and the largest matched
        weight per graph.
    """
    c = weights.shape[0]
    starts = np.asarray(starts, dtype=np.int64)
    sizes = np.asarray(sizes, dtype=np.int64)
    query_col = np.full(len(sizes), -1, dtype=np.int64)
    max_weight = np.zeros(len(sizes), dtype=weights.dtype)
    bad_cols = np.concatenate([[0],
                               np.cumsum(~np.isfinite(weights).all(axis=0))])
    to_scipy = ((bad_cols[starts + sizes] > bad_cols[starts])
                | (c > MAX_ENUMERATED_NODES)
                | (sizes > MAX_ENUMERATED_COLUMNS))
    # Wide graphs (C <= n) in classes of n in [2^b, 2^(b+1)), padded to the
    # class's widest; tall ones (C > n) by exact n.
    size_class = np.where(sizes >= c,
                          np.log2(np.maximum(sizes, 1)) // 1,
                          -sizes).astype(np.int64)
    for size in np.unique(size_class[~to_scipy]):
        members = np.flatnonzero((size_class == size) & ~to_scipy)
        n = int(sizes[members].max())
        cols = np.arange(n)
        padding = cols >= sizes[members, None]
        block = weights[:,
                        np.minimum(starts[members, None] +
                                   cols, weights.shape[1] - 1)]
        block = np.where(padding[None], -np.inf,
                         block.astype(np.float64)).transpose(1, 0, 2)
        if size >= 0:
            assignment, tied = _enumerate_wide(block)
        else:
            assignment, tied = _enumerate_tall(block)
        pair_weights = np.take_along_axis(
            block, np.maximum(assignment, 0)[..., None], axis=2)[..., 0]
        pair_weights[assignment < 0] = -np.inf
        solved = members[~tied]
        query_col[solved] = assignment[~tied, 0]
        max_weight[solved] = pair_weights[~tied].max(axis=1)
        to_scipy[members[tied]] = True
    for g in np.flatnonzero(to_scipy):
        graph = weights[:, starts[g]:starts[g] + sizes[g]]
        left, right = linear_sum_assignment(graph, maximize=True)
        query_edge = np.flatnonzero(left == 0)
        if query_edge.size:
            query_col[g] = right[query_edge[0]]
        max_weight[g] = graph[left, right].max()
    return Matchings(query_col=query_col, max_weight=max_weight)


def _enumerate_wide(weights: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Best matchings of (G, C, n) finite graphs with C <= n real columns
    each.

    Padding columns are ``-inf`` and never chosen. Returns the column of
    every row, (G, C) int64, and which graphs are tied (G,) bool: a near tie
    between the best two complete assignments, or between a row's C-th and
    (C+1)-th heaviest columns (then the best matching might use a column
    outside the enumerated ones).
    """
    num_graphs, c, n = weights.shape
    order = np.argsort(-weights, axis=2, kind='stable')[..., :c + 1]
    sorted_w = np.take_along_axis(weights, order, axis=2)
    tol = TIE_TOLERANCE * np.abs(np.where(np.isfinite(weights), weights,
                                          0)).max(axis=(1, 2))
    assignment = order[..., 0].copy()
    tied = np.zeros(num_graphs, dtype=bool)
    # Rows whose heaviest columns differ, each heavier by a margin than the
    # row's next one: no other matching comes close.
    settled = np.ones(num_graphs, dtype=bool)
    if n > 1:
        settled &= (sorted_w[..., 0] - sorted_w[..., 1]
                    > tol[:, None]).all(axis=1)
    for a, b in itertools.combinations(range(c), 2):
        settled &= assignment[:, a] != assignment[:, b]
    rest = np.flatnonzero(~settled)
    if rest.size == 0:
        return assignment, tied
    top, top_w, tol = order[rest, :, :c], sorted_w[rest, :, :c], tol[rest]
    if n > c:
        tied[rest] = (sorted_w[rest, :, c - 1] - sorted_w[rest, :, c]
                      <= tol[:, None]).any(axis=1)
    # Every choice of one of its top-c columns per row, as the choices of
    # the first rows (a) x those of the last rows (b), so that the (G', A)
    # totals cost one addition each.
    cols_a, totals_a, used_a = _row_choices(top[:, :c // 2], top_w[:, :c // 2])
    cols_b, totals_b, used_b = _row_choices(top[:, c // 2:], top_w[:, c // 2:])
    totals = np.where(used_a[:, :, None] & used_b[:, None, :], -np.inf,
                      totals_a[:, :, None] + totals_b[:, None, :]).reshape(
                          rest.size, -1)
    rest_tied = tied[rest]
    best_a, best_b = np.divmod(_best(totals, tol, rest_tied), cols_b.shape[1])
    assignment[rest] = np.concatenate([
        cols_a[np.arange(rest.size), best_a], cols_b[np.arange(rest.size),
                                                     best_b]
    ],
                                      axis=1)
    tied[rest] = rest_tied
    return assignment, tied


def _row_choices(
        top: np.ndarray,
        top_w: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every choice of one candidate column per row for (G, r, k)
    candidates: (G, k^r, r) columns, (G, k^r) totals, ``-inf`` where two
    rows share a column, and (G, k^r) int64 the columns used, as bits."""
    num_rows, k = top.shape[1:]
    choices = np.array(
        list(itertools.product(range(k), repeat=num_rows)),
        dtype=np.int64).reshape(k**num_rows, num_rows)
    cols = top[:, np.arange(num_rows), choices]
    totals = top_w[:, np.arange(num_rows), choices].sum(axis=2)
    for a, b in itertools.combinations(range(num_rows), 2):
        totals[cols[..., a] == cols[..., b]] = -np.inf
    used = np.bitwise_or.reduce(np.left_shift(1, cols), axis=2)
    return cols, totals, used


def _enumerate_tall(weights: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Best matchings of (G, C, n) finite graphs with C > n: every column
    matched.

    Returns the column of every row, -1 for unmatched rows, (G, C) int64,
    and which graphs are tied (G,) bool.
    """
    num_graphs, c, n = weights.shape
    # every injective map of the n columns into the c rows: (A, n)
    perms = np.array(list(itertools.permutations(range(c), n)))
    totals = weights[:, perms, np.arange(n)].sum(axis=2)  # (G, A)
    tol = TIE_TOLERANCE * np.abs(weights).max(axis=(1, 2))
    tied = np.zeros(num_graphs, dtype=bool)
    best = perms[_best(totals, tol, tied)]  # (G, n) row of each column
    assignment = np.full((num_graphs, c), -1, dtype=np.int64)
    assignment[np.arange(num_graphs)[:, None], best] = np.arange(n)
    return assignment, tied


def _best(totals: np.ndarray, tol: np.ndarray, tied: np.ndarray) -> np.ndarray:
    """Index of each row's largest total; marks (in place) rows whose two
    largest totals are within ``tol``. Overwrites the largest totals."""
    best = totals.argmax(axis=1)
    if totals.shape[1] > 1:
        rows = np.arange(len(totals))
        largest = totals[rows, best]
        totals[rows, best] = -np.inf
        tied |= largest - totals.max(axis=1) <= tol
    return best
