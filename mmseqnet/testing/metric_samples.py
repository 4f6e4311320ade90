"""Synthetic inputs of :class:`~mmseqnet.evaluation.PersonSearchMetric`.

What the test loop would hand the metric for a PRW-like test split, without
a model: gallery samples (detections, scores, embeddings and ground truth)
and query samples (the query box, then the query frame's other persons as
CBGM context), as dicts of tensors, plus the ``queries`` metainfo. Used by
``tools/analysis_tools/benchmark_metric.py`` and the evaluation tests.
"""
from typing import List, NamedTuple

import numpy as np
import torch


class MetricSamples(NamedTuple):
    """Data samples and dataset metainfo of a synthetic test split.

    Attributes:
        samples (List[dict]): Gallery samples (one per frame) followed by
            query samples, as the Evaluator passes them (dicts of tensors).
        queries (List[dict]): ``dataset_meta['queries']``: per query
            ``img_name``, ``bbox`` (xyxy), ``person_id``, ``cam_id`` and
            ``gallery`` (None: PRW derives it from the test frames).
        num_dets (int): Gallery detections in all frames.
    """
    samples: List[dict]
    queries: List[dict]
    num_dets: int

    @property
    def dataset_meta(self) -> dict:
        """dict: The metric's ``dataset_meta`` (PRW protocol)."""
        return dict(protocol='prw', queries=self.queries)


def synthetic_prw_samples(num_queries: int = 2057,
                          num_images: int = 6112,
                          persons_per_image: float = 6.0,
                          num_ids: int = 450,
                          num_cams: int = 6,
                          dim: int = 256,
                          noise: float = 2.2,
                          seed: int = 0) -> MetricSamples:
    """A PRW-like test split with identity-structured embeddings.

    Each frame (camera ``i % num_cams + 1``) holds ``max(1, Poisson(mean))``
    persons, a fifth of them unlabeled (person id -1); detections are the
    ground-truth boxes with 4-pixel noise and scores in [0.5, 1), so every
    detection passes the metric's default threshold. Embeddings are an
    identity's random unit prototype (a fresh random direction for unlabeled
    persons) plus Gaussian noise of norm about ``noise``, normalised; gallery
    embeddings are weighted by their score as SeqNet's are. Queries are
    drawn one per (identity, camera), as PRW's ``query_info.txt`` has them,
    from frames in random order; the defaults give PRW's test split size
    (2057 queries x 6112 frames, about 37k detections).

    Args:
        num_queries (int): Queries to draw at most. Defaults to 2057.
        num_images (int): Gallery frames. Defaults to 6112.
        persons_per_image (float): Mean persons (and detections) per frame.
            Defaults to 6.0.
        num_ids (int): Labeled identities. Defaults to 450.
        num_cams (int): Cameras. Defaults to 6.
        dim (int): Embedding size. Defaults to 256.
        noise (float): Embedding noise norm around the prototype (2.2 gives
            a search mAP of about 0.23 at the defaults). Defaults to 2.2.
        seed (int): Random seed; equal arguments give equal samples.
            Defaults to 0.

    Returns:
        MetricSamples: Samples, queries metainfo and detection count.
    """
    rng = np.random.default_rng(seed)
    protos = _unit(rng.normal(size=(num_ids, dim)))

    def features(pids: np.ndarray) -> np.ndarray:
        base = np.where((pids >= 0)[:, None], protos[np.maximum(pids, 0)],
                        _unit(rng.normal(size=(len(pids), dim))))
        jitter = rng.normal(size=base.shape) * noise / np.sqrt(dim)
        return _unit(base + jitter).astype(np.float32)

    gallery, frames = [], []
    for i in range(num_images):
        cam = i % num_cams + 1
        n = max(1, int(rng.poisson(persons_per_image)))
        xy = rng.uniform(0, 1700, (n, 2))
        gt = np.hstack([xy, xy + rng.uniform([30, 80], [120, 350], (n, 2))])
        pids = rng.integers(0, num_ids, n)
        pids[rng.random(n) < 0.2] = -1
        dets = gt + rng.normal(0, 4, gt.shape)
        scores = rng.uniform(0.5, 1.0, n).astype(np.float32)
        name = f'c{cam}s1_{i:06d}.jpg'
        gallery.append(
            dict(
                img_name=name,
                cam_id=cam,
                sample_type='gallery',
                pred_instances=dict(
                    bboxes=torch.from_numpy(dets.astype(np.float32)),
                    scores=torch.from_numpy(scores),
                    labels=torch.zeros(n, dtype=torch.long),
                    embeddings=torch.from_numpy(features(pids) *
                                                scores[:, None])),
                gt_instances=dict(
                    bboxes=torch.from_numpy(gt.astype(np.float32)),
                    labels=torch.zeros(n, dtype=torch.long),
                    person_ids=torch.from_numpy(pids))))
        frames.append((name, cam, gt, pids))

    seen, queries, query_samples = set(), [], []
    for f in rng.permutation(len(frames)):
        name, cam, gt, pids = frames[f]
        for k in np.flatnonzero(pids >= 0):
            if (pids[k], cam) in seen or len(queries) == num_queries:
                continue
            seen.add((pids[k], cam))
            # SeqNet's layout: the query box, then the frame's other persons
            order = np.r_[k, np.delete(np.arange(len(pids)), k)]
            boxes = gt[order].astype(np.float32)
            query_samples.append(
                dict(
                    img_name=name,
                    cam_id=cam,
                    sample_type='query',
                    query_index=len(queries),
                    pred_instances=dict(
                        bboxes=torch.from_numpy(boxes),
                        scores=torch.ones(len(boxes)),
                        labels=torch.zeros(len(boxes), dtype=torch.long),
                        embeddings=torch.from_numpy(features(
                            pids[order])))))
            queries.append(
                dict(
                    img_name=name,
                    bbox=gt[k].astype(np.float32),
                    person_id=int(pids[k]),
                    cam_id=cam,
                    gallery=None))
    num_dets = sum(len(g['pred_instances']['scores']) for g in gallery)
    return MetricSamples(gallery + query_samples, queries, num_dets)


def _unit(v: np.ndarray) -> np.ndarray:
    """Rows scaled to unit norm."""
    return v / np.linalg.norm(v, axis=-1, keepdims=True)
