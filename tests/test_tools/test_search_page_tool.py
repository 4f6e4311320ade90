"""tools/search_page.py: opens the gallery (and its index), serves the page
on the address asked, without a share link."""
import os.path as osp
import sys

import pytest
import torch
from mmengine.config import Config

from mmseqnet.apis import PersonSearcher, list_sources
from mmseqnet.testing import load_tool, tiny_seqnet_cfg


@pytest.mark.parametrize('with_index', [False, True])
def test_serves_a_gallery_directory(synthetic_prw_root, tmp_path, monkeypatch,
                                    with_index):
    gr = pytest.importorskip('gradio')
    config = str(tmp_path / 'tiny_seqnet.py')
    pipeline = [
        dict(type='LoadCheckedImageFromFile'),
        dict(type='Resize', scale=(320, 180), keep_ratio=True),
        dict(type='PackPersonSearchInputs')
    ]
    cfg = dict(
        model=tiny_seqnet_cfg(),
        default_scope='mmdet',
        test_dataloader=dict(dataset=dict(pipeline=pipeline)))
    Config(cfg).dump(config)
    torch.manual_seed(0)
    searcher = PersonSearcher.from_config(config, score_thr=0.0)
    checkpoint = str(tmp_path / 'tiny.pth')
    torch.save({'state_dict': searcher.model.state_dict()}, checkpoint)
    frames = list_sources(osp.join(synthetic_prw_root, 'frames'))[:2]
    gallery_dir = str(tmp_path / 'gallery')
    gallery = searcher.index(frames, show_progress=False)
    gallery.save(gallery_dir)
    options = []
    if with_index:
        pytest.importorskip('faiss')
        from mmseqnet.apis import GalleryIndex
        index_file = str(tmp_path / 'gallery.faiss')
        GalleryIndex().build(gallery.embeddings).save(index_file)
        options = ['--index', index_file]

    launched = []
    monkeypatch.setattr(gr.Blocks, 'launch',
                        lambda page, **kwargs: launched.append(
                            (page, kwargs)))
    monkeypatch.setattr(sys, 'argv', [
        'search_page.py', config, checkpoint, '--gallery', gallery_dir,
        '--port', '7999', *options
    ])
    load_tool('search_page.py').main()
    (page, kwargs), = launched
    assert kwargs == dict(
        server_name='127.0.0.1', server_port=7999, share=False)
    header = next(block.value for block in page.blocks.values()
                  if isinstance(block, gr.Markdown))
    assert f'{len(frames)} images, {len(gallery)} detections' in header
    assert ('faiss index' in header) == with_index
