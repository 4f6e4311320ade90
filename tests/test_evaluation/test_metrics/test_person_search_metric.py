import json
import math

import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

from mmseqnet.evaluation import PersonSearchMetric
from mmseqnet.testing.metric_samples import (evaluate_metric, make_scene,
                                             scene_samples,
                                             synthetic_prw_samples)
from ..test_functional.test_ranking import reference_average_precision
from ..test_functional.test_search import reference_search


@pytest.mark.parametrize('protocol', ['prw', 'cuhk_sysu'])
def test_perfect_features_give_perfect_numbers(protocol):
    images, queries = make_scene(protocol)
    metric = PersonSearchMetric(multi_view=protocol == 'prw')
    results = evaluate_metric(metric, protocol, images, queries,
                              scene_samples(images, queries))
    expected_keys = [
        'det_AP', 'det_recall', 'det_AP_labeled', 'det_recall_labeled', 'mAP',
        'top1', 'top5', 'top10', 'mAP_cbgm', 'top1_cbgm', 'top5_cbgm',
        'top10_cbgm', 'num_queries', 'num_queries_without_gt'
    ]
    if protocol == 'prw':
        expected_keys += [
            'mAP_mv', 'top1_mv', 'top5_mv', 'top10_mv',
            'num_queries_without_gt_mv', 'mAP_mv_cbgm', 'top1_mv_cbgm',
            'top5_mv_cbgm', 'top10_mv_cbgm'
        ]
    assert sorted(results) == sorted(f'person_search/{k}'
                                     for k in expected_keys)
    # CheckpointHook(save_best='auto') picks the first key
    assert next(iter(results)) == 'person_search/mAP'
    for key in expected_keys:
        if key.startswith(('mAP', 'top', 'det_recall')) or key == 'det_AP':
            assert results[f'person_search/{key}'] == pytest.approx(1), key
    # labeled only: detections of the unlabeled person (one of three per
    # image, all tied at 0.9) are false positives -> precision 2/3
    assert results['person_search/det_AP_labeled'] == pytest.approx(2 / 3)
    assert results['person_search/num_queries'] == len(queries)
    assert results['person_search/num_queries_without_gt'] == 0


@pytest.mark.parametrize('protocol', ['prw', 'cuhk_sysu'])
def test_random_features_score_far_less(protocol):
    images, queries = make_scene(protocol, num_images=30, num_ids=8)
    metric = PersonSearchMetric()
    results = evaluate_metric(
        metric, protocol, images, queries,
        scene_samples(images, queries, rng=np.random.default_rng(1)))
    # detection does not depend on features
    assert results['person_search/det_recall'] == pytest.approx(1)
    assert results['person_search/mAP'] < 0.5
    assert results['person_search/mAP_cbgm'] < 0.5
    assert results['person_search/top1'] < 0.6


def test_detection_threshold_and_repeated_samples():
    images, queries = make_scene('prw')
    low = scene_samples(images, queries, score=0.4)
    metric = PersonSearchMetric(cbgm=False)
    results = evaluate_metric(metric, 'prw', images, queries, low)
    # every detection under det_score_thr: nothing detected, nothing found
    assert results['person_search/det_recall'] == 0
    assert results['person_search/mAP'] == 0
    assert 'person_search/mAP_cbgm' not in results

    samples = scene_samples(images, queries)
    metric = PersonSearchMetric()
    metric.dataset_meta = dict(protocol='prw', queries=queries)
    metric.process(None, [s.to_dict() for s in samples])
    once = metric.compute_metrics(list(metric.results))
    # distributed padding repeats samples: each one counts once
    twice = metric.compute_metrics(metric.results + metric.results[:4])
    assert once == twice


def test_query_without_gt_is_counted(tmp_path):
    images, queries = make_scene('prw')
    # an identity seen in the query's frame only
    images[0]['pids'][2] = 99
    queries.append(
        dict(
            img_name=images[0]['img_name'],
            bbox=images[0]['boxes'][2],
            person_id=99,
            cam_id=images[0]['cam_id'],
            gallery=None))
    results_file = str(tmp_path / 'search.json')
    metric = PersonSearchMetric(results_file=results_file)
    results = evaluate_metric(metric, 'prw', images, queries,
                              scene_samples(images, queries))
    assert results['person_search/num_queries'] == len(queries)
    assert results['person_search/num_queries_without_gt'] == 1
    assert results['person_search/mAP'] == pytest.approx(1)

    with open(results_file) as f:
        dumped = json.load(f)
    assert dumped['protocol'] == 'prw' and dumped['topk'] == 10
    entry = dumped['queries'][0]
    assert entry['img_name'] == queries[0]['img_name']
    assert set(entry) >= {'search', 'search_cbgm', 'bbox', 'person_id'}
    assert entry['search']['ap'] == pytest.approx(1)
    assert entry['search']['top1_correct'] is True
    top = entry['search']['matches'][0]
    assert top['correct'] and top['similarity'] == pytest.approx(0.9)
    assert top['img_name'] != entry['img_name'] and len(top['bbox']) == 4
    # the query without ground truth: AP null, every match wrong
    assert dumped['queries'][-1]['search']['ap'] is None
    assert not any(m['correct']
                   for m in dumped['queries'][-1]['search']['matches'])


def query_record(pred, cbgm=True):
    """The metric's record of one query sample with the given
    pred_instances."""
    images, queries = make_scene('prw')
    metric = PersonSearchMetric(cbgm=cbgm)
    metric.dataset_meta = dict(protocol='prw', queries=queries)
    sample = DetDataSample(
        metainfo=dict(img_name='a.jpg', sample_type='query', query_index=0))
    sample.pred_instances = pred
    metric.process(None, [sample.to_dict()])
    return metric.results[0]


def test_query_side_of_cbgm():
    boxes = torch.tensor([[0, 0, 10, 20], [30, 0, 40, 20], [50, 0, 60, 20],
                          [70, 0, 80, 20], [90, 0, 99, 20]],
                         dtype=torch.float32)
    feats = torch.eye(5, 8)
    # the model's layout: the query, then the context persons; k2 = 4 (PRW)
    record = query_record(InstanceData(bboxes=boxes, embeddings=feats))
    assert np.array_equal(record['embedding'], feats[0].numpy())
    assert np.array_equal(record['context_embeddings'], feats[:4].numpy())
    # a row repeating the query box (the forced box itself) is dropped: the
    # query node keeps the query-path embedding of row 0
    repeated = torch.cat([boxes[:1], boxes[:1], boxes[1:3]])
    record = query_record(
        InstanceData(bboxes=repeated, embeddings=torch.eye(4, 8)))
    assert np.array_equal(record['context_embeddings'],
                          torch.eye(4, 8)[[0, 2, 3]].numpy())
    # no query-image detections, or no CBGM: no query side at all
    record = query_record(InstanceData(bboxes=boxes[:1], embeddings=feats[:1]))
    assert record['context_embeddings'].shape == (0, 8)
    record = query_record(
        InstanceData(bboxes=boxes, embeddings=feats), cbgm=False)
    assert record['context_embeddings'].shape == (0, 8)


def test_cbgm_without_context_equals_plain():
    images, queries = make_scene('prw')
    samples = scene_samples(images, queries, rng=np.random.default_rng(2))
    for sample in samples[len(images):]:
        sample.pred_instances = sample.pred_instances[:1]
    results = evaluate_metric(PersonSearchMetric(), 'prw', images, queries,
                              samples)
    assert results['person_search/mAP_cbgm'] == results['person_search/mAP']
    assert results['person_search/mAP'] < 1


def test_bad_configuration_and_samples():
    with pytest.raises(ValueError, match='protocol'):
        PersonSearchMetric().dataset_meta = dict(protocol='market')
    with pytest.raises(ValueError, match='multi_view'):
        PersonSearchMetric(multi_view=True).dataset_meta = dict(
            protocol='cuhk_sysu')
    with pytest.raises(ValueError, match='topk'):
        PersonSearchMetric(topk=(0, 5))
    with pytest.raises(ValueError, match='json'):
        PersonSearchMetric(results_file='out.pkl')
    metric = PersonSearchMetric()
    with pytest.raises(ValueError, match='sample_type'):
        metric.process(None, [dict(img_name='a.jpg')])
    with pytest.raises(KeyError, match='gt_instances'):
        metric.process(None, [
            dict(
                img_name='a.jpg',
                sample_type='gallery',
                pred_instances=dict(
                    bboxes=torch.zeros(0, 4),
                    scores=torch.zeros(0),
                    embeddings=torch.zeros(0, 4)))
        ])


def test_non_finite_embeddings_and_unknown_query_are_rejected():
    images, queries = make_scene('prw')
    samples = scene_samples(images, queries)
    metric = PersonSearchMetric()
    metric.dataset_meta = dict(protocol='prw', queries=queries)
    gallery = samples[0]
    gallery.pred_instances.embeddings[0, 0] = float('nan')
    with pytest.raises(ValueError, match='non-finite'):
        metric.process(None, [gallery.to_dict()])
    metric.process(None, [s.to_dict() for s in samples[1:]])
    with pytest.raises(ValueError, match='out of range'):
        metric.compute_metrics(
            metric.results +
            [dict(metric.results[-1], query_index=len(queries))])


def test_synthetic_prw_samples_give_plausible_numbers():
    # the benchmark's inputs, small: every query has something to find,
    # boxes are detected, and the identity-structured embeddings rank far
    # above chance but not perfectly, with and without CBGM
    data = synthetic_prw_samples(
        num_queries=30, num_images=90, num_ids=25, dim=32, seed=1)
    again = synthetic_prw_samples(
        num_queries=30, num_images=90, num_ids=25, dim=32, seed=1)
    assert len(data.queries) == 30 and data.num_dets == again.num_dets
    assert all(
        torch.equal(a['pred_instances']['embeddings'],
                    b['pred_instances']['embeddings'])
        for a, b in zip(data.samples, again.samples))
    metric = PersonSearchMetric(multi_view=True)
    metric.dataset_meta = data.dataset_meta
    metric.process(None, data.samples)
    results = metric.compute_metrics(metric.results)
    assert results['det_recall'] > 0.95
    assert results['num_queries_without_gt'] == 0
    for key in ('mAP', 'mAP_cbgm', 'mAP_mv', 'mAP_mv_cbgm'):
        assert 0.1 < results[key] < 0.95, key
    assert results['mAP_cbgm'] != results['mAP']


def add_gfn_outputs(samples, rng, dim=8):
    """Random scene embeddings (every sample) and GFN filters (queries), as
    a detector with a Gallery Filter Network attaches them."""
    for sample in samples:
        sample.scene_embedding = torch.tensor(
            rng.normal(size=dim), dtype=torch.float32)
        if sample.sample_type == 'query':
            sample.gfn_filter = torch.tensor(
                rng.normal(size=(3, dim)), dtype=torch.float32)
    return samples


def hand_gfn_score(gfn_filter, scene):
    """sigmoid(cos(anchor, gate * s / |s| + offset)), one pair, in plain
    Python."""
    anchor, gate, offset = (list(map(float, row)) for row in gfn_filter)
    norm = math.sqrt(sum(float(v)**2 for v in scene))
    fused = [g * float(v) / norm + o for g, v, o in zip(gate, scene, offset)]
    cos = sum(a * f for a, f in zip(anchor, fused)) / math.sqrt(
        sum(a * a for a in anchor) * sum(f * f for f in fused))
    return 1 / (1 + math.exp(-cos))


@pytest.mark.parametrize('protocol', ['prw', 'cuhk_sysu'])
def test_gfn_numbers_equal_a_hand_written_loop(protocol):
    images, queries = make_scene(protocol, num_images=30, num_ids=8)
    rng = np.random.default_rng(3)
    samples = add_gfn_outputs(
        scene_samples(images, queries, rng=rng), rng)
    multi_view = protocol == 'prw'
    topk = (1, 5)
    metric = PersonSearchMetric(
        gfn=True, multi_view=multi_view, k1=6, k2=3, topk=topk)
    results = evaluate_metric(metric, protocol, images, queries, samples)
    results = {k.split('/')[1]: v for k, v in results.items()}

    # the literal loop's inputs: gallery samples first, then the queries
    gallery, query_samples = samples[:len(images)], samples[len(images):]
    ref_images = [
        dict(
            name=img['img_name'],
            cam=img['cam_id'],
            gt_boxes=img['boxes'],
            gt_pids=img['pids'],
            dets=img['boxes'],
            feats=s.pred_instances.embeddings.numpy())
        for img, s in zip(images, gallery)
    ]
    ref_queries = [
        dict(
            img_name=q['img_name'],
            pid=q['person_id'],
            cam=q['cam_id'],
            feat=s.pred_instances.embeddings[0].numpy(),
            context=s.pred_instances.embeddings.numpy(),
            gallery=q['gallery']) for q, s in zip(queries, query_samples)
    ]
    weights = [[
        hand_gfn_score(q.gfn_filter, g.scene_embedding) for g in gallery
    ] for q in query_samples]
    for view, view_flag in ((('', False), ('_mv', True)) if multi_view else
                            (('', False), )):
        for cbgm, k12 in (('', None), ('_cbgm', (6, 3))):
            for gfn, w in (('', None), ('_gfn', weights)):
                outcomes = reference_search(
                    ref_images,
                    ref_queries,
                    protocol,
                    view_flag,
                    k12,
                    topk=topk,
                    image_weights=w)
                valid = [o for o in outcomes if o[0] is not None]
                name = view + gfn + cbgm
                assert results[f'mAP{name}'] == pytest.approx(
                    np.mean([o[0] for o in valid]), abs=1e-6), name
                for j, k in enumerate(topk):
                    assert results[f'top{k}{name}'] == pytest.approx(
                        np.mean([o[2][j] for o in valid])), name
        # GFN only: each query's gallery images ranked by their score
        aps, top1s = [], []
        for q, query in enumerate(queries):
            if protocol == 'prw':
                pos = [
                    i for i, img in enumerate(images)
                    if img['img_name'] != query['img_name'] and not (
                        view_flag and img['cam_id'] == query['cam_id'])
                ]
                labels = [query['person_id'] in images[i]['pids'] for i in pos]
            else:
                names = [img['img_name'] for img in images]
                listed = query['gallery']
                pos, labels = [], []
                for name, box in zip(listed['img_names'], listed['bboxes']):
                    if names.index(name) not in pos:
                        pos.append(names.index(name))
                        labels.append(not np.isnan(box).any())
            if not any(labels):
                continue
            scores = [weights[q][i] for i in pos]
            aps.append(reference_average_precision(labels, scores))
            top1s.append(labels[scores.index(max(scores))])
        assert results[f'gfn_mAP{view}'] == pytest.approx(np.mean(aps))
        assert results[f'gfn_top1{view}'] == pytest.approx(np.mean(top1s))
    # not trivial: GFN changes the numbers, the search is not perfect
    assert results['mAP_gfn'] != results['mAP']
    assert results['mAP_gfn_cbgm'] != results['mAP_cbgm']
    assert 0 < results['mAP_gfn'] < 1 and 0 < results['gfn_mAP'] < 1
    assert sum(k.startswith('num_queries_without_gt') for k in results) == (
        2 if multi_view else 1)


def test_gfn_needs_scene_embeddings_and_filters():
    images, queries = make_scene('prw')
    rng = np.random.default_rng(0)
    samples = add_gfn_outputs(scene_samples(images, queries), rng)
    metric = PersonSearchMetric(gfn=True)
    metric.dataset_meta = dict(protocol='prw', queries=queries)
    gallery, query = samples[0].to_dict(), samples[-1].to_dict()
    del gallery['scene_embedding'], query['gfn_filter']
    with pytest.raises(KeyError, match="'scene_embedding'"):
        metric.process(None, [gallery])
    with pytest.raises(KeyError, match="'gfn_filter'"):
        metric.process(None, [query])
    query['gfn_filter'] = torch.zeros(8)
    with pytest.raises(ValueError, match='gfn_filter'):
        metric.process(None, [query])
    # without gfn nothing of the GFN is kept
    metric = PersonSearchMetric()
    metric.dataset_meta = dict(protocol='prw', queries=queries)
    metric.process(None, [samples[0].to_dict(), samples[-1].to_dict()])
    assert not any('gfn_filter' in r or 'scene_embedding' in r
                   for r in metric.results)
