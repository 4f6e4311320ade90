"""Identity-structured gallery embeddings of any size, without a model.

As :func:`~mmseqnet.testing.synthetic_prw_samples` makes them (an identity's
random unit centre plus Gaussian noise, normalised), but only the embeddings,
written chunk by chunk so that tens of millions fit on disk without ever
being in memory at once. Used by ``tools/analysis_tools/benchmark_ann.py``
and the ANN index tests.
"""
import os
import os.path as osp
from typing import NamedTuple, Optional

import numpy as np


class SyntheticGallery(NamedTuple):
    """Gallery embeddings with their identities, and queries.

    Attributes:
        embeddings (np.ndarray): (N, D) float32 unit embeddings; a read-only
            memory map when written to a file.
        person_ids (np.ndarray): (N,) int64 identity of each detection, -1
            for distractors (persons seen once).
        queries (np.ndarray): (Q, D) float32 unit query embeddings, each a
            new detection of an identity of the gallery.
        query_ids (np.ndarray): (Q,) int64 identity of each query.
    """
    embeddings: np.ndarray
    person_ids: np.ndarray
    queries: np.ndarray
    query_ids: np.ndarray


def synthetic_gallery(num_dets: int,
                      dim: int = 256,
                      dets_per_id: float = 50.0,
                      distractor_ratio: float = 0.2,
                      noise: float = 1.0,
                      num_queries: int = 100,
                      path: Optional[str] = None,
                      chunk_size: int = 1 << 18,
                      seed: int = 0) -> SyntheticGallery:
    """Make an identity-structured gallery, in memory or into a ``.npy``.

    ``num_dets * (1 - distractor_ratio) / dets_per_id`` identities get
    random unit centres; each detection picks an identity uniformly (or is
    a distractor with probability ``distractor_ratio``: a random unit
    direction of its own) and is its direction plus Gaussian noise of norm
    about ``noise``, normalised. Two detections of one identity then have a
    cosine of about ``1 / (1 + noise**2)`` (0.5 at the default; a trained
    SeqNet's same-person similarities are of that order), unrelated ones
    about 0 with spread ``1 / sqrt(dim)``.

    Args:
        num_dets (int): Gallery detections N.
        dim (int): Embedding size D. Defaults to 256.
        dets_per_id (float): Mean detections per identity. Defaults to 50.
        distractor_ratio (float): Share of detections that are distractors.
            Defaults to 0.2.
        noise (float): Noise norm around the identity's centre.
            Defaults to 1.0.
        num_queries (int): Queries Q. Defaults to 100.
        path (str, optional): A ``.npy`` file for the embeddings: written
            chunk by chunk through a memory map, or, when it exists (from
            the same arguments: generation is deterministic), opened as it
            is. Defaults to None: in memory.
        chunk_size (int): Detections generated at once (bounds the memory
            in use). Defaults to 262144.
        seed (int): Random seed; equal arguments (``chunk_size``
            included) give equal galleries. Defaults to 0.

    Returns:
        SyntheticGallery: Embeddings, identities and queries.
    """
    centre_rng, det_rng, query_rng = (
        np.random.default_rng(s)
        for s in np.random.SeedSequence(seed).spawn(3))
    num_ids = max(1, round(num_dets * (1 - distractor_ratio) / dets_per_id))
    centres = _unit(
        centre_rng.standard_normal((num_ids, dim), dtype=np.float32))

    def detections(ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        base = np.where((ids >= 0)[:, None], centres[np.maximum(ids, 0)],
                        _unit(rng.standard_normal((len(ids), dim),
                                                  dtype=np.float32)))
        base += rng.standard_normal(
            base.shape, dtype=np.float32) * np.float32(noise / np.sqrt(dim))
        return _unit(base)

    person_ids = det_rng.integers(0, num_ids, num_dets)
    person_ids[det_rng.random(num_dets) < distractor_ratio] = -1
    query_ids = query_rng.integers(0, num_ids, num_queries)
    queries = detections(query_ids, query_rng)
    if path is not None and osp.isfile(path):
        embeddings = np.load(path, mmap_mode='r')
        if embeddings.shape != (num_dets, dim):
            raise ValueError(f'{path} holds {embeddings.shape} embeddings, '
                             f'not ({num_dets}, {dim}): remove it.')
        return SyntheticGallery(embeddings, person_ids, queries, query_ids)
    if path is None:
        embeddings = np.empty((num_dets, dim), np.float32)
    else:
        # Written under another name first: a killed run leaves no file
        # that a later one would take as complete.
        partial = path + '.part'
        embeddings = np.lib.format.open_memmap(
            partial, mode='w+', dtype=np.float32, shape=(num_dets, dim))
    for start in range(0, num_dets, chunk_size):
        stop = min(start + chunk_size, num_dets)
        embeddings[start:stop] = detections(person_ids[start:stop], det_rng)
    if path is not None:
        embeddings.flush()
        del embeddings
        os.replace(partial, path)
        embeddings = np.load(path, mmap_mode='r')
    return SyntheticGallery(embeddings, person_ids, queries, query_ids)


def _unit(x: np.ndarray) -> np.ndarray:
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x
