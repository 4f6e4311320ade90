"""A training run killed mid-way resumes and ends where an unbroken run ends.

Runs ``tools/train.py`` as a user would: once straight through, once killed
(SIGKILL) after its first checkpoint and resumed with ``--resume``. The
final weights, OIM tables and optimizer state must agree.
"""
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import pytest
import torch
from mmengine.config import Config

from mmseqnet.testing import REPO_ROOT

MAX_EPOCHS = 4


@pytest.fixture
def train_config(synthetic_prw_root, tmp_path):
    cfg = Config.fromfile(
        osp.join(REPO_ROOT, 'configs', 'seqnet_light_synthetic_prw.py'))
    # Small and fast, deterministic, no validation: only the resume matters.
    pipeline = [
        dict(type='LoadCheckedImageFromFile'),
        dict(type='LoadPersonSearchAnnotations'),
        dict(type='Resize', scale=(320, 180), keep_ratio=True),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackPersonSearchInputs')
    ]
    cfg.train_dataloader.dataset.data_root = synthetic_prw_root
    cfg.train_dataloader.dataset.pipeline = pipeline
    cfg.train_dataloader.batch_size = 4
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    for loader in ('val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = synthetic_prw_root
        cfg[loader].num_workers = 0
        cfg[loader].persistent_workers = False
    cfg.train_cfg.max_epochs = MAX_EPOCHS
    cfg.train_cfg.val_interval = MAX_EPOCHS + 1
    cfg.param_scheduler[0].end = 1
    cfg.default_hooks.checkpoint.update(
        interval=1, max_keep_ckpts=-1, save_best=None)
    cfg.default_hooks.logger.interval = 1
    cfg.randomness = dict(seed=0, deterministic=True)
    path = str(tmp_path / 'resume_cfg.py')
    cfg.dump(path)
    return path


def _train(config, work_dir, *extra):
    return subprocess.Popen(
        [sys.executable, 'tools/train.py', config, '--work-dir', work_dir,
         *extra],
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True)


def _finish(process):
    _, err = process.communicate(timeout=600)
    assert process.returncode == 0, err[-3000:]


def test_killed_run_resumes_to_the_same_result(train_config, tmp_path):
    straight = str(tmp_path / 'straight')
    _finish(_train(train_config, straight))

    broken = str(tmp_path / 'broken')
    process = _train(train_config, broken)
    # MMEngine names the checkpoint in `last_checkpoint` once it is written.
    last = osp.join(broken, 'last_checkpoint')
    deadline = time.time() + 600
    while process.poll() is None and not (
            osp.isfile(last) and open(last).read().endswith('epoch_1.pth')):
        assert time.time() < deadline, 'no first checkpoint in time'
        time.sleep(0.01)
    # Kill without warning, epochs before the end.
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not osp.isfile(osp.join(broken, f'epoch_{MAX_EPOCHS}.pth'))

    _finish(_train(train_config, broken, '--resume'))

    final = f'epoch_{MAX_EPOCHS}.pth'
    a = torch.load(osp.join(straight, final), weights_only=False)
    b = torch.load(osp.join(broken, final), weights_only=False)
    assert a['meta']['iter'] == b['meta']['iter']
    assert a['state_dict'].keys() == b['state_dict'].keys()
    for key, value in a['state_dict'].items():
        torch.testing.assert_close(
            b['state_dict'][key], value, rtol=1e-5, atol=1e-6, msg=key)
    oim = [k for k in a['state_dict'] if k.endswith(('.lut', '.cq'))]
    assert oim and any(a['state_dict'][k].abs().sum() > 0 for k in oim)
    # Optimizer state (AdamW moments in the light config) resumes too.
    state_a = a['optimizer']['state']
    state_b = b['optimizer']['state']
    assert state_a and state_a.keys() == state_b.keys()
    for key in state_a:
        assert state_a[key].keys() == state_b[key].keys()
        for name, value in state_a[key].items():
            torch.testing.assert_close(
                state_b[key][name], value, rtol=1e-5, atol=1e-6,
                msg=f'{key}.{name}')
