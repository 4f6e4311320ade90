"""The search page: its HTTP search equals PersonSearcher.search, and what
it tells about each match."""
import dataclasses
import os.path as osp
import socket
import sys

import cv2
import mmcv
import numpy as np
import pytest
import torch
from mmengine.config import Config

from mmseqnet.apis import PersonSearcher, draw_search_result, list_sources
from mmseqnet.apps import (build_search_page, match_record,
                           source_camera_and_time)
from mmseqnet.apps.search_page import _SearchHandlers
from mmseqnet.testing import tiny_seqnet_cfg

QUERY_BOX = [200.0, 60.0, 260.0, 220.0]


@pytest.fixture(scope='module')
def searcher():
    """The tiny SeqNet, random init, keeping every detection."""
    torch.manual_seed(0)
    pipeline = [
        dict(type='LoadCheckedImageFromFile'),
        dict(type='Resize', scale=(320, 180), keep_ratio=True),
        dict(type='PackPersonSearchInputs')
    ]
    cfg = Config(
        dict(
            model=tiny_seqnet_cfg(),
            default_scope='mmdet',
            test_dataloader=dict(dataset=dict(pipeline=pipeline))))
    return PersonSearcher.from_config(cfg, score_thr=0.0)


@pytest.fixture(scope='module')
def frames(synthetic_prw_root):
    """The synthetic PRW frames of cameras 1-5 (one size)."""
    frames = list_sources(osp.join(synthetic_prw_root, 'frames'))
    return [f for f in frames if not osp.basename(f).startswith('c6')]


@pytest.fixture(scope='module')
def gallery(searcher, frames):
    return searcher.index(frames[:4], show_progress=False)


@pytest.fixture(scope='module')
def page_url(searcher, gallery):
    """The page served on 127.0.0.1 at a free port, without telemetry; two
    of the four gallery images listed, the others to be typed."""
    pytest.importorskip('gradio')
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    page = build_search_page(searcher, gallery, max_listed_sources=2)
    _, url, share_url = page.launch(
        server_name='127.0.0.1',
        server_port=port,
        prevent_thread_lock=True,
        share=False,
        quiet=True)
    assert share_url is None
    yield url
    page.close()


@pytest.fixture(scope='module')
def client(page_url, tmp_path_factory):
    gradio_client = pytest.importorskip('gradio_client')
    return gradio_client.Client(
        page_url,
        verbose=False,
        analytics_enabled=False,
        download_files=str(tmp_path_factory.mktemp('downloads')))


def check_result(result, searcher, gallery, query, use_cbgm, topk):
    """The page's crops, picture and records are those of the API."""
    crops, picture, records = result
    expected = searcher.search(
        gallery, query, QUERY_BOX, topk=topk, use_cbgm=use_cbgm)
    assert len(expected) == topk
    # Floats from another thread of the same process: allow a last bit.
    np.testing.assert_allclose([r.pop('similarity') for r in records],
                               [m.similarity for m in expected],
                               rtol=1e-6)
    for record, match in zip(records, expected):
        wanted = match_record(match)
        del wanted['similarity']
        assert record == wanted
    assert len(crops) == topk
    for crop, match in zip(crops, expected):
        np.testing.assert_array_equal(
            mmcv.imread(crop['image'], channel_order='rgb'),
            mmcv.bgr2rgb(
                mmcv.imcrop(mmcv.imread(match.source), np.array(match.bbox))))
        camera, time = source_camera_and_time(match.source)
        assert crop['caption'] == (f'#{match.rank} {match.similarity:.3f} · '
                                   f'{camera} · {time}')
    np.testing.assert_array_equal(
        mmcv.imread(picture, channel_order='rgb'),
        draw_search_result(query, QUERY_BOX, expected))


@pytest.mark.parametrize('listed, use_cbgm', [(True, False), (False, True)])
def test_search_a_gallery_image(client, searcher, gallery, listed, use_cbgm):
    source = gallery.sources[1 if listed else 3]
    result = client.predict(
        source, None, *QUERY_BOX, use_cbgm, False, 5, api_name='/search')
    check_result(result, searcher, gallery, source, use_cbgm, 5)


def test_search_an_uploaded_image(client, searcher, gallery, frames):
    from gradio_client import handle_file
    query = frames[5]
    assert query not in gallery.sources
    result = client.predict(
        None, handle_file(query), *QUERY_BOX, False, False, 3,
        api_name='/search')
    check_result(result, searcher, gallery, query, False, 3)


@pytest.mark.parametrize('source, box, gfn, message', [
    (None, QUERY_BOX, False, 'Pick a gallery image or upload'),
    ('elsewhere.jpg', QUERY_BOX, False, 'is not an image of this gallery'),
    ('gallery', [200, 60, None, 220], False, r'Type the query box'),
    ('gallery', [500, 60, 560, 220], False, r'empty or outside its image'),
    ('gallery', QUERY_BOX, True, 'Gallery Filter Network'),
])
def test_search_errors_reach_the_caller(client, gallery, source, box, gfn,
                                        message):
    from gradio_client.exceptions import AppError
    source = gallery.sources[0] if source == 'gallery' else source
    with pytest.raises(AppError, match=message):
        client.predict(
            source, None, *box, False, gfn, 5, api_name='/search')


def test_camera_and_time_from_the_source_name(tmp_path):
    assert source_camera_and_time('/data/frames/c3s2_012345.jpg') == (
        'c3', 'c3s2_012345.jpg')
    assert source_camera_and_time('0002_c1s1_000451_03.jpg')[0] == 'c1'
    assert source_camera_and_time('0005_c2_f0046985.jpg')[0] == 'c2'
    assert source_camera_and_time('/cuhk/Image/SSM/s15533.jpg') == (
        '-', 's15533.jpg')
    video = str(tmp_path / 'gate_east.mp4')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'mp4v'), 8,
                             (64, 48))
    for _ in range(3):
        writer.write(np.zeros((48, 64, 3), np.uint8))
    writer.release()
    assert source_camera_and_time(f'{video}#frame=20') == (
        'gate_east', '2.50 s (frame 20)')


def test_search_through_an_index(searcher, gallery, monkeypatch):
    pytest.importorskip('faiss')
    from mmseqnet.apis import GalleryIndex
    index = GalleryIndex().build(gallery.embeddings)
    calls = []
    search = index.search
    monkeypatch.setattr(index, 'search',
                        lambda *args: calls.append(args) or search(*args))
    handlers = _SearchHandlers(searcher, gallery, index, RuntimeError)
    source = gallery.sources[2]
    for use_cbgm in (False, True):
        _, _, records = handlers.search(source, None, *QUERY_BOX, use_cbgm,
                                        False, 4)
        expected = searcher.search(
            gallery, source, QUERY_BOX, topk=4, use_cbgm=use_cbgm,
            index=index)
        assert records == [match_record(m) for m in expected]
    assert len(calls) == 4
    assert 'faiss index Flat' in handlers.summary()


def test_gfn_toggle_only_with_scene_embeddings(searcher, gallery):
    gr = pytest.importorskip('gradio')
    scenes = np.zeros((len(gallery.sources), 32), np.float32)
    for shown in (False, True):
        page = build_search_page(
            searcher,
            dataclasses.replace(
                gallery, scene_embeddings=scenes if shown else None))
        toggles = [
            block for block in page.blocks.values()
            if isinstance(block, gr.Checkbox) and block.label == 'GFN'
        ]
        assert len(toggles) == 1 and toggles[0].visible is shown


def test_two_clicks_make_the_box(searcher, gallery):
    handlers = _SearchHandlers(searcher, gallery, None, RuntimeError)
    first = handlers.click_corner(0, None, None, None, None, (90, 40))
    assert first == (90.0, 40.0, None, None, 1)
    # The second corner may be above or left of the first.
    assert handlers.click_corner(1, 90.0, 40.0, None, None, (30, 120)) == (
        30.0, 40.0, 90.0, 120.0, 0)


def test_missing_gradio_says_how_to_install(searcher, gallery, monkeypatch):
    monkeypatch.setitem(sys.modules, 'gradio', None)
    with pytest.raises(ImportError, match=r'pip install mmseqnet\[web\]'):
        build_search_page(searcher, gallery)
