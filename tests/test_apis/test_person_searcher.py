"""mmdet's inference API and mmseqnet's PersonSearcher on an mmseqnet config."""
import os
import os.path as osp

import numpy as np
import pytest
from mmdet.apis import inference_detector, init_detector
from mmengine.config import Config

from mmseqnet.apis import (Gallery, PersonSearcher, draw_search_result,
                           list_sources)
from mmseqnet.datasets import PRWDataset

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def model():
    cfg = Config.fromfile(
        osp.join(ROOT, 'configs', 'seqnet_light_synthetic_prw.py'))
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

    out_file = str(tmp_path / 'result.jpg')
    picture = draw_search_result(
        query_path, query['bbox'], plain, out_file,
        correct=[i == 0 for i in range(len(plain))])
    assert osp.isfile(out_file) and picture.ndim == 3


def test_list_sources_expands_folders(prw_test, tmp_path):
    folder = prw_test.data_prefix['img_path']
    sources = list_sources(folder)
    assert sources == sorted(sources) and len(sources) == len(
        [n for n in os.listdir(folder) if n.endswith('.jpg')])
    with pytest.raises(FileNotFoundError, match='not an image'):
        list_sources(str(tmp_path / 'missing'))
