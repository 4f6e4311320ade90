"""tools/search.py and tools/analysis_tools/browse_dataset.py end to end."""
import os.path as osp
import sys
from pathlib import Path

import cv2
import mmcv
import numpy as np
import pytest
import torch
from mmdet.apis import init_detector

from mmseqnet.testing import REPO_ROOT, load_tool
from mmseqnet.visualization import PALETTE, person_id_color

LIGHT_CONFIG = str(REPO_ROOT / 'configs' / 'seqnet_light_synthetic_prw.py')


def test_search_tool_on_a_video(synthetic_prw_root, tmp_path, monkeypatch,
                                capsys):
    torch.manual_seed(0)
    model = init_detector(LIGHT_CONFIG, checkpoint=None, device='cpu')
    model.init_weights()
    checkpoint = str(tmp_path / 'light.pth')
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    frames = sorted(Path(synthetic_prw_root, 'frames').glob('*.jpg'))[:3]
    first = mmcv.imread(str(frames[0]))
    video = str(tmp_path / 'gallery.mp4')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'mp4v'), 5,
                             first.shape[1::-1])
    for frame in frames:
        writer.write(mmcv.imresize(mmcv.imread(str(frame)),
                                   first.shape[1::-1]))
    writer.release()

    tool = load_tool('search.py')
    out, out_video = str(tmp_path / 'result.jpg'), str(tmp_path / 'ann.mp4')
    cache = str(tmp_path / 'gallery')
    query = [
        'search.py', LIGHT_CONFIG, checkpoint, '--query',
        str(frames[0]), '--query-box', '50', '40', '110', '200', '--topk',
        '3', '--out', out
    ]
    monkeypatch.setattr(sys, 'argv', query + [
        '--gallery', video, '--gallery-cache', cache, '--out-video',
        out_video, '--batch-size', '2'
    ])
    tool.main()
    printed = capsys.readouterr().out
    assert 'Picture:' in printed and 'Annotated video:' in printed
    assert osp.isfile(out)
    annotated = mmcv.VideoReader(out_video)
    assert len(annotated) == 3
    assert annotated[0].shape == first.shape

    # The gallery directory alone, ranked through a faiss index built and
    # saved beside it: the same matches.
    pytest.importorskip('faiss')
    index = osp.join(cache, 'index.faiss')
    monkeypatch.setattr(sys, 'argv',
                        query + ['--gallery-cache', cache, '--index', index])
    tool.main()
    with_index = capsys.readouterr().out
    assert 'Flat index of' in with_index and osp.isfile(index)
    assert matches_printed(with_index) == matches_printed(printed)
    tool.main()
    assert 'Loaded the Flat index' in capsys.readouterr().out


def matches_printed(printed: str) -> list:
    """The lines of the tool's top matches."""
    lines = printed.split('Top 3 matches:')[1].strip().splitlines()
    return lines[:3]


def test_browse_dataset_draws_ids(synthetic_prw_root, tmp_path, monkeypatch):
    tool = load_tool('analysis_tools/browse_dataset.py')
    out_dir = tmp_path / 'browse'
    monkeypatch.setattr(sys, 'argv', [
        'browse_dataset.py',
        str(REPO_ROOT / 'configs/_base_/datasets/synthetic_prw.py'),
        '--split', 'test', '--output-dir',
        str(out_dir), '--max-images', '2', '--cfg-options',
        f'test_dataloader.dataset.data_root={synthetic_prw_root}'
    ])
    tool.main()
    assert len(list(out_dir.glob('*.jpg'))) == 2

    from mmdet.registry import DATASETS
    dataset = DATASETS.build(
        dict(
            type='PRWDataset',
            data_root=synthetic_prw_root,
            test_mode=True,
            pipeline=[]))
    item = dataset.get_data_info(0)
    picture = tool.draw_item(item, tool.PersonSearchVisualizer(name='b'))
    inst = next(i for i in item['instances'] if i['person_id'] >= 0)
    x1, y1, x2, y2 = (int(round(v)) for v in inst['bbox'])
    left_edge = picture[(y1 + y2) // 2, x1].astype(int)
    assert np.abs(left_edge - person_id_color(inst['person_id'])).max() < 2
    assert PALETTE.title in {tuple(c) for c in picture[2, :40]}
