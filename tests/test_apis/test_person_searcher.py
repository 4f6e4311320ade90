"""mmdet's inference API and mmseqnet's PersonSearcher on mmseqnet configs."""
import os
import os.path as osp
from unittest import mock

import mmcv
import numpy as np
import pytest
import torch
from mmdet.apis import inference_detector, init_detector
from mmengine.config import Config
from mmengine.runner import CheckpointLoader

from mmseqnet.apis import (Gallery, PersonSearcher, draw_search_result,
                           list_sources)
from mmseqnet.datasets import PRWDataset
from mmseqnet.evaluation.functional import cbgm
from mmseqnet.testing import REPO_ROOT
from mmseqnet.visualization import PALETTE


@pytest.fixture(scope='module')
def model():
    cfg = Config.fromfile(
        osp.join(REPO_ROOT, 'configs', 'seqnet_light_synthetic_prw.py'))
    # An untrained model: lower the score threshold so that it detects.
    cfg.model.test_cfg.rcnn.score_thr = 0.0
    return init_detector(cfg, checkpoint=None, device='cpu')


@pytest.fixture(scope='module')
def prw_test(synthetic_prw_root):
    return PRWDataset(
        data_root=synthetic_prw_root,
        test_mode=True,
        pipeline=[],
        serialize_data=False)


def test_inference_detector_gives_embeddings(model, prw_test):
    img_path = prw_test.data_list[0]['img_path']
    result = inference_detector(model, img_path)
    pred = result.pred_instances
    assert pred.bboxes.shape[1] == 4
    assert pred.embeddings.shape == (len(pred.scores), 128)
    h, w = result.ori_shape
    assert (pred.bboxes[:, 2] <= w + 1e-3).all()
    assert (pred.bboxes[:, 3] <= h + 1e-3).all()


def test_index_save_load_search_draw(model, prw_test, tmp_path):
    searcher = PersonSearcher(model, batch_size=3, score_thr=0.0)
    frames = [d['img_path'] for d in prw_test.data_list
              if d['sample_type'] == 'gallery'][:5]
    gallery = searcher.index(frames, show_progress=False)
    assert gallery.sources == frames
    assert len(gallery) == len(gallery.scores) == len(gallery.image_ids)
    assert np.all(np.diff(gallery.image_ids) >= 0)

    path = str(tmp_path / 'gallery.npz')
    gallery.save(path)
    loaded = Gallery.load(path)
    assert loaded.sources == gallery.sources
    np.testing.assert_array_equal(loaded.embeddings, gallery.embeddings)

    query = prw_test.metainfo['queries'][0]
    query_path = osp.join(prw_test.data_prefix['img_path'], query['img_name'])
    plain = searcher.search(loaded, query_path, query['bbox'], topk=4)
    rescored = searcher.search(
        loaded, query_path, query['bbox'], topk=4, use_cbgm=True)
    for matches in (plain, rescored):
        assert [m.rank for m in matches] == list(range(1, len(matches) + 1))
        sims = [m.similarity for m in matches]
        assert sims == sorted(sims, reverse=True)
        assert all(m.source in frames for m in matches)

    query_embedding, context = searcher.embed_query(query_path, query['bbox'])
    assert np.isclose(np.linalg.norm(query_embedding), 1.0, atol=1e-4)
    np.testing.assert_array_equal(context[0], query_embedding)

    out_file = str(tmp_path / 'result.png')
    picture = draw_search_result(
        query_path, query['bbox'], plain, out_file,
        correct=[i == 0 for i in range(len(plain))], tile_height=64)
    assert picture.shape[0] == 64 + 40 and picture.shape[2] == 3
    np.testing.assert_array_equal(
        picture, mmcv.imread(out_file, channel_order='rgb'))
    assert tuple(picture[0, 0]) == PALETTE.query


def test_list_sources_expands_folders(prw_test, tmp_path):
    folder = prw_test.data_prefix['img_path']
    sources = list_sources(folder)
    assert sources == sorted(sources) and len(sources) == len(
        [n for n in os.listdir(folder) if n.endswith('.jpg')])
    with pytest.raises(FileNotFoundError, match='not an image'):
        list_sources(str(tmp_path / 'missing'))


@pytest.mark.parametrize('config, k1, k2', [('seqnet_cuhk.py', 10, 3),
                                            ('seqnet_prw.py', 30, 4)])
def test_cbgm_settings_from_the_config(config, k1, k2):
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs', config))
    cfg.model.backbone.init_cfg = None
    searcher = PersonSearcher.from_config(cfg)
    assert (searcher.k1, searcher.k2, searcher.score_thr) == (k1, k2, 0.5)
    searcher = PersonSearcher(searcher.model, k1=5, k2=2, score_thr=0.1)
    assert (searcher.k1, searcher.k2, searcher.score_thr) == (5, 2, 0.1)


def test_from_config_reads_the_checkpoint_once(model, tmp_path):
    checkpoint = str(tmp_path / 'model.pth')
    state = {k: v + 1 if v.is_floating_point() else v
             for k, v in model.state_dict().items()}
    torch.save({'state_dict': state,
                'meta': {'dataset_meta': {'CLASSES': ('person', )}}},
               checkpoint)
    with mock.patch.object(
            CheckpointLoader,
            'load_checkpoint',
            wraps=CheckpointLoader.load_checkpoint) as loader:
        searcher = PersonSearcher.from_config(
            osp.join(REPO_ROOT, 'configs', 'seqnet_light_synthetic_prw.py'),
            checkpoint)
    assert loader.call_count == 1
    loaded = searcher.model.state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in state.items())
    assert searcher.model.dataset_meta == {'classes': ('person', )}


def test_rank_is_the_one_ranking(model):
    searcher = PersonSearcher(model, k1=3, k2=2)
    rng = np.random.default_rng(0)
    embeddings = rng.standard_normal((12, 8)).astype(np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    gallery = Gallery(
        sources=['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg'],
        image_ids=np.repeat(np.arange(4), 3),
        bboxes=rng.uniform(0, 100, (12, 4)).astype(np.float32),
        scores=np.ones(12, np.float32),
        embeddings=embeddings)
    query, context = embeddings[4], embeddings[[4, 0, 9]]

    plain = searcher.rank(gallery, query, context, topk=5)
    np.testing.assert_allclose(plain.similarities, embeddings @ query)
    assert [m.similarity for m in plain.matches] == sorted(
        plain.similarities.tolist(), reverse=True)[:5]
    assert plain.matches[0].source == 'b.jpg'
    assert plain.matches[0].bbox == gallery.bboxes[4].tolist()

    rescored = searcher.rank(gallery, query, context, topk=12, use_cbgm=True)
    expected = cbgm(embeddings @ query, gallery.image_ids, embeddings,
                    context, k1=3, k2=2)
    np.testing.assert_allclose(rescored.similarities, expected)
    assert [m.rank for m in rescored.matches] == list(range(1, 13))
    with pytest.raises(ValueError, match='CBGM needs the query context'):
        searcher.rank(gallery, query, use_cbgm=True)


def test_rank_with_gfn_weights_whole_images(model, tmp_path):
    searcher = PersonSearcher(model, k1=3, k2=2)
    rng = np.random.default_rng(1)
    embeddings = rng.standard_normal((12, 8)).astype(np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    image_ids = np.repeat(np.arange(4), 3)
    gallery = Gallery(
        sources=['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg'],
        image_ids=image_ids,
        bboxes=rng.uniform(0, 100, (12, 4)).astype(np.float32),
        scores=np.ones(12, np.float32),
        embeddings=embeddings,
        scene_embeddings=rng.standard_normal((4, 8)).astype(np.float32))
    query, context = embeddings[4], embeddings[[4, 0, 9]]
    gfn_filter = rng.standard_normal((3, 8)).astype(np.float32)

    # By hand: GFN's combined score sigmoid(cos(anchor, gate * s/|s| +
    # offset)) per image, times every similarity of that image.
    anchor, gate, offset = gfn_filter.astype(np.float64)
    scores = []
    for scene in gallery.scene_embeddings.astype(np.float64):
        fused = gate * scene / np.linalg.norm(scene) + offset
        cos = anchor @ fused / np.linalg.norm(anchor) / np.linalg.norm(fused)
        scores.append(1 / (1 + np.exp(-cos)))
    weights = np.float32(scores)[image_ids]
    plain = embeddings @ query
    ranked = searcher.rank(gallery, query, context, topk=12,
                           gfn_filter=gfn_filter)
    np.testing.assert_allclose(ranked.similarities, plain * weights,
                               rtol=1e-6)
    assert [m.similarity for m in ranked.matches] == sorted(
        ranked.similarities.tolist(), reverse=True)

    # With CBGM: CBGM re-scores the weighted ranking; the values it writes
    # keep their image's factor, as the metric's GFN + CBGM does.
    both = searcher.rank(gallery, query, context, topk=12, use_cbgm=True,
                         gfn_filter=gfn_filter)
    unweighted = cbgm(plain * weights, image_ids, embeddings, context, k1=3,
                      k2=2)
    changed = unweighted != plain * weights
    expected = np.where(changed, unweighted * weights, plain * weights)
    np.testing.assert_allclose(both.similarities, expected, rtol=1e-6)
    assert changed.any()

    # The scene embeddings travel with the saved gallery; no GFN, no key.
    path = str(tmp_path / 'gfn.npz')
    gallery.save(path)
    np.testing.assert_array_equal(
        Gallery.load(path).scene_embeddings, gallery.scene_embeddings)
    gallery.scene_embeddings = None
    gallery.save(path)
    assert Gallery.load(path).scene_embeddings is None
    with pytest.raises(ValueError, match='scene embeddings in the gallery'):
        searcher.rank(gallery, query, gfn_filter=gfn_filter)


def test_search_with_gfn_on_a_seqnext_model(prw_test, tmp_path):
    cfg = Config.fromfile(
        osp.join(REPO_ROOT, 'configs', 'seqnext', 'seqnext_gfn_prw_narrow.py'))
    cfg.model.test_cfg.rcnn.score_thr = 0.0
    torch.manual_seed(0)
    searcher = PersonSearcher(
        init_detector(cfg, checkpoint=None, device='cpu'), score_thr=0.0)
    frames = [d['img_path'] for d in prw_test.data_list
              if d['sample_type'] == 'gallery'][:2]
    gallery = searcher.index(frames, show_progress=False)
    assert gallery.scene_embeddings.shape == (2, 2048)
    query = prw_test.metainfo['queries'][0]
    query_path = osp.join(prw_test.data_prefix['img_path'], query['img_name'])
    query_emb, context, gfn_filter = searcher.embed_query(
        query_path, query['bbox'], return_gfn_filter=True)
    assert gfn_filter.shape == (3, 2048)
    plain = searcher.rank(gallery, query_emb, context, topk=len(gallery))
    weighted = searcher.rank(
        gallery, query_emb, context, topk=len(gallery), gfn_filter=gfn_filter)
    # One factor in (0, 1) per gallery image.
    ratio = weighted.similarities / plain.similarities
    for image in range(2):
        in_image = ratio[gallery.image_ids == image]
        assert np.all((in_image > 0) & (in_image < 1))
        np.testing.assert_allclose(in_image, in_image[0], rtol=1e-5)
    matches = searcher.search(
        gallery, query_path, query['bbox'], topk=3, use_gfn=True)
    assert [m.similarity for m in matches] == sorted(
        weighted.similarities.tolist(), reverse=True)[:3]
