"""Gallery Filter Network scores and the re-weighting of similarities."""
from typing import NamedTuple

import numpy as np

from .ranking import average_precision, stable_topk


def _unit(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (norm clamped at 1e-12, as torch)."""
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def gfn_scores(filters: np.ndarray,
               scenes: np.ndarray,
               chunk_size: int = 32) -> np.ndarray:
    """GFN scores of queries for gallery scenes.

    A query's filter (``GalleryFilterHead.query_filters``: rows ``anchor``,
    ``gate``, ``offset``) scores a scene ``s`` as ``sigmoid(cos(anchor,
    gate * s / |s| + offset))``, GFN's combined score
    ``sigmoid(cos(z(q, s_A), z(q, s)))`` with the fuser's BatchNorm folded
    into ``gate`` and ``offset``; the filters of GFN's other modes have
    gate 1 and offset 0 (``'separate'``: anchor ``q``, ``'image'``: anchor
    ``s_A``). Computed in float64.

    Args:
        filters (np.ndarray): Query filters (Q, 3, D).
        scenes (np.ndarray): Gallery scene embeddings (G, D).
        chunk_size (int): Queries per step (memory: chunk x G x D).
            Defaults to 32.

    Returns:
        np.ndarray: Scores (Q, G) in (0, 1).
    """
    filters = np.asarray(filters, dtype=np.float64)
    scenes = _unit(np.asarray(scenes, dtype=np.float64))
    if filters.ndim != 3 or filters.shape[1] != 3 or scenes.ndim != 2 or \
            filters.shape[2] != scenes.shape[1]:
        raise ValueError(f'gfn_scores: expected filters (Q, 3, D) and scenes '
                         f'(G, D), got {filters.shape} and {scenes.shape}')
    scores = np.empty((len(filters), len(scenes)))
    for start in range(0, len(filters), chunk_size):
        anchors, gates, offsets = np.moveaxis(
            filters[start:start + chunk_size], 1, 0)
        fused = _unit(gates[:, None] * scenes[None] + offsets[:, None])
        cos = np.einsum('qd,qgd->qg', _unit(anchors), fused)
        scores[start:start + chunk_size] = 1 / (1 + np.exp(-cos))
    return scores


def gfn_reweight(similarities: np.ndarray, image_inds: np.ndarray,
                 image_scores: np.ndarray) -> np.ndarray:
    """Multiply each detection's similarity by its image's GFN score.

    GFN re-weights whole gallery images (no threshold): only the ranking
    across images changes.

    Args:
        similarities (np.ndarray): One query's similarity to each gallery
            detection (N,).
        image_inds (np.ndarray): Gallery image of each detection (N,), an
            index into ``image_scores``.
        image_scores (np.ndarray): The query's GFN score of each gallery
            image (G,).

    Returns:
        np.ndarray: Re-weighted similarities (N,).
    """
    similarities = np.asarray(similarities)
    image_inds = np.asarray(image_inds, dtype=np.int64)
    if similarities.shape != image_inds.shape:
        raise ValueError(f'gfn_reweight: {similarities.shape[0]} '
                         f'similarities but {image_inds.shape[0]} image '
                         'indices')
    return similarities * np.asarray(image_scores)[image_inds]


class GFNRetrieval(NamedTuple):
    """Retrieval of gallery images by their GFN scores alone.

    Attributes:
        ap (np.ndarray): (Q,) average precision over each query's gallery
            images (NaN without a positive image).
        top1 (np.ndarray): (Q,) bool, the best-scored image holds the
            person (ties: the first image).
    """
    ap: np.ndarray
    top1: np.ndarray


def gfn_retrieval(image_scores: np.ndarray, positives: np.ndarray,
                  galleries: np.ndarray) -> GFNRetrieval:
    """Rank each query's gallery images by GFN score (GFN's "GFN-only"
    retrieval numbers): a positive image holds the query person.

    Args:
        image_scores (np.ndarray): (Q, M) GFN scores.
        positives (np.ndarray): (Q, M) bool, image holds the query person.
        galleries (np.ndarray): (Q, M) bool, image is in the query's
            gallery.

    Returns:
        GFNRetrieval: Per-query AP and top-1.
    """
    image_scores = np.asarray(image_scores, dtype=np.float64)
    positives = np.asarray(positives, dtype=bool)
    galleries = np.asarray(galleries, dtype=bool)
    if not image_scores.shape == positives.shape == galleries.shape:
        raise ValueError(f'gfn_retrieval: image_scores {image_scores.shape}, '
                         f'positives {positives.shape} and galleries '
                         f'{galleries.shape} must have one shape (Q, M)')
    ap = np.full(len(image_scores), np.nan)
    top1 = np.zeros(len(image_scores), dtype=bool)
    for q, (scores, pos,
            gallery) in enumerate(zip(image_scores, positives, galleries)):
        scores, pos = scores[gallery], pos[gallery]
        if len(scores) == 0:
            continue
        top1[q] = pos[stable_topk(scores, 1)[0]]
        if pos.any():
            ap[q] = average_precision(pos, scores)
    return GFNRetrieval(ap, top1)
