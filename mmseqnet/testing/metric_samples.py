"""Synthetic inputs of :class:`~mmseqnet.evaluation.PersonSearchMetric`.

What the test loop would hand the metric for a PRW-like test split, without
a model: gallery samples (detections, scores, embeddings and ground truth)
and query samples (the query box, then the query frame's other persons as
CBGM context), as dicts of tensors, plus the ``queries`` metainfo. Used by
``tools/analysis_tools/benchmark_metric.py`` and the evaluation tests.

:func:`make_scene` and :func:`scene_samples` make a small scene with exact,
hand-checkable answers (one-hot embeddings by identity) for the metric and
tool tests.
"""
from typing import List, NamedTuple

import numpy as np
import torch
from mmdet.structures import DetDataSample
from mmengine.evaluator import Evaluator
from mmengine.structures import InstanceData


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


SCENE_DIM = 128


def make_scene(protocol, seed=0, num_images=12, num_ids=5):
    """Images (name, cam, persons) with every identity in >= 2 images, an
    unlabeled person per image and queries, as plain dicts."""
    rng = np.random.default_rng(seed)
    images = []
    for i in range(num_images):
        pids = [i % num_ids, (i + 2) % num_ids, -1]
        boxes = []
        for k in range(len(pids)):
            x, y = 200 * k + rng.uniform(0, 50), rng.uniform(0, 50)
            boxes.append(
                [x, y, x + rng.uniform(30, 90), y + rng.uniform(80, 200)])
        images.append(
            dict(
                img_name=(f'c{i % 3 + 1}s1_{i:06d}.jpg'
                          if protocol == 'prw' else f's{i}.jpg'),
                cam_id=i % 3 + 1 if protocol == 'prw' else -1,
                boxes=np.array(boxes, np.float32),
                pids=np.array(pids, np.int64)))
    queries = []
    for pid in range(num_ids):
        holders = [img for img in images if pid in img['pids']]
        img = holders[0]
        k = list(img['pids']).index(pid)
        query = dict(
            img_name=img['img_name'],
            bbox=img['boxes'][k],
            person_id=pid,
            cam_id=img['cam_id'],
            gallery=None)
        if protocol == 'cuhk_sysu':
            names = [h['img_name'] for h in holders[1:]]
            boxes = [
                h['boxes'][list(h['pids']).index(pid)] for h in holders[1:]
            ]
            negatives = [i['img_name'] for i in images if i not in holders]
            query['gallery'] = dict(
                img_names=names + negatives,
                bboxes=np.array(boxes + [[np.nan] * 4] * len(negatives),
                                np.float32),
                all_test_images=False)
        queries.append(query)
    return images, queries


def _scene_embeddings(pids, rng=None):
    """One-hot by identity (unlabeled persons get their own unused axis),
    or random unit vectors when rng is given."""
    if rng is not None:
        v = rng.normal(size=(len(pids), SCENE_DIM))
        return v / np.linalg.norm(v, axis=1, keepdims=True)
    out = np.zeros((len(pids), SCENE_DIM))
    for row, pid in enumerate(pids):
        out[row, pid if pid >= 0 else SCENE_DIM - 1 - row] = 1
    return out


def scene_samples(images, queries, rng=None, score=0.9):
    """DetDataSamples as the SeqNet detector returns them, ground-truth
    boxes as detections."""
    samples = []
    for img in images:
        sample = DetDataSample(
            metainfo=dict(
                img_name=img['img_name'],
                cam_id=img['cam_id'],
                sample_type='gallery'))
        n = len(img['boxes'])
        sample.pred_instances = InstanceData(
            bboxes=torch.tensor(img['boxes']),
            scores=torch.full((n, ), score),
            labels=torch.zeros(n, dtype=torch.long),
            embeddings=torch.tensor(
                _scene_embeddings(img['pids'], rng) * score,
                dtype=torch.float32))
        sample.gt_instances = InstanceData(
            bboxes=torch.tensor(img['boxes']),
            labels=torch.zeros(n, dtype=torch.long),
            person_ids=torch.tensor(img['pids']))
        samples.append(sample)
    by_name = {img['img_name']: img for img in images}
    for index, query in enumerate(queries):
        img = by_name[query['img_name']]
        k = list(img['pids']).index(query['person_id'])
        # SeqNet's layout: row 0 the query box (forced into the query
        # image's gallery path), then the other persons (CBGM context)
        others = [j for j in range(len(img['pids'])) if j != k]
        pids = [query['person_id']] + list(img['pids'][others])
        boxes = np.vstack([query['bbox'][None], img['boxes'][others]])
        sample = DetDataSample(
            metainfo=dict(
                img_name=query['img_name'],
                cam_id=query['cam_id'],
                sample_type='query',
                query_index=index,
                query_bbox=query['bbox'],
                query_person_id=query['person_id']))
        embeddings = _scene_embeddings(pids, rng)
        # CBGM gives the query's match the LARGEST matched weight, so a
        # negative image holding a context person would tie with the true
        # matches; context persons are made less similar to keep the
        # perfect case perfect
        embeddings[1:] *= 0.5
        sample.pred_instances = InstanceData(
            bboxes=torch.tensor(boxes),
            scores=torch.ones(len(boxes)),
            labels=torch.zeros(len(boxes), dtype=torch.long),
            embeddings=torch.tensor(embeddings, dtype=torch.float32))
        samples.append(sample)
    return samples


def evaluate_metric(metric, protocol, images, queries, samples):
    """Run ``metric`` over ``samples`` in two batches like the test loop."""
    evaluator = Evaluator([metric])
    evaluator.dataset_meta = dict(
        classes=('person', ), protocol=protocol, queries=queries)
    # two batches, as the test loop feeds them
    evaluator.process(samples[:5])
    evaluator.process(samples[5:])
    return evaluator.evaluate(len(samples))
