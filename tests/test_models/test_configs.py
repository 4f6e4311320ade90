"""Every model config under configs/ builds; key facts of the main ones."""
import math

import pytest
from mmdet.registry import MODELS
from mmengine.config import Config

from mmseqnet.testing import REPO_ROOT

CONFIGS = sorted(
    str(p.relative_to(REPO_ROOT))
    for p in (REPO_ROOT / 'configs').rglob('*.py')
    if '_base_' not in p.parts or p.parent.name == 'models')


def load(path):
    try:
        return Config.fromfile(str(REPO_ROOT / path))
    except FileNotFoundError as err:  # a base written by someone else
        pytest.skip(f'{path}: {err}')


@pytest.mark.parametrize('path', CONFIGS)
def test_model_builds(path):
    cfg = load(path)
    model = MODELS.build(cfg.model)
    head = model.roi_head
    assert len(cfg.model.train_cfg.rcnn) == head.num_stages
    oim = head.embedding_head.loss_reid
    if 'train_dataloader' in cfg and 'synthetic' not in path:
        # The OIM table has the training identities of the dataset.
        expected = {'PRWDataset': 483, 'CUHKSYSUDataset': 5532}
        assert oim.num_person_ids == expected[
            cfg.train_dataloader.dataset.type]


def test_paper_schedules():
    for path, epochs in (('configs/seqnet_prw.py', 18),
                         ('configs/seqnet_cuhk.py', 20)):
        cfg = load(path)
        assert cfg.train_cfg.max_epochs == epochs
        warmup, steps = cfg.param_scheduler
        assert warmup.start_factor == 0.001 and warmup.end == 1
        assert warmup.convert_to_iter_based
        assert steps.milestones == [16] and steps.gamma == 0.1
        assert cfg.optim_wrapper.optimizer.lr == 0.003
        assert cfg.optim_wrapper.clip_grad.max_norm == 10
        assert cfg.model.test_cfg.query_context


def test_fresh_oim_loss_is_log_of_table_sizes():
    cfg = load('configs/seqnet_cuhk.py').model.roi_head.embedding_head
    sizes = cfg.loss_reid.num_person_ids + cfg.loss_reid.queue_size
    assert math.log(sizes) == pytest.approx(9.262, abs=1e-3)
