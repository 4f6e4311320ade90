"""Time PersonSearchMetric on PRW-sized synthetic inputs, stage by stage.

Feeds the metric what the test loop would hand it for the PRW test split
(2057 queries x 6112 frames, about 6 detections per frame, 256-d
embeddings; see :func:`mmseqnet.testing.metric_samples.synthetic_prw_samples`)
and times, in wall-clock and CPU seconds of this process (on a shared
machine the CPU seconds vary less):

- ``process``: turning the samples into records;
- each evaluation on its own: detection (all and labeled persons) and the
  search variants ``search``, ``search_cbgm``, ``search_mv`` and
  ``search_mv_cbgm`` (their gallery protocol included), each run alone
  through the functional API;
- ``compute_metrics``: everything above together, as a test run does it
  (the variants share their similarity products and sorts).

Example:
    OMP_NUM_THREADS=1 python tools/analysis_tools/benchmark_metric.py \\
        --threads 1
"""
import argparse
import time
from typing import Callable, Dict, List, Tuple

import numpy as np
import torch
from mmengine.logging import MMLogger

from mmseqnet.evaluation import PersonSearchMetric
from mmseqnet.evaluation.functional import (CBGM_DEFAULTS, eval_detection,
                                            eval_search, prw_galleries)
from mmseqnet.testing.metric_samples import synthetic_prw_samples


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
    parser.add_argument('--dim', type=int, default=256)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--threads',
        type=int,
        default=None,
        help='torch threads (default: as the machine gives them); numpy\'s '
        'BLAS threads follow OMP_NUM_THREADS / OPENBLAS_NUM_THREADS')
    return parser.parse_args()


def timed(fn: Callable, *args, **kwargs) -> Tuple[object, Tuple[float, float]]:
    """``fn(*args, **kwargs)`` and its wall and CPU time in seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return out, (time.perf_counter() - wall, time.process_time() - cpu)


def stage_times(metric: PersonSearchMetric,
                records: List[dict]) -> Dict[str, Tuple[float, float]]:
    """Each evaluation of ``compute_metrics`` run alone on the records."""
    gallery = [r for r in records if r['sample_type'] == 'gallery']
    query_records = sorted((r for r in records if r['sample_type'] == 'query'),
                           key=lambda r: r['query_index'])
    queries = metric.dataset_meta['queries']
    metas = [queries[r['query_index']] for r in query_records]
    times = {}
    _, times['detection'] = timed(lambda: [
        eval_detection([g['bboxes']
                        for g in gallery], [g['scores'] for g in gallery], [
                            g['gt_bboxes'] for g in gallery
                        ], [g['gt_person_ids'] >= 0 for g in gallery],
                       labeled_only=labeled) for labeled in (False, True)
    ])
    det_image_ids = np.repeat(
        np.arange(len(gallery)), [len(g['scores']) for g in gallery])
    det_bboxes = np.concatenate([g['bboxes'] for g in gallery])
    det_feats = np.concatenate([g['embeddings'] for g in gallery])
    query_feats = np.stack([r['embedding'] for r in query_records])
    context = [r['context_embeddings'] for r in query_records]
    k1, k2 = CBGM_DEFAULTS['prw']
    for suffix, multi_view in (('', False), ('_mv', True)):
        for cbgm in (False, True):

            def search():
                galleries = prw_galleries(
                    [g['img_name']
                     for g in gallery], [g['cam_id'] for g in gallery],
                    [g['gt_bboxes']
                     for g in gallery], [g['gt_person_ids'] for g in gallery],
                    [m['img_name']
                     for m in metas], [m['person_id'] for m in metas],
                    [m['cam_id'] for m in metas],
                    multi_view=multi_view)
                return eval_search(
                    query_feats,
                    det_image_ids,
                    det_bboxes,
                    det_feats,
                    galleries,
                    topk=metric.topk,
                    num_matches=max(metric.topk),
                    context_feats=context if cbgm else None,
                    k1=k1,
                    k2=k2)

            name = 'search' + suffix + ('_cbgm' if cbgm else '')
            _, times[name] = timed(search)
    return times


def main() -> None:
    args = parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    MMLogger.get_instance('benchmark_metric', log_level='WARNING')
    data, seconds = timed(
        synthetic_prw_samples,
        num_queries=args.num_queries,
        num_images=args.num_images,
        persons_per_image=args.persons_per_image,
        num_ids=args.num_ids,
        dim=args.dim,
        seed=args.seed)
    print(f'synthesized {len(data.queries)} queries x {args.num_images} '
          f'frames, {data.num_dets} detections, {args.dim}-d, in '
          f'{seconds[0]:.1f} s')
    metric = PersonSearchMetric(cbgm=True, multi_view=True)
    metric.dataset_meta = data.dataset_meta
    _, process = timed(metric.process, None, data.samples)
    times = stage_times(metric, metric.results)
    results, computed = timed(metric.compute_metrics, metric.results)
    rows = [('process', process)] + list(times.items())
    rows += [('sum', tuple(map(sum, zip(*(t for _, t in rows))))),
             ('compute_metrics', computed),
             ('total', tuple(map(sum, zip(process, computed))))]
    notes = {
        'sum': 'process + each evaluation alone',
        'compute_metrics': 'all evaluations together',
        'total': 'process + compute_metrics',
    }
    print(f"{'stage':<16} {'wall s':>8} {'cpu s':>8}")
    for name, (wall, cpu) in rows:
        note = f'   ({notes[name]})' if name in notes else ''
        print(f'{name:<16} {wall:8.2f} {cpu:8.2f}{note}')
    print(', '.join(f'{k}={v:.4f}' if isinstance(v, float) else f'{k}={v}'
                    for k, v in results.items()))


if __name__ == '__main__':
    main()
