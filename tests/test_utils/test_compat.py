"""The stack fixes applied on ``import mmseqnet``."""
import numpy as np
import torch
from mmengine.config import Config
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner.checkpoint import _load_checkpoint, save_checkpoint

import mmseqnet  # noqa: F401


def test_full_mmengine_checkpoint_loads(tmp_path):
    # What CheckpointHook writes: weights plus Python objects (message hub
    # history, numpy scalars) that weights-only loading rebuilds only
    # because mmseqnet allow-lists them.
    hub = MessageHub.get_instance('test_compat')
    hub.update_scalar('train/loss', 1.5)
    checkpoint = dict(
        meta=dict(epoch=3, iter=120, seed=np.int64(7)),
        state_dict={'w': torch.arange(4.)},
        message_hub=hub.state_dict())
    path = str(tmp_path / 'epoch_3.pth')
    save_checkpoint(checkpoint, path)

    loaded = _load_checkpoint(path, map_location='cpu')
    assert loaded['meta']['epoch'] == 3
    assert torch.equal(loaded['state_dict']['w'], torch.arange(4.))
    history = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(history, HistoryBuffer)
    assert history.current() == 1.5


def test_missing_checkpoint_is_named(tmp_path):
    missing = tmp_path / 'nope.pth'
    try:
        _load_checkpoint(str(missing))
    except FileNotFoundError as e:
        assert str(missing) in str(e)
    else:
        raise AssertionError('a missing checkpoint must raise')


def test_classic_config_with_stdlib_imports(tmp_path):
    (tmp_path / 'base.py').write_text('lr = 0.003\n')
    (tmp_path / 'child.py').write_text(
        'import os\n'
        'import os.path as osp\n'
        "_base_ = ['./base.py']\n"
        "data_root = osp.join(os.environ.get('MMSEQNET_NO_SUCH_VAR', 'data'),"
        " 'PRW')\n")
    cfg = Config.fromfile(str(tmp_path / 'child.py'))
    assert cfg.lr == 0.003
    assert cfg.data_root == 'data/PRW'
