"""Time PersonSearchMetric on PRW-sized synthetic inputs.

Generates what the test loop would hand the metric for the PRW test split
(2057 queries x 6112 frames, about 6 detections per frame, 256-d
embeddings) with identity-structured features, so that there are true
matches to find, then times ``process`` and ``compute_metrics`` without and
with CBGM.

Example:
    python tools/analysis_tools/benchmark_metric.py --num-queries 2057
"""
import argparse
import time
from typing import List, Tuple

import numpy as np
import torch
from mmengine.logging import MMLogger

from mmseqnet.evaluation import PersonSearchMetric


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Time PersonSearchMetric on PRW-sized synthetic inputs')
    parser.add_argument('--num-queries', type=int, default=2057)
    parser.add_argument('--num-images', type=int, default=6112)
    parser.add_argument(
        '--persons-per-image',
        type=float,
        default=6.0,
        help='mean persons (and detections) per frame')
    parser.add_argument('--num-ids', type=int, default=450)
    parser.add_argument('--num-cams', type=int, default=6)
    parser.add_argument('--dim', type=int, default=256)
    parser.add_argument(
        '--noise',
        type=float,
        default=2.2,
        help='embedding noise (norm) around each identity\'s prototype')
    parser.add_argument('--multi-view', action='store_true')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def synthesize(args: argparse.Namespace) -> Tuple[List[dict], List[dict]]:
    """Data samples (as the Evaluator passes them: dicts of tensors) and the
    ``queries`` metainfo of a PRW-like test split."""
    rng = np.random.default_rng(args.seed)
    protos = unit(rng.normal(size=(args.num_ids, args.dim)))

    def features(pids: np.ndarray) -> np.ndarray:
        base = np.where((pids >= 0)[:, None], protos[np.maximum(pids, 0)],
                        unit(rng.normal(size=(len(pids), args.dim))))
        noise = rng.normal(size=base.shape) * args.noise / np.sqrt(args.dim)
        return unit(base + noise).astype(np.float32)

    gallery, frames = [], []
    for i in range(args.num_images):
        cam = i % args.num_cams + 1
        n = max(1, int(rng.poisson(args.persons_per_image)))
        xy = rng.uniform(0, 1700, (n, 2))
        gt = np.hstack([xy, xy + rng.uniform([30, 80], [120, 350], (n, 2))])
        # persons stay within a few cameras, a fifth is unlabeled
        pids = rng.integers(0, args.num_ids, n)
        pids[rng.random(n) < 0.2] = -1
        dets = gt + rng.normal(0, 4, gt.shape)
        scores = rng.uniform(0.5, 1.0, n)
        name = f'c{cam}s1_{i:06d}.jpg'
        gallery.append(
            dict(
                img_name=name,
                cam_id=cam,
                sample_type='gallery',
                pred_instances=dict(
                    bboxes=torch.from_numpy(dets.astype(np.float32)),
                    scores=torch.from_numpy(scores.astype(np.float32)),
                    labels=torch.zeros(n, dtype=torch.long),
                    embeddings=torch.from_numpy(
                        features(pids) * scores[:, None].astype(np.float32))),
                gt_instances=dict(
                    bboxes=torch.from_numpy(gt.astype(np.float32)),
                    labels=torch.zeros(n, dtype=torch.long),
                    person_ids=torch.from_numpy(pids))))
        frames.append((name, cam, gt, pids))

    # one query per (identity, camera), as in PRW's query_info.txt
    seen, queries, samples = set(), [], []
    for f in rng.permutation(len(frames)):
        name, cam, gt, pids = frames[f]
        for k in np.flatnonzero(pids >= 0):
            if (pids[k], cam) in seen or len(queries) == args.num_queries:
                continue
            seen.add((pids[k], cam))
            # SeqNet's layout: the query box, then the query image's other
            # persons (the CBGM context)
            order = np.r_[k, np.delete(np.arange(len(pids)), k)]
            boxes = gt[order].astype(np.float32)
            embeddings = features(pids[order])
            samples.append(
                dict(
                    img_name=name,
                    cam_id=cam,
                    sample_type='query',
                    query_index=len(queries),
                    pred_instances=dict(
                        bboxes=torch.from_numpy(boxes),
                        scores=torch.ones(len(boxes)),
                        labels=torch.zeros(len(boxes), dtype=torch.long),
                        embeddings=torch.from_numpy(embeddings))))
            queries.append(
                dict(
                    img_name=name,
                    bbox=gt[k].astype(np.float32),
                    person_id=int(pids[k]),
                    cam_id=cam,
                    gallery=None))
    return gallery + samples, queries


def main() -> None:
    args = parse_args()
    MMLogger.get_instance('benchmark_metric')
    tic = time.perf_counter()
    samples, queries = synthesize(args)
    num_dets = sum(
        len(s['pred_instances']['scores']) for s in samples
        if s['sample_type'] == 'gallery')
    print(f'synthesized {len(queries)} queries x {args.num_images} frames, '
          f'{num_dets} detections, {args.dim}-d, in '
          f'{time.perf_counter() - tic:.1f} s')
    for cbgm in (False, True):
        metric = PersonSearchMetric(cbgm=cbgm, multi_view=args.multi_view)
        metric.dataset_meta = dict(protocol='prw', queries=queries)
        tic = time.perf_counter()
        metric.process(None, samples)
        processed = time.perf_counter() - tic
        tic = time.perf_counter()
        results = metric.compute_metrics(metric.results)
        computed = time.perf_counter() - tic
        label = 'with CBGM (plain + CBGM)' if cbgm else 'without CBGM'
        print(f'{label}: process {processed:.2f} s, compute_metrics '
              f'{computed:.2f} s')
        print('  ' +
              ', '.join(f'{k}={v:.4f}' if isinstance(v, float) else f'{k}={v}'
                        for k, v in results.items()))


if __name__ == '__main__':
    main()
