"""PersonSearchMetric on the real dataset items of synthetic PRW and
CUHK-SYSU test splits (fixtures of tests/conftest.py), with ground-truth
boxes as detections."""
import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.structures import InstanceData

from mmseqnet.datasets import (CUHKSYSUDataset, LoadPersonSearchAnnotations,
                               PackPersonSearchInputs, PRWDataset)
from mmseqnet.evaluation import PersonSearchMetric, bbox_iou


def load(dataset_cls, root, **kwargs):
    # images are not needed: annotations stay in original pixels
    return dataset_cls(
        data_root=root,
        test_mode=True,
        pipeline=[LoadPersonSearchAnnotations(),
                  PackPersonSearchInputs()],
        **kwargs)


def predict(dataset, rng=None, score=0.9):
    """What a detector with perfect boxes would output for every item: the
    ground truth as detections, features one-hot by identity (or random
    unit vectors when rng is given)."""
    items = [dataset[i]['data_samples'] for i in range(len(dataset))]
    ids = sorted({
        int(p)
        for item in items
        for p in item.gt_instances.person_ids if p >= 0
    })
    axis = {pid: i for i, pid in enumerate(ids)}
    dim = len(ids) + sum(len(item.gt_instances) for item in items) + 1
    fresh = iter(range(len(ids), dim))

    def embed(pids):
        if rng is not None:
            v = rng.normal(size=(len(pids), dim))
            return v / np.linalg.norm(v, axis=1, keepdims=True)
        out = np.zeros((len(pids), dim))
        for row, pid in enumerate(pids):
            out[row, axis[pid] if pid >= 0 else next(fresh)] = 1
        return out

    for item in items:
        gt_boxes = item.gt_instances.bboxes.tensor.numpy()
        pids = item.gt_instances.person_ids.numpy()
        if item.sample_type == 'gallery':
            boxes, feats = gt_boxes, embed(pids) * score
            scores = np.full(len(boxes), score)
        else:
            # SeqNet's layout: row 0 the given query box, then the other
            # persons of the query image (CBGM context)
            query_box = item.query_bbox[None]
            others = bbox_iou(gt_boxes, query_box) < 0.999
            boxes = np.vstack([query_box, gt_boxes[others]])
            feats = embed([item.query_person_id] + list(pids[others]))
            # CBGM writes the largest matched weight to the query's match:
            # a negative image holding a context person would tie with the
            # true matches, so context persons are made less similar
            feats[1:] *= 0.5
            scores = np.ones(len(boxes))
        item.pred_instances = InstanceData(
            bboxes=torch.tensor(boxes, dtype=torch.float32),
            scores=torch.tensor(scores, dtype=torch.float32),
            labels=torch.zeros(len(boxes), dtype=torch.long),
            embeddings=torch.tensor(feats, dtype=torch.float32))
    return items


def evaluate(dataset, items, **metric_args):
    evaluator = Evaluator([PersonSearchMetric(**metric_args)])
    evaluator.dataset_meta = dataset.metainfo
    for start in range(0, len(items), 4):
        evaluator.process(items[start:start + 4])
    return {
        k.split('/')[1]: v
        for k, v in evaluator.evaluate(len(items)).items()
    }


def test_prw_perfect_and_random(synthetic_prw_root):
    dataset = load(PRWDataset, synthetic_prw_root)
    results = evaluate(dataset, predict(dataset), multi_view=True)
    for key in ('det_recall', 'det_AP', 'det_recall_labeled', 'mAP', 'top1',
                'mAP_cbgm', 'top1_cbgm', 'mAP_mv', 'top1_mv'):
        assert results[key] == pytest.approx(1), key
    assert results['num_queries'] == len(dataset.metainfo['queries'])
    assert results['num_queries'] > results['num_queries_without_gt']

    results = evaluate(dataset, predict(dataset, rng=np.random.default_rng(0)))
    assert results['det_recall'] == pytest.approx(1)
    assert results['mAP'] < 0.5 and results['mAP_cbgm'] < 0.5


def test_cuhk_sysu_perfect_and_random(synthetic_cuhk_root):
    dataset = load(CUHKSYSUDataset, synthetic_cuhk_root, gallery_size=50)
    queries = dataset.metainfo['queries']
    results = evaluate(dataset, predict(dataset))
    for key in ('det_recall', 'det_AP', 'det_recall_labeled', 'top1',
                'top1_cbgm'):
        assert results[key] == pytest.approx(1), key
    # a perfect ranking finds every listed positive image once; an image
    # listed twice still adds 2 to count_gt (the protocol's duplicates)
    per_query = []
    for query in queries:
        listed = query['gallery']
        has_box = ~np.isnan(listed['bboxes']).any(axis=1)
        unique = {n for n, b in zip(listed['img_names'], has_box) if b}
        per_query.append(len(unique) / has_box.sum())
    assert results['mAP'] == pytest.approx(np.mean(per_query))
    assert results['mAP_cbgm'] == pytest.approx(np.mean(per_query))

    results = evaluate(dataset, predict(dataset, rng=np.random.default_rng(0)))
    assert results['mAP'] < 0.5 and results['top1'] < 0.5
