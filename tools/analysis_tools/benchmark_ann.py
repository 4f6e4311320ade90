"""Compare gallery search by brute force with :class:`GalleryIndex` on large
synthetic galleries.

For each size, an identity-structured gallery of 256-d unit embeddings
(:func:`mmseqnet.testing.synthetic_gallery`: identities' random unit centres
plus noise, distractors) is written chunk by chunk into a ``.npy`` under
``--work-dir`` (kept and reused by later runs with the same arguments) and
searched, from its memory map, by:

- ``numpy``: today's brute force, one query at a time over the memory map
  in chunks (the exact reference);
- ``flat``: faiss's exact ``IndexFlatIP`` (a :class:`GalleryIndex` below its
  threshold);
- ``ivfpq``: the approximate :class:`GalleryIndex`, per ``--nlist`` and
  ``--nprobe``, both as the index scores (``raw``) and with its best
  ``--candidates`` re-scored exactly from the memory map (what
  :meth:`PersonSearcher.rank` does with an index).

Reported per method: build time, recall@10 against exact search (the share
of each query's exact 10 best found among the method's 10 best), mean
latency of one query (``--num-queries`` queries searched one by one; the
exact ones over ``--exact-queries``), the peak private memory the method
added to the process (resident memory less file-backed pages, sampled; the
memory map's page cache is not counted) and the index size on disk.

Example:
    python tools/analysis_tools/benchmark_ann.py --sizes 1000000 10000000 \\
        --work-dir work_dirs/benchmark_ann --threads 2
"""
import argparse
import os
import os.path as osp
import subprocess
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator, List, Tuple

import numpy as np
import psutil
import torch

from mmseqnet.apis import GalleryIndex
from mmseqnet.testing import synthetic_gallery

CHUNK = 1 << 18


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Brute force against GalleryIndex on synthetic galleries')
    parser.add_argument(
        '--sizes', type=int, nargs='+', default=[1000000, 10000000])
    parser.add_argument('--dim', type=int, default=256)
    parser.add_argument('--work-dir', required=True,
                        help='where the galleries and indexes are written')
    parser.add_argument(
        '--methods',
        nargs='+',
        default=['numpy', 'flat', 'ivfpq'],
        choices=['numpy', 'flat', 'ivfpq'])
    parser.add_argument('--nlist', type=int, nargs='+', default=[1024])
    parser.add_argument('--pq-m', type=int, default=64)
    parser.add_argument(
        '--nprobe', type=int, nargs='+', default=[256, 384, 512])
    parser.add_argument(
        '--candidates',
        type=int,
        nargs='+',
        default=[1000],
        help='re-scored candidates per query')
    parser.add_argument('--num-queries', type=int, default=100)
    parser.add_argument('--exact-queries', type=int, default=20,
                        help='queries timed for the exact methods')
    parser.add_argument('--noise', type=float, default=1.0)
    parser.add_argument('--dets-per-id', type=float, default=50.0)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--threads', type=int, default=None,
                        help='torch and faiss threads (default: torch\'s)')
    return parser.parse_args()


class PeakMemory:
    """Peak private memory of this process above where it started (GB):
    resident pages less file-backed ones, sampled every 20 ms."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.base = self._private()
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _private(self) -> int:
        info = self.process.memory_info()
        return info.rss - info.shared

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, self._private())

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._private())
        return (self.peak - self.base) / 2**30


@contextmanager
def measured(row: dict) -> Iterator[None]:
    """Record the peak private memory of the block in ``row['ram_gb']``."""
    memory = PeakMemory()
    try:
        yield
    finally:
        row['ram_gb'] = memory.stop()


def brute_force(embeddings: np.ndarray, queries: np.ndarray,
                k: int) -> np.ndarray:
    """(Q, k) exact best rows for (Q, D) queries, chunk by chunk over the
    memory map (ties: lower row first)."""
    best_sims = np.zeros((len(queries), 0), np.float32)
    best_rows = np.zeros((len(queries), 0), np.int64)
    for start in range(0, len(embeddings), CHUNK):
        chunk = np.asarray(embeddings[start:start + CHUNK])
        sims = np.concatenate([best_sims, queries @ chunk.T], axis=1)
        rows = np.concatenate([
            best_rows,
            np.broadcast_to(np.arange(start, start + len(chunk)),
                            (len(queries), len(chunk)))
        ], axis=1)
        order = np.argsort(-sims, axis=1, kind='stable')[:, :k]
        best_sims = np.take_along_axis(sims, order, axis=1)
        best_rows = np.take_along_axis(rows, order, axis=1)
    return best_rows


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    """Mean share of each row of ``exact`` found in that row of ``found``."""
    return float(
        np.mean([len(np.intersect1d(f, e)) / len(e)
                 for f, e in zip(found, exact)]))


def per_query(search: Callable,
              queries: np.ndarray) -> Tuple[np.ndarray, float]:
    """Each query searched alone: its (k,) rows stacked, and the mean ms."""
    start = time.perf_counter()
    rows = np.stack([search(q) for q in queries])
    return rows, (time.perf_counter() - start) / len(queries) * 1e3


def file_size_gb(path: str) -> float:
    return os.path.getsize(path) / 2**30


def benchmark_size(args: argparse.Namespace, size: int) -> List[dict]:
    """The table rows of one gallery size."""
    stem = osp.join(
        args.work_dir, f'gallery_{size}x{args.dim}_ids{args.dets_per_id:g}'
        f'_noise{args.noise:g}_seed{args.seed}')
    reused = osp.isfile(stem + '.npy')
    start = time.perf_counter()
    data = synthetic_gallery(
        size,
        dim=args.dim,
        dets_per_id=args.dets_per_id,
        noise=args.noise,
        num_queries=args.num_queries,
        path=stem + '.npy',
        seed=args.seed)
    print(f'{size} detections ({file_size_gb(stem + ".npy"):.1f} GB) '
          f'{"reused from" if reused else "written to"} {stem}.npy in '
          f'{time.perf_counter() - start:.0f} s')
    embeddings, queries = data.embeddings, data.queries
    start = time.perf_counter()
    exact = brute_force(embeddings, queries, 10)
    print(f'exact top-10 of {len(queries)} queries in one pass: '
          f'{time.perf_counter() - start:.0f} s')
    timed_queries = queries[:args.exact_queries]
    rows = []
    if 'numpy' in args.methods:
        row = dict(method='numpy brute force (memory map)', build_s=0.0,
                   index_gb=0.0)
        with measured(row):
            found, row['query_ms'] = per_query(
                lambda q: brute_force(embeddings, q[None], 10)[0],
                timed_queries)
        row['recall'] = recall(found, exact)
        rows.append(row)
    if 'flat' in args.methods:
        row = dict(method='faiss exact (Flat)')
        with measured(row):
            start = time.perf_counter()
            index = GalleryIndex(exact_below=size + 1).build(embeddings)
            row['build_s'] = time.perf_counter() - start
            found, row['query_ms'] = per_query(
                lambda q: index.search(q, 10)[1][0], timed_queries)
        row['recall'] = recall(found, exact)
        row['index_gb'] = index.index.ntotal * index.index.d * 4 / 2**30
        rows.append(row)
        del index
    if 'ivfpq' in args.methods:
        for nlist in args.nlist:
            build = dict()
            with measured(build):
                start = time.perf_counter()
                index = GalleryIndex(
                    exact_below=0, nlist=nlist,
                    pq_m=args.pq_m).build(embeddings)
                build_s = time.perf_counter() - start
            path = f'{stem}.{index.kind.replace(",", "_")}.faiss'
            index.save(path)
            for nprobe in args.nprobe:
                index.nprobe = nprobe
                # 0: the index's own 10 best.
                for candidates in [0] + args.candidates:
                    row = dict(
                        method=f'{index.kind} nprobe={nprobe} ' + (
                            f'best {candidates} re-scored'
                            if candidates else 'raw'),
                        build_s=build_s,
                        index_gb=file_size_gb(path))
                    with measured(row):
                        found, row['query_ms'] = per_query(
                            lambda q: index.search(
                                q, 10, embeddings if candidates else None,
                                candidates)[1][0], queries)
                    row['ram_gb'] = max(row['ram_gb'], build['ram_gb'])
                    row['recall'] = recall(found, exact)
                    rows.append(row)
            del index
    for row in rows:
        row['size'] = size
    return rows


def machine() -> str:
    """The CPU model and core count, as lscpu gives them."""
    fields = dict(
        line.split(':', 1)
        for line in subprocess.run(['lscpu'], capture_output=True,
                                   text=True).stdout.splitlines()
        if ':' in line)
    return (f"{fields.get('Model name', '?').strip()}, "
            f"{fields.get('CPU(s)', '?').strip()} CPUs")


def main() -> None:
    args = parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    os.makedirs(args.work_dir, exist_ok=True)
    rows = []
    for size in args.sizes:
        rows += benchmark_size(args, size)
    print(f'\n{machine()}; {torch.get_num_threads()} threads; '
          f'{args.num_queries} queries ({args.exact_queries} timed for the '
          'exact methods), each searched alone')
    print('| detections | method | build s | recall@10 | ms / query | '
          'peak RAM added GB | index GB |')
    print('|---:|---|---:|---:|---:|---:|---:|')
    for row in rows:
        print(f"| {row['size']:,} | {row['method']} | {row['build_s']:.1f} | "
              f"{row['recall']:.3f} | {row['query_ms']:.1f} | "
              f"{row['ram_gb']:.2f} | {row['index_gb']:.2f} |")


if __name__ == '__main__':
    main()
