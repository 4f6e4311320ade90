"""Gallery Filter Network scores and the re-weighting of similarities."""
import numpy as np


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
    into ``gate`` and ``offset``. Computed in float64.

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
