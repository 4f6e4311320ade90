"""A nearest-neighbour index over a gallery's embeddings, from faiss.

Needs the ``search`` extra (``pip install mmseqnet[search]``); faiss is
imported only when an index is built or loaded.
"""
import json
import os
import os.path as osp
from typing import Optional, Tuple

import numpy as np
import torch

INSTALL_HINT = ('GalleryIndex needs faiss: pip install mmseqnet[search] '
                '(or faiss-cpu / faiss-gpu).')


def _faiss():
    try:
        import faiss
    except ImportError as error:
        raise ImportError(INSTALL_HINT) from error
    return faiss


class GalleryIndex:
    """Inner-product search over (N, D) unit embeddings, exact or
    approximate by size.

    Galleries of fewer than ``exact_below`` detections get an exact
    ``IndexFlatIP``. Larger ones get an inverted file of ``nlist`` lists
    whose vectors are product-quantised to ``pq_m`` 4-bit codes scanned
    with SIMD (``IVF{nlist},PQ{pq_m}x4fs``: ``pq_m / 2`` bytes per
    detection instead of ``4 * D``), searched in the ``nprobe`` lists
    nearest to the query. Its scores are approximate, so callers re-score
    its best candidates with the embeddings (:meth:`search` does it when
    given them, :meth:`PersonSearcher.rank` always).

    The defaults were measured with ``tools/analysis_tools/benchmark_ann.py``
    on identity-structured synthetic galleries of 1M and 10M 256-d
    detections: the best 10 of 1000 re-scored candidates have a recall@10
    of 0.994 (1M) and 0.978 (10M) against exact search (0.983 and 0.954
    with ``nprobe=384``), for 4 and 60 ms per query on one core against
    0.4 and 3.6 s by brute force. Such isotropic embeddings are a hard case
    for inverted lists (an identity's detections scatter over many lists),
    hence half the lists probed; lower ``nprobe`` for embeddings that
    cluster more.

    The index is built from any (N, D) array, a memory map included, in
    chunks: it trains on ``train_size`` rows spread over the gallery and
    adds ``chunk_size`` rows at a time, so the memory in use is the index
    and one chunk, never the whole gallery.

    Args:
        exact_below (int): Galleries smaller than this are searched
            exactly (measured 0.1 to 0.25 us per detection and query on one
            core: 10 to 25 ms at 100k). Defaults to 100000.
        nlist (int): Inverted lists of the approximate index (at most one
            per 64 training rows). Defaults to 1024.
        pq_m (int): 4-bit sub-quantisers per detection (divides D).
            Defaults to 64.
        nprobe (int): Lists searched per query (settable later).
            Defaults to 512.
        train_size (int): Rows to train on (evenly spaced over the
            gallery). Defaults to 131072.
        chunk_size (int): Rows added at a time. Defaults to 262144.
        threads (int, optional): faiss threads. Defaults to None: torch's
            (``torch.get_num_threads()``, what ``--threads`` tools set).
    """

    def __init__(self,
                 exact_below: int = 100000,
                 nlist: int = 1024,
                 pq_m: int = 64,
                 nprobe: int = 512,
                 train_size: int = 131072,
                 chunk_size: int = 262144,
                 threads: Optional[int] = None) -> None:
        self.exact_below = exact_below
        self.nlist = nlist
        self.pq_m = pq_m
        self._nprobe = nprobe
        self.train_size = train_size
        self.chunk_size = chunk_size
        self.threads = threads
        self.index = None
        self._kind = None

    def __len__(self) -> int:
        return 0 if self.index is None else self.index.ntotal

    @property
    def nprobe(self) -> int:
        """int: Lists searched per query (settable at any time)."""
        return self._nprobe

    @nprobe.setter
    def nprobe(self, value: int) -> None:
        self._nprobe = value
        self._apply_nprobe()

    @property
    def exact(self) -> bool:
        """bool: Whether the built index searches exactly."""
        return self.index is not None and self.kind == 'Flat'

    @property
    def kind(self) -> Optional[str]:
        """str: The faiss factory string of the built index, None before
        :meth:`build`."""
        return self._kind

    def settings(self) -> dict:
        """dict: The constructor arguments (what :meth:`save` records)."""
        return dict(
            exact_below=self.exact_below,
            nlist=self.nlist,
            pq_m=self.pq_m,
            nprobe=self.nprobe,
            train_size=self.train_size,
            chunk_size=self.chunk_size,
            threads=self.threads)

    def build(self, embeddings: np.ndarray) -> 'GalleryIndex':
        """Index a gallery's embeddings (replacing what was indexed).

        Args:
            embeddings (np.ndarray): (N, D) float32 unit embeddings, in
                gallery order (their rows are the ids :meth:`search`
                returns); a memory map is read chunk by chunk.

        Returns:
            GalleryIndex: This index.
        """
        faiss = _faiss()
        self._set_threads(faiss)
        if embeddings.ndim != 2 or len(embeddings) == 0:
            raise ValueError('GalleryIndex.build needs (N, D) embeddings with '
                             f'N > 0, got shape {embeddings.shape}.')
        num, dim = embeddings.shape
        if num < self.exact_below:
            self._kind = 'Flat'
        else:
            if dim % self.pq_m:
                raise ValueError(f'pq_m={self.pq_m} must divide the '
                                 f'embedding size {dim}.')
            # k-means needs rows per list (faiss warns below 39).
            nlist = max(1, min(self.nlist, min(num, self.train_size) // 64))
            # 4-bit codes scanned with SIMD ("fast scan"): 8-bit ones (PQ32)
            # built 20 times slower at 1M and searched slower (measured)
            # for no gain once the candidates are re-scored.
            self._kind = f'IVF{nlist},PQ{self.pq_m}x4fs'
        index = faiss.index_factory(dim, self._kind,
                                    faiss.METRIC_INNER_PRODUCT)
        if not index.is_trained:
            rows = np.linspace(
                0, num - 1, min(num, self.train_size)).astype(np.int64)
            index.train(np.ascontiguousarray(embeddings[np.unique(rows)],
                                             dtype=np.float32))
        for start in range(0, num, self.chunk_size):
            index.add(
                np.ascontiguousarray(
                    embeddings[start:start + self.chunk_size],
                    dtype=np.float32))
        self.index = index
        self._apply_nprobe()
        return self

    def search(
            self,
            queries: np.ndarray,
            k: int,
            embeddings: Optional[np.ndarray] = None,
            num_candidates: Optional[int] = None
    ) -> Tuple[np.ndarray, np.ndarray]:
        """The ``k`` gallery rows most similar to each query.

        Args:
            queries (np.ndarray): (Q, D) or (D,) query embeddings.
            k (int): Neighbours per query.
            embeddings (np.ndarray, optional): (N, D) the indexed
                embeddings: re-score the index's best ``num_candidates``
                exactly (dot products) and keep the best ``k`` of them.
                Defaults to None: the index's own scores.
            num_candidates (int, optional): Candidates to re-score.
                Defaults to None: ``max(k, 1000)``.

        Returns:
            Tuple[np.ndarray, np.ndarray]: (Q, k) float32 scores and (Q, k)
            int64 gallery rows, best first; rows are -1 (scores -inf)
            where fewer than ``k`` were found.
        """
        if self.index is None:
            raise RuntimeError('GalleryIndex.search before build or load.')
        faiss = _faiss()
        self._set_threads(faiss)
        queries = np.asarray(queries, np.float32)
        if queries.shape[-1] != self.index.d or queries.ndim > 2:
            raise ValueError(f'GalleryIndex.search: queries must be (Q, '
                             f'{self.index.d}) or ({self.index.d},), got '
                             f'{queries.shape}.')
        queries = np.ascontiguousarray(queries.reshape(-1, self.index.d))
        if embeddings is None:
            scores, ids = self.index.search(queries, k)
        else:
            _, candidates = self.index.search(
                queries, max(k, num_candidates or 1000))
            scores = np.full((len(queries), k), -np.inf, np.float32)
            ids = np.full((len(queries), k), -1, np.int64)
            for q, rows in enumerate(candidates):
                rows = np.sort(rows[rows >= 0])
                sims = np.asarray(embeddings[rows], np.float32) @ queries[q]
                # Stable descending order: ties keep gallery order.
                best = np.argsort(-sims, kind='stable')[:k]
                scores[q, :len(best)], ids[q, :len(best)] = sims[best], rows[
                    best]
        found = ids >= 0
        return np.where(found, scores, -np.inf).astype(np.float32), ids

    def save(self, path: str) -> None:
        """Write the index to ``path`` and its settings, kind and size to
        ``path + '.json'`` (next to the gallery it indexes)."""
        if self.index is None:
            raise RuntimeError('GalleryIndex.save before build.')
        faiss = _faiss()
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
        faiss.write_index(self.index, path)
        with open(path + '.json', 'w') as f:
            json.dump(
                dict(
                    settings=self.settings(),
                    kind=self.kind,
                    gallery_size=len(self),
                    dim=self.index.d),
                f,
                indent=1)

    @classmethod
    def load(cls,
             path: str,
             gallery_size: Optional[int] = None) -> 'GalleryIndex':
        """Read an index written by :meth:`save`.

        Args:
            path (str): The index file (its ``.json`` beside it).
            gallery_size (int, optional): Detections of the gallery it must
                index; another size raises ValueError. Defaults to None (not
                checked).

        Returns:
            GalleryIndex: The index, with the settings it was built with.
        """
        faiss = _faiss()
        for file in (path, path + '.json'):
            if not osp.isfile(file):
                raise FileNotFoundError(
                    f'Gallery index file {file} does not exist (written by '
                    'GalleryIndex.save).')
        with open(path + '.json') as f:
            meta = json.load(f)
        missing = {'settings', 'kind', 'gallery_size'} - set(meta)
        if missing:
            raise ValueError(f'{path}.json is not written by '
                             f'GalleryIndex.save: missing {sorted(missing)}')
        if gallery_size is not None and meta['gallery_size'] != gallery_size:
            raise ValueError(
                f'Gallery index {path} was built for a gallery of '
                f"{meta['gallery_size']} detections, this gallery has "
                f'{gallery_size}: rebuild the index.')
        index = faiss.read_index(path)
        if index.ntotal != meta['gallery_size']:
            raise ValueError(f"{path} holds {index.ntotal} vectors, its json "
                             f"says {meta['gallery_size']}.")
        loaded = cls(**meta['settings'])
        loaded.index = index
        loaded._kind = meta['kind']
        loaded._apply_nprobe()
        return loaded

    def _apply_nprobe(self) -> None:
        if self.index is not None and not self.exact:
            _faiss().extract_index_ivf(self.index).nprobe = self.nprobe

    def _set_threads(self, faiss) -> None:
        faiss.omp_set_num_threads(self.threads or torch.get_num_threads())
