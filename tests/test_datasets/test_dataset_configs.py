import os
import runpy
import sys
from pathlib import Path

import cv2
import pytest
from mmdet.registry import DATASETS
from mmengine.config import Config
from mmengine.runner import Runner

import mmseqnet  # noqa: F401  (registers the datasets)
from mmseqnet.testing import REPO_ROOT

CONFIGS = REPO_ROOT / 'configs' / '_base_' / 'datasets'
BROWSE = REPO_ROOT / 'tools' / 'analysis_tools' / 'browse_dataset.py'


@pytest.mark.parametrize('name, dataset_type, k1, k2',
                         [('prw', 'PRWDataset', 30, 4),
                          ('cuhk_sysu', 'CUHKSYSUDataset', 10, 3)])
def test_paper_configs(name, dataset_type, k1, k2):
    cfg = Config.fromfile(CONFIGS / f'{name}.py')
    for loader in (cfg.train_dataloader, cfg.val_dataloader,
                   cfg.test_dataloader):
        assert loader.dataset.type == dataset_type
        # The model's data preprocessor resizes, as torchvision does.
        assert 'Resize' not in [t['type'] for t in loader.dataset.pipeline]
    assert cfg.train_dataloader.batch_size == 5
    assert cfg.test_dataloader.batch_size == 1
    assert cfg.test_dataloader.dataset.test_mode is True
    assert cfg.test_evaluator == cfg.val_evaluator == dict(
        type='PersonSearchMetric', det_score_thr=0.5, cbgm=True, k1=k1,
        k2=k2, multi_view=False)
    # The arguments are valid for the dataset classes (no data needed).
    for loader in (cfg.train_dataloader, cfg.test_dataloader):
        dataset = DATASETS.build(dict(loader.dataset, lazy_init=True))
        assert dataset.metainfo['classes'] == ('person', )


@pytest.mark.parametrize('name, root_fixture',
                         [('synthetic_prw', 'synthetic_prw_root'),
                          ('synthetic_cuhk_sysu', 'synthetic_cuhk_root')])
def test_synthetic_configs_load_batches(name, root_fixture, request):
    root = request.getfixturevalue(root_fixture)
    cfg = Config.fromfile(CONFIGS / f'{name}.py')
    for key in ('train_dataloader', 'test_dataloader'):
        loader_cfg = cfg[key]
        loader_cfg.dataset.data_root = root
        # One process: the tests share two CPU cores.
        loader_cfg.update(num_workers=0, persistent_workers=False)
        loader_cfg.batch_size = 2
        loader = Runner.build_dataloader(loader_cfg)
        batch = next(iter(loader))
        assert len(batch['inputs']) == len(batch['data_samples']) == 2
        for sample in batch['data_samples']:
            gt = sample.gt_instances
            assert len(gt.person_ids) == len(gt.bboxes) > 0
            assert sample.img_name and sample.sample_type == 'gallery'
    queries = loader.dataset.metainfo['queries']
    assert queries and len(loader.dataset) > len(queries)


def test_browse_dataset(synthetic_prw_root, tmp_path, monkeypatch):
    out = tmp_path / 'browse'
    monkeypatch.setattr(sys, 'argv', [
        str(BROWSE), str(CONFIGS / 'synthetic_prw.py'), '--split', 'test',
        '--output-dir', str(out), '--max-images', '0', '--cfg-options',
        f'test_dataloader.dataset.data_root={synthetic_prw_root}'
    ])
    runpy.run_path(str(BROWSE), run_name='__main__')
    files = sorted(os.listdir(out))
    queries = [f for f in files if f.startswith('query')]
    frames = os.listdir(Path(synthetic_prw_root) / 'frames')
    test_frames = len(files) - len(queries)
    assert queries and 0 < test_frames < len(frames)
    drawn = cv2.imread(str(out / files[0]))
    raw = cv2.imread(str(Path(synthetic_prw_root) / 'frames' / files[0]))
    assert drawn.shape == raw.shape
    assert cv2.absdiff(drawn, raw).max() > 100  # boxes and tags drawn
