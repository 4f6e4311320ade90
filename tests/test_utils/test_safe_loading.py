"""Checkpoints load weights-only after ``import mmseqnet``: a crafted file
cannot run code, MMEngine checkpoints still load and resume."""
import builtins
import fractions
import os
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.model import BaseModel
from mmengine.runner import CheckpointLoader, Runner
from mmengine.runner.checkpoint import _load_checkpoint, save_checkpoint
from torch import nn
from torch.utils.data import Dataset

import mmseqnet  # noqa: F401
from mmseqnet.apis import Gallery
from mmseqnet.engine import RandomStateHook
from mmseqnet.testing import REPO_ROOT
from mmseqnet.utils.safe_loading import (UNSAFE_LOAD_ENV,
                                         UnsafeCheckpointError,
                                         UnsafeLoadWarning,
                                         checkpoint_safe_globals,
                                         load_checkpoint_file)


class Payload:
    """Unpickled in full, calls ``func(*args)``: what a hostile file does."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def payloads(marker):
    """Ways a pickle can run code, each creating ``marker`` if it runs."""
    return {
        'os.system': Payload(os.system, f'touch {marker}'),
        'builtins.exec': Payload(builtins.exec,
                                 f'open({str(marker)!r}, "w").close()'),
        'subprocess.call': Payload(subprocess.call, ['touch', str(marker)]),
    }


def crafted_checkpoint(path, payload):
    """A checkpoint that looks like MMEngine's, with ``payload`` in meta."""
    torch.save(
        dict(
            state_dict={'w': torch.ones(2)},
            meta=dict(epoch=1, seed=np.int64(0), hook=payload)), path)
    return str(path)


@pytest.mark.parametrize('kind', ['os.system', 'builtins.exec',
                                  'subprocess.call'])
def test_crafted_checkpoint_is_refused(tmp_path, kind):
    marker = tmp_path / 'code_ran'
    path = crafted_checkpoint(tmp_path / 'epoch_1.pth',
                              payloads(marker)[kind])
    with pytest.raises(UnsafeCheckpointError) as info:
        _load_checkpoint(path, map_location='cpu')
    assert not marker.exists()
    message = str(info.value)
    assert message.startswith(f'Refused to load checkpoint {path}: ')
    # names the refused object, says why and how to opt in
    assert kind.split('.')[-1] in message
    assert 'could run code' in message
    assert f'{UNSAFE_LOAD_ENV}=1' in message
    # it is an UnpicklingError, as torch's own refusal
    assert isinstance(info.value, pickle.UnpicklingError)


def test_crafted_checkpoint_is_refused_in_a_fresh_process(tmp_path):
    """As a user runs it: ``import mmseqnet`` then mmengine's loader."""
    marker = tmp_path / 'code_ran'
    path = crafted_checkpoint(tmp_path / 'model.pth',
                              payloads(marker)['os.system'])
    script = ('import mmseqnet\n'
              'from mmengine.runner import load_checkpoint\n'
              'import torch\n'
              f'load_checkpoint(torch.nn.Linear(1, 1), {path!r})\n')
    env = {k: v for k, v in os.environ.items() if k != UNSAFE_LOAD_ENV}
    # even where torch's default would unpickle in full
    env['TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'] = '1'
    run = subprocess.run([sys.executable, '-c', script],
                         cwd=REPO_ROOT,
                         env=env,
                         capture_output=True,
                         text=True)
    assert run.returncode != 0
    assert 'UnsafeCheckpointError: Refused to load checkpoint' in run.stderr
    assert not marker.exists()


def test_unsafe_load_is_an_explicit_opt_in(tmp_path, monkeypatch):
    # A harmless object that is not allow-listed stands in for a trusted
    # file that needs a full unpickle.
    path = str(tmp_path / 'trusted.pth')
    torch.save(dict(meta=dict(ratio=fractions.Fraction(1, 3))), path)
    monkeypatch.delenv(UNSAFE_LOAD_ENV, raising=False)
    with pytest.raises(UnsafeCheckpointError, match='fractions.Fraction'):
        _load_checkpoint(path)
    monkeypatch.setenv(UNSAFE_LOAD_ENV, '0')
    with pytest.raises(UnsafeCheckpointError):
        _load_checkpoint(path)
    monkeypatch.setenv(UNSAFE_LOAD_ENV, '1')
    with pytest.warns(UnsafeLoadWarning,
                      match=re.escape(f'{path} as a full pickle')):
        loaded = _load_checkpoint(path)
    assert loaded['meta']['ratio'] == fractions.Fraction(1, 3)
    monkeypatch.delenv(UNSAFE_LOAD_ENV)
    with pytest.warns(UnsafeLoadWarning):
        load_checkpoint_file(path, unsafe=True)


def test_mmengine_checkpoint_objects_load_weights_only(tmp_path):
    hub = MessageHub.get_instance('test_safe_loading')
    hub.update_scalar('train/loss', np.float64(1.5))
    hub.update_scalar('train/lr', 0.02)
    hub.update_info('iter', 7)
    state = np.random.RandomState(3).get_state()
    checkpoint = dict(
        meta=dict(
            epoch=3,
            seed=np.int64(7),
            dataset_meta=dict(classes=('person', ), mean=np.float32(0.5)),
            message_hub=hub.state_dict()),
        state_dict={'w': torch.arange(4.)},
        random_state=dict(numpy=state, torch=torch.get_rng_state()),
        arrays=[
            np.zeros(3, dtype=dtype)
            for dtype in (bool, np.int8, np.uint8, np.int32, np.int64,
                          np.float16, np.float32, np.float64)
        ])
    path = str(tmp_path / 'epoch_3.pth')
    save_checkpoint(checkpoint, path)
    # nothing outside the allow-list, so plain torch loads it weights-only
    loaded = torch.load(path, weights_only=True)
    assert loaded['meta']['seed'] == 7
    assert loaded['meta']['dataset_meta']['mean'] == np.float32(0.5)
    history = loaded['meta']['message_hub']['log_scalars']['train/loss']
    assert isinstance(history, HistoryBuffer)
    assert history.current() == 1.5
    restored = loaded['random_state']['numpy']
    assert restored[0] == 'MT19937'
    np.testing.assert_array_equal(restored[1], state[1])
    assert [a.dtype for a in loaded['arrays']] == [
        a.dtype for a in checkpoint['arrays']
    ]
    # and so does mmengine's loader through mmseqnet's scheme
    assert _load_checkpoint(path)['meta']['epoch'] == 3


def test_object_arrays_stay_refused(tmp_path):
    path = str(tmp_path / 'objects.pth')
    torch.save(dict(meta=np.array([{'a': 1}], dtype=object)), path)
    with pytest.raises(UnsafeCheckpointError):
        _load_checkpoint(path)


def test_numpy_names_of_both_major_versions():
    names = {
        entry[1]
        for entry in checkpoint_safe_globals() if isinstance(entry, tuple)
    }
    if hasattr(torch.serialization, 'safe_globals'):
        for module in ('numpy.core', 'numpy._core'):
            assert f'{module}.multiarray._reconstruct' in names
            assert f'{module}.multiarray.scalar' in names
    dtype_classes = [
        entry for entry in checkpoint_safe_globals()
        if isinstance(entry, type) and issubclass(entry, np.dtype)
        and entry is not np.dtype
    ]
    assert type(np.dtype(np.float64)) in dtype_classes
    assert type(np.dtype(object)) not in dtype_classes


def test_urls_load_weights_only(tmp_path, monkeypatch):
    """URL schemes (torch.hub downloads) are weights-only as well: torch's
    own default for downloads is a full unpickle."""
    marker = tmp_path / 'code_ran'
    cache = tmp_path / 'hub'
    (cache / 'checkpoints').mkdir(parents=True)
    crafted_checkpoint(cache / 'checkpoints' / 'resnet.pth',
                       payloads(marker)['builtins.exec'])
    monkeypatch.setattr(torch.hub, 'get_dir', lambda: str(cache))
    url = 'https://example.invalid/resnet.pth'  # cached: no download
    with pytest.raises(UnsafeCheckpointError, match=f'checkpoint {url}'):
        CheckpointLoader.load_checkpoint(url, map_location='cpu')
    assert not marker.exists()
    torch.save({'w': torch.ones(1)}, cache / 'checkpoints' / 'ok.pth')
    loaded = CheckpointLoader.load_checkpoint(
        'https://example.invalid/ok.pth', map_location='cpu')
    assert loaded['w'].tolist() == [1.0]


class ToyModel(BaseModel):
    """y = w x + b, fitted with a squared loss."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.linear(inputs)
        if mode == 'loss':
            return dict(loss=(out - data_samples).pow(2).mean())
        return out


class ToyDataset(Dataset):
    # numpy scalars in the metadata, as datasets' dataset_meta may hold
    metainfo = dict(classes=('person', ), scale=np.float64(0.5))

    def __init__(self):
        generator = torch.Generator().manual_seed(0)
        self.x = torch.randn(16, 2, generator=generator)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return dict(inputs=self.x[i], data_samples=self.x[i, :1] * 2)


def toy_runner(work_dir, max_epochs, **kwargs):
    return Runner(
        model=ToyModel(),
        work_dir=str(work_dir),
        experiment_name=f'{work_dir.name}_{max_epochs}',
        train_dataloader=dict(
            dataset=ToyDataset(),
            sampler=dict(type='DefaultSampler', shuffle=True),
            batch_size=4,
            collate_fn=dict(type='default_collate')),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=0.01)),
        param_scheduler=[
            dict(type='LinearLR', start_factor=0.1, by_epoch=False, end=3),
            dict(type='MultiStepLR', milestones=[1], by_epoch=True)
        ],
        default_hooks=dict(
            checkpoint=dict(type='CheckpointHook', interval=1),
            logger=dict(type='LoggerHook', interval=1)),
        custom_hooks=[RandomStateHook()],
        randomness=dict(seed=0),
        **kwargs)


def test_runner_checkpoint_resumes_weights_only(tmp_path):
    """A checkpoint written by MMEngine's Runner (message hub, optimizer,
    schedulers, dataset_meta, RandomStateHook's generator states) holds
    nothing outside the allow-list, and the Runner resumes from it."""
    toy_runner(tmp_path, 2).train()
    path = tmp_path / 'epoch_2.pth'
    # nothing beyond torch's defaults and mmseqnet's allow-list
    assert torch.serialization.get_unsafe_globals_in_checkpoint(path) == []
    loaded = torch.load(path, weights_only=True)
    history = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(history, HistoryBuffer) and len(history.data[0]) > 0
    assert loaded['random_state']['numpy'][1].dtype == np.uint32
    assert loaded['meta']['dataset_meta']['scale'] == 0.5

    resumed = toy_runner(tmp_path, 3, load_from=str(path), resume=True)
    resumed.train()
    assert resumed.epoch == 3
    # the loss history of epochs 1-2 came back with the message hub
    iters_per_epoch = len(ToyDataset()) // 4
    assert len(resumed.message_hub.get_scalar('train/loss').data[0]) == (
        3 * iters_per_epoch)


def test_gallery_files_hold_no_pickle(tmp_path):
    gallery = Gallery(
        sources=['a.jpg', 'b.jpg'],
        image_ids=np.array([0, 1]),
        bboxes=np.zeros((2, 4), np.float32),
        scores=np.ones(2, np.float32),
        embeddings=np.eye(2, dtype=np.float32))
    path = str(tmp_path / 'g.npz')
    gallery.save(path)
    with np.load(path, allow_pickle=False) as data:
        assert all(data[name].dtype != object for name in data.files)
    assert Gallery.load(path).sources == ['a.jpg', 'b.jpg']
    # a crafted gallery with a pickled entry is refused unread
    marker = tmp_path / 'code_ran'
    crafted = str(tmp_path / 'crafted.npz')
    np.savez(
        crafted,
        sources=np.array([payloads(marker)['builtins.exec']], dtype=object),
        image_ids=gallery.image_ids,
        bboxes=gallery.bboxes,
        scores=gallery.scores,
        embeddings=gallery.embeddings)
    with pytest.raises(ValueError, match='allow_pickle'):
        Gallery.load(crafted)
    assert not marker.exists()
