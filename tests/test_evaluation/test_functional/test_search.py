import numpy as np
import pytest

import mmseqnet.evaluation.functional.search as search_module
from mmseqnet.evaluation.functional import (QueryGalleries,
                                            cuhk_sysu_galleries, eval_search,
                                            prw_galleries, search_iou_thr,
                                            summarize_search)
from mmseqnet.evaluation.functional.search import eval_search_variants
from .test_cbgm import brute_force_matching
from .test_detection import literal_iou
from .test_ranking import reference_average_precision


def one_query(masks, count_gt, pos_image, pos_bboxes):
    return QueryGalleries(
        masks=np.array([masks], bool),
        count_gt=np.array([count_gt]),
        pos_query=np.zeros(len(pos_image), np.int64),
        pos_image=np.array(pos_image, np.int64),
        pos_bboxes=np.array(pos_bboxes, np.float64).reshape(-1, 4))


def test_iou_threshold_rule():
    # large person: 0.5; 10x10 person: 100 / 400
    assert search_iou_thr(np.array([0, 0, 100, 100])) == 0.5
    assert search_iou_thr(np.array([5, 5, 15, 15])) == pytest.approx(0.25)


def test_search_by_hand():
    """Known AP / top-k by construction; 1-d features make the
    similarities the feature values."""
    g0, g3 = [100, 100, 200, 300], [0, 0, 10, 10]
    det_image_ids = np.array([0, 0, 1, 3, 3])
    det_bboxes = np.array(
        [
            g0,  # a: exact hit in image 0, sim 0.6
            [300, 300, 350, 400],  # b: other person, sim 0.9
            [0, 0, 50, 50],  # c: negative image, sim 0.8
            [0, 0, 10, 3],  # d: IoU 0.3 >= 0.25 (small person), sim 0.7
            g3,  # e: IoU 1 but less similar than d: not the first match
        ],
        np.float32)
    det_feats = np.array([[0.6], [0.9], [0.8], [0.7], [0.5]], np.float32)
    # image 2 holds the query person but has no detection: it still counts
    galleries = one_query([True] * 4, 3, [0, 2, 3], [g0, [0, 0, 9, 9], g3])
    result = eval_search(
        np.ones((1, 1), np.float32),
        det_image_ids,
        det_bboxes,
        det_feats,
        galleries,
        topk=(1, 2, 3, 5, 10),
        num_matches=10)
    # ranking b c d(TP) a(TP) e: AP = (1/3 + 2/4) / 2 scaled by found 2 /
    # count_gt 3
    assert result.found.tolist() == [2]
    assert result.ap[0] == pytest.approx((1 / 3 + 2 / 4) / 2 * 2 / 3)
    assert result.hits.tolist() == [[False, False, True, True, True]]
    # fewer detections than matches: padded
    assert result.match_inds.tolist() == [[1, 2, 3, 0, 4, -1, -1, -1, -1, -1]]
    assert result.match_correct[0, :5].tolist() == [
        False, False, True, True, False
    ]
    assert np.isnan(result.match_sims[0, 5:]).all()


def test_search_iou_threshold_for_large_person():
    gt = [0, 0, 100, 100]
    det = [[0, 0, 100, 45]]  # IoU 0.45 < 0.5
    result = eval_search(
        np.ones((1, 1), np.float32), np.array([0]), np.array(det),
        np.ones((1, 1), np.float32), one_query([True], 1, [0], [gt]))
    assert result.found.tolist() == [0] and result.ap.tolist() == [0.0]
    assert not result.hits.any()


def test_search_gallery_mask_and_empty_gallery():
    det_feats = np.array([[0.9], [0.1]], np.float32)
    boxes = np.array([[0, 0, 10, 10]] * 2, np.float32)
    # the more similar detection lies in an image outside the gallery
    result = eval_search(
        np.ones((1, 1), np.float32), np.array([0, 1]), boxes, det_feats,
        one_query([False, True], 1, [1], [[0, 0, 10, 10]]))
    assert result.hits.all() and result.ap.tolist() == [1.0]
    # nothing in the gallery: no crash, AP 0
    result = eval_search(
        np.ones((1, 1), np.float32),
        np.zeros(0, np.int64),
        np.zeros((0, 4)),
        np.zeros((0, 1), np.float32),
        one_query([True], 1, [0], [[0, 0, 10, 10]]),
        num_matches=3)
    assert result.ap.tolist() == [0.0] and not result.hits.any()
    assert result.match_inds.tolist() == [[-1, -1, -1]]


def test_search_query_without_gt_is_reported_not_averaged():
    det_feats = np.array([[0.9]], np.float32)
    galleries = QueryGalleries(
        masks=np.ones((2, 1), bool),
        count_gt=np.array([1, 0]),
        pos_query=np.array([0]),
        pos_image=np.array([0]),
        pos_bboxes=np.array([[0, 0, 10, 10]], np.float64))
    result = eval_search(
        np.ones((2, 1), np.float32), np.array([0]),
        np.array([[0, 0, 10, 10]], np.float32), det_feats, galleries)
    assert result.ap[0] == 1.0 and np.isnan(result.ap[1])
    summary = summarize_search(result)
    assert summary == dict(
        mAP=1.0,
        top1=1.0,
        top5=1.0,
        top10=1.0,
        num_queries=2,
        num_queries_without_gt=1)
    only_missing = result._replace(count_gt=np.array([0, 0]))
    assert summarize_search(only_missing)['mAP'] == 0.0


def test_search_ties_are_ranked_in_gallery_order():
    box = [0, 0, 10, 10]
    det_feats = np.array([[0.5], [0.5], [0.5]], np.float32)
    # image 0: negative; image 1: two identical detections of the person
    det_image_ids = np.array([0, 1, 1])
    det_bboxes = np.array([[50, 50, 60, 60], box, box], np.float32)
    galleries = one_query([True, True], 1, [1], [box])
    result = eval_search(
        np.ones((1, 1), np.float32),
        det_image_ids,
        det_bboxes,
        det_feats,
        galleries,
        topk=(1, 2),
        num_matches=3)
    # the first of the tied detections of image 1 is the true positive, and
    # the tied negative of image 0 ranks first
    assert result.match_inds.tolist() == [[0, 1, 2]]
    assert result.match_correct.tolist() == [[False, True, False]]
    assert result.hits.tolist() == [[False, True]]
    # AP with ties: the three tied entries form one threshold, 1/3
    assert result.ap[0] == pytest.approx(1 / 3)


def test_search_duplicate_listed_positive_halves_ap():
    names = ['q.jpg', 'a.jpg']
    gallery = dict(
        img_names=['a.jpg', 'a.jpg'],
        bboxes=np.array([[0, 0, 10, 10]] * 2, np.float32))
    galleries = cuhk_sysu_galleries(names, ['q.jpg'], [gallery])
    result = eval_search(
        np.ones((1, 1), np.float32), np.array([1]),
        np.array([[0, 0, 10, 10]], np.float32), np.ones((1, 1), np.float32),
        galleries)
    assert result.count_gt.tolist() == [2] and result.found.tolist() == [1]
    assert result.ap.tolist() == [0.5] and result.hits.all()


def test_search_with_cbgm_rescoring():
    # two gallery images with one detection each; the query prefers image
    # 1's negative, CBGM's context (an identity matrix) lifts image 0's
    # detection to its largest matched weight
    det_feats = np.array([[0.4, 0.95], [0.5, 0.0]], np.float32)
    det_bboxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10]], np.float32)
    galleries = one_query([True, True], 1, [0], [[0, 0, 10, 10]])
    query = np.array([[1.0, 0.0]], np.float32)
    plain = eval_search(query, np.array([0, 1]), det_bboxes, det_feats,
                        galleries)
    assert plain.hits[0, 0] == False  # noqa: E712
    context = [np.eye(2, dtype=np.float32)]
    # image 0: query side (2 rows) > detections (1): the detection matches
    # row 1 (0.95), the query is unmatched, nothing changes
    rescored = eval_search(
        query,
        np.array([0, 1]),
        det_bboxes,
        det_feats,
        galleries,
        context_feats=context,
        k1=2,
        k2=2)
    assert rescored.hits[0, 0] == False  # noqa: E712
    # a second person in image 0 takes the context row: the query matches
    # its true detection
    det_feats = np.array([[0.4, 0.0], [0.0, 0.95], [0.5, 0.0]], np.float32)
    det_bboxes = np.array([[0, 0, 10, 10], [50, 50, 60, 60], [0, 0, 10, 10]],
                          np.float32)
    rescored = eval_search(
        query,
        np.array([0, 0, 1]),
        det_bboxes,
        det_feats,
        galleries,
        context_feats=context,
        k1=3,
        k2=2,
        num_matches=3)
    # image 0: query->det0 (0.4) + context->det1 (0.95): det0 becomes 0.95
    assert rescored.match_inds[0].tolist() == [0, 2, 1]
    assert rescored.match_sims[0, 0] == pytest.approx(0.95)
    assert rescored.hits[0, 0] and rescored.ap[0] == 1.0


def test_search_rejects_inconsistent_inputs():
    galleries = one_query([True], 1, [0], [[0, 0, 1, 1]])
    ones = np.ones((1, 2), np.float32)
    with pytest.raises(ValueError, match='det_feats'):
        eval_search(ones, np.array([0]), np.zeros((1, 4)),
                    np.ones((1, 3), np.float32), galleries)
    with pytest.raises(ValueError, match='query_feats'):
        eval_search(
            np.ones((2, 2), np.float32), np.array([0]), np.zeros((1, 4)), ones,
            galleries)
    with pytest.raises(ValueError, match='det_image_ids'):
        eval_search(ones, np.array([3]), np.zeros((1, 4)), ones, galleries)
    with pytest.raises(ValueError, match='positive image'):
        eval_search(ones, np.array([0]), np.zeros((1, 4)), ones,
                    galleries._replace(masks=np.array([[False]])))


# ---------------------------------------------------------------------------
# An independent, literal loop implementation of the protocol, checked
# against the vectorised one on random scenes.
# ---------------------------------------------------------------------------


def reference_search(images,
                     queries,
                     protocol,
                     multi_view=False,
                     k12=None,
                     topk=(1, 5, 10),
                     image_weights=None):
    """Per query: (AP or None without ground truth, found, [hit@k]).

    ``image_weights[q][pos]`` multiplies query q's similarities in image
    pos (GFN), CBGM's re-scored ones included."""
    by_name = {img['name']: pos for pos, img in enumerate(images)}
    outcomes = []
    for q, query in enumerate(queries):

        def weight(pos, q=q):
            return 1.0 if image_weights is None else image_weights[q][pos]

        # the gallery: (image position, ground-truth box or None) in order
        gallery, count_gt = [], 0
        if protocol == 'prw':
            for pos, img in enumerate(images):
                if img['name'] == query['img_name']:
                    continue
                if multi_view and img['cam'] == query['cam']:
                    continue
                gt = None
                for box, pid in zip(img['gt_boxes'], img['gt_pids']):
                    if pid == query['pid']:
                        gt = box
                        break
                if gt is not None:
                    count_gt += 1
                gallery.append((pos, gt))
        else:
            listed = query['gallery']
            seen = set()
            for name, box in zip(listed['img_names'], listed['bboxes']):
                has_box = not np.isnan(box).any()
                count_gt += has_box
                if name in seen:
                    continue
                seen.add(name)
                gallery.append((by_name[name], box if has_box else None))
            if listed['all_test_images']:
                for pos, img in enumerate(images):
                    if img['name'] not in seen and \
                            img['name'] != query['img_name']:
                        gallery.append((pos, None))
        sims = {
            pos: [
                np.dot(f, query['feat']) * weight(pos)
                for f in images[pos]['feats']
            ]
            for pos, _ in gallery
        }
        if k12 is not None:
            k1, k2 = k12
            flat = sorted(((-s, pos, j) for pos in sims
                           for j, s in enumerate(sims[pos])))[:k1]
            for pos in {pos for _, pos, _ in flat}:
                feats = images[pos]['feats']
                ctx = query['context'][:k2]
                if len(ctx) == 0:
                    continue
                weights = np.array([[np.dot(c, f) for f in feats]
                                    for c in ctx])
                pairs = brute_force_matching(weights)
                best = max(weights[i, j] for i, j in pairs)
                for i, j in pairs:
                    if i == 0:
                        sims[pos][j] = best * weight(pos)
        entries, found = [], 0
        for pos, gt in gallery:
            order = sorted(
                range(len(sims[pos])), key=lambda j: (-sims[pos][j], j))
            labels = [0] * len(order)
            if gt is not None:
                w, h = gt[2] - gt[0], gt[3] - gt[1]
                thr = min(0.5, w * h / ((w + 10) * (h + 10)))
                for j in order:
                    if literal_iou(images[pos]['dets'][j], gt) >= thr:
                        labels[j] = 1
                        found += 1
                        break
            entries += [(-sims[pos][j], pos, j, labels[j])
                        for j in range(len(order))]
        entries.sort()
        labels = [e[3] for e in entries]
        scores = [-e[0] for e in entries]
        if count_gt == 0:
            ap = None
        elif found == 0:
            ap = 0.0
        else:
            ap = reference_average_precision(labels, scores) * found / count_gt
        outcomes.append((ap, found, [any(labels[:k]) for k in topk]))
    return outcomes


def random_scene(seed, num_images=40, num_ids=8, dim=16):
    """Images with identities, jittered detections, clutter, empty images;
    queries with context and CUHK-style lists (duplicates, the query's own
    image, negatives, gallery size -1)."""
    rng = np.random.default_rng(seed)

    def unit_normal(*shape):
        v = rng.normal(size=shape + (dim, ))
        return v / np.linalg.norm(v, axis=-1, keepdims=True)

    protos = unit_normal(num_ids)
    images = []
    for i in range(num_images):
        num_gt = int(rng.integers(1, 5))
        xy = rng.uniform(0, 300, (num_gt, 2))
        gt = np.hstack([xy, xy + rng.uniform(4, 80, (num_gt, 2))])
        pids = np.where(
            rng.random(num_gt) < 0.75, rng.integers(0, num_ids, num_gt), -1)
        dets, feats = [], []
        if rng.random() > 0.1:  # some images without detections
            for box, pid in zip(gt, pids):
                for _ in range(int(rng.integers(0, 3))):
                    dets.append(box + rng.normal(0, 3, 4))
                    base = protos[pid] if pid >= 0 else unit_normal()
                    feats.append(base + rng.normal(0, 0.25, dim))
            for _ in range(int(rng.integers(0, 3))):
                xy = rng.uniform(0, 300, 2)
                dets.append(np.r_[xy, xy + rng.uniform(4, 80, 2)])
                feats.append(unit_normal())
        images.append(
            dict(
                name=f'c{i % 3}_{i:04d}.jpg',
                cam=i % 3,
                gt_boxes=gt.astype(np.float32),
                gt_pids=pids.astype(np.int64),
                dets=np.array(dets, np.float32).reshape(-1, 4),
                feats=np.array(feats, np.float32).reshape(-1, dim)))
    queries = []
    for img in images:
        for k, pid in enumerate(img['gt_pids']):
            if pid < 0 or rng.random() < 0.6:
                continue
            context = [protos[pid]] + [
                protos[p] if p >= 0 else unit_normal()
                for p in np.delete(img['gt_pids'], k)
            ]
            context = np.array(context) + rng.normal(0, 0.3,
                                                     (len(context), dim))
            holders = [
                other for other in images
                if other is not img and pid in other['gt_pids']
            ]
            entries = [(other['name'],
                        other['gt_boxes'][list(other['gt_pids']).index(pid)])
                       for other in holders]
            if entries and rng.random() < 0.3:
                entries.append(entries[0])  # duplicate positive
            if rng.random() < 0.2:
                entries.append((img['name'], img['gt_boxes'][k]))
            others = [o for o in images if pid not in o['gt_pids']]
            for o in rng.choice(
                    len(others), min(10, len(others)), replace=False):
                entries.append((others[o]['name'], [np.nan] * 4))
            queries.append(
                dict(
                    img_name=img['name'],
                    pid=int(pid),
                    cam=img['cam'],
                    feat=(protos[pid] + rng.normal(0, 0.3, dim)).astype(
                        np.float32),
                    context=context.astype(
                        np.float32)[:int(rng.integers(0,
                                                      len(context) + 1))],
                    gallery=dict(
                        img_names=[e[0] for e in entries],
                        bboxes=np.array([e[1] for e in entries],
                                        np.float32).reshape(-1, 4),
                        all_test_images=bool(rng.random() < 0.2))))
    return images, queries


def scene_inputs(images, queries, protocol, multi_view=False):
    """The search arrays (query feats, image ids, boxes, feats) of a
    :func:`random_scene` and its galleries."""
    names = [img['name'] for img in images]
    if protocol == 'prw':
        galleries = prw_galleries(names, [img['cam'] for img in images],
                                  [img['gt_boxes'] for img in images],
                                  [img['gt_pids'] for img in images],
                                  [q['img_name'] for q in queries],
                                  [q['pid'] for q in queries],
                                  [q['cam'] for q in queries], multi_view)
    else:
        galleries = cuhk_sysu_galleries(names,
                                        [q['img_name'] for q in queries],
                                        [q['gallery'] for q in queries])
    arrays = (np.stack([q['feat'] for q in queries]),
              np.concatenate([[i] * len(img['dets'])
                              for i, img in enumerate(images)]).astype(
                                  np.int64),
              np.concatenate([img['dets'] for img in images]),
              np.concatenate([img['feats'] for img in images]))
    return arrays, galleries


def vectorised_search(images,
                      queries,
                      protocol,
                      multi_view=False,
                      k12=None,
                      topk=(1, 5, 10)):
    arrays, galleries = scene_inputs(images, queries, protocol, multi_view)
    return eval_search(
        *arrays,
        galleries,
        topk=topk,
        context_feats=None if k12 is None else [q['context'] for q in queries],
        k1=k12[0] if k12 else 30,
        k2=k12[1] if k12 else 4,
        chunk_size=7)


def assert_equals_reference(result, expected):
    """A search result equals :func:`reference_search`'s, query by query."""
    assert len(expected) == len(result.ap) > 20
    for q, (ap, found, hits) in enumerate(expected):
        if ap is None:
            assert np.isnan(result.ap[q])
        else:
            assert result.ap[q] == pytest.approx(ap, abs=1e-6)
        assert result.found[q] == found
        assert result.hits[q].tolist() == hits


@pytest.mark.parametrize('protocol,multi_view,k12',
                         [('prw', False, None), ('prw', True, None),
                          ('prw', False, (6, 3)), ('prw', True, (6, 3)),
                          ('cuhk_sysu', False, None),
                          ('cuhk_sysu', False, (4, 2))])
def test_search_matches_reference(protocol, multi_view, k12):
    images, queries = random_scene(seed=4)
    expected = reference_search(images, queries, protocol, multi_view, k12)
    result = vectorised_search(images, queries, protocol, multi_view, k12)
    assert_equals_reference(result, expected)
    # the scene is not trivial: some hits, some misses, partial recall
    valid = ~np.isnan(result.ap)
    assert 0 < result.ap[valid].mean() < 1
    assert (result.found < result.count_gt).any()


def test_search_variants_equal_each_variant_alone():
    images, queries = random_scene(seed=5)
    arrays, _ = scene_inputs(images, queries, 'prw')
    variants = {
        suffix: scene_inputs(images, queries, 'prw', multi_view)[1]
        for suffix, multi_view in (('', False), ('_mv', True))
    }
    context = [q['context'] for q in queries]
    options = dict(topk=(1, 3), num_matches=4, k1=6, k2=3, chunk_size=5)
    together = eval_search_variants(
        *arrays, variants, context_feats=context, **options)
    assert list(together) == ['', '_cbgm', '_mv', '_mv_cbgm']
    for name, result in together.items():
        alone = eval_search(
            *arrays,
            variants[name.replace('_cbgm', '')],
            context_feats=context if name.endswith('_cbgm') else None,
            **options)
        for field in result._fields:
            assert np.array_equal(
                getattr(result, field), getattr(alone, field),
                equal_nan=True), (name, field)
    # CBGM changed something, and only CBGM results without `plain`
    assert not np.array_equal(
        together[''].match_sims, together['_cbgm'].match_sims, equal_nan=True)
    assert list(
        eval_search_variants(
            *arrays, variants, context_feats=context, plain=False,
            **options)) == ['_cbgm', '_mv_cbgm']


@pytest.mark.parametrize('protocol,multi_view,k12',
                         [('prw', False, None), ('prw', True, (6, 3)),
                          ('cuhk_sysu', False, (4, 2))])
def test_search_with_image_weights_matches_reference(protocol, multi_view,
                                                     k12):
    images, queries = random_scene(seed=6)
    weights = np.random.default_rng(0).uniform(0.27, 0.73,
                                               (len(queries), len(images)))
    expected = reference_search(
        images, queries, protocol, multi_view, k12, image_weights=weights)
    arrays, galleries = scene_inputs(images, queries, protocol, multi_view)
    options = dict(
        context_feats=None if k12 is None else [q['context'] for q in queries],
        k1=k12[0] if k12 else 30,
        k2=k12[1] if k12 else 4,
        chunk_size=7,
        plain=k12 is None)
    name = '' if k12 is None else '_cbgm'
    result = eval_search_variants(
        *arrays, {'': galleries}, image_weights=weights, **options)[name]
    unweighted = eval_search_variants(*arrays, {'': galleries},
                                      **options)[name]
    assert_equals_reference(result, expected)
    # the weights change the ranking
    assert not np.allclose(
        np.nan_to_num(result.ap), np.nan_to_num(unweighted.ap))


def test_search_rejects_bad_image_weights():
    images, queries = random_scene(seed=6)
    arrays, galleries = scene_inputs(images, queries, 'cuhk_sysu')
    for weights in (np.ones((len(queries), len(images) - 1)),
                    np.zeros((len(queries), len(images))),
                    np.full((len(queries), len(images)), np.nan)):
        with pytest.raises(ValueError, match='image_weights'):
            eval_search_variants(
                *arrays, {'': galleries}, image_weights=weights)


def test_search_rejects_non_finite_features():
    galleries = one_query([True], 1, [0], [[0, 0, 10, 10]])
    feats = np.array([[np.nan, 1.0]], np.float32)
    with pytest.raises(ValueError, match='finite'):
        eval_search(
            np.ones((1, 2), np.float32), np.array([0]), np.zeros((1, 4)),
            feats, galleries)


@pytest.mark.parametrize('protocol,multi_view', [('prw', False), ('prw', True),
                                                 ('cuhk_sysu', False)])
def test_dense_and_sparse_ranking_agree(monkeypatch, protocol, multi_view):
    """Ranking from the sorted rows of all detections less the entries
    outside the gallery equals ranking the gallery's entries alone."""
    images, queries = random_scene(seed=6)
    outcomes = []
    for dense in (True, False):
        monkeypatch.setattr(
            search_module, '_dense', lambda *args, dense=dense: dense)
        outcomes.append(
            vectorised_search(
                images, queries, protocol, multi_view, k12=(6, 3)))
    for field in outcomes[0]._fields:
        assert np.array_equal(
            getattr(outcomes[0], field),
            getattr(outcomes[1], field),
            equal_nan=True), field


def test_kth_largest_gallery_similarity_with_ties():
    rng = np.random.default_rng(3)
    # few distinct values: many ties inside and outside the galleries
    sims = rng.integers(0, 6, size=(9, 30)).astype(np.float32)
    outside = rng.random((9, 30)) < 0.4
    outside[0] = True  # an empty gallery
    outside[1, 2:] = True  # two entries
    query, rows = np.nonzero(outside)
    counter = search_module._GalleryCounter(
        np.sort(sims, axis=1),
        search_module._sorted_rows(query, sims[query, rows], len(sims)))
    for k in (1, 3, 7):
        kth = search_module._kth_largest(counter, k)
        for q in range(len(sims)):
            gallery = np.sort(sims[q][~outside[q]])[::-1]
            expected = gallery[k - 1] if len(gallery) >= k else -np.inf
            assert kth[q] == expected, (q, k)
        # the counter agrees with counting the gallery directly
        values = sims[np.arange(len(sims)), 0]
        assert counter.count(np.arange(len(sims)), values).tolist() == [
            int((sims[q][~outside[q]] >= values[q]).sum())
            for q in range(len(sims))
        ]


def test_segment_means_equal_numpy_mean_bit_for_bit():
    rng = np.random.default_rng(4)
    sizes = rng.integers(1, 300, size=200)
    values = rng.random(sizes.sum()) / rng.integers(1, 1000, sizes.sum())
    means = search_module._segment_means(values, sizes)
    starts = np.cumsum(sizes) - sizes
    assert means.tolist() == [
        float(np.mean(values[a:a + n])) for a, n in zip(starts, sizes)
    ]
