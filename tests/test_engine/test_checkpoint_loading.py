"""Checkpoints that do not fit the model stop tools/test.py and
PersonSearcher.from_config with the mismatched entries, instead of
leaving those weights at their initial values (mmengine only logs them).
Both load MMEngine checkpoints weights-only and refuse crafted ones."""
import runpy
import sys

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.runner.checkpoint import save_checkpoint as mmengine_save
from torch import nn

from mmseqnet.apis import PersonSearcher
from mmseqnet.engine import CheckpointMismatchError, check_checkpoint_fits
from mmseqnet.testing import REPO_ROOT, TinyPersonSearchDetector
from mmseqnet.utils.safe_loading import UnsafeCheckpointError


def tiny_state(width):
    return TinyPersonSearchDetector(dict(width=width)).state_dict()


def test_fitting_checkpoints_pass():
    model = TinyPersonSearchDetector()
    state = model.state_dict()
    check_checkpoint_fits(model, dict(state_dict=state, meta={}), 'a.pth')
    # as mmengine loads them: a bare state dict, DDP's "module." prefix, no
    # BatchNorm num_batches_tracked
    bare = {
        f'module.{k}': v
        for k, v in state.items() if not k.endswith('num_batches_tracked')
    }
    check_checkpoint_fits(model, bare, 'b.pth')


def test_mismatches_are_listed():
    model = TinyPersonSearchDetector()
    other = tiny_state(6)
    del other['norm.running_var']
    other['head.weight'] = torch.zeros(2)
    with pytest.raises(CheckpointMismatchError) as info:
        check_checkpoint_fits(model, dict(state_dict=other), 'other.pth')
    message = str(info.value)
    assert message.startswith('Checkpoint other.pth does not fit the model '
                              'TinyPersonSearchDetector built from the config')
    assert ('\n  1 model entries missing from the checkpoint: '
            'norm.running_var\n') in message
    assert ('\n  1 checkpoint entries the model does not have: '
            'head.weight\n') in message
    assert ('\n  5 entries of another shape: embed.weight (checkpoint '
            '(6, 3), model (4, 3)), embed.bias (checkpoint (6,), model '
            '(4,)), norm.weight') in message
    assert 'wrong results' in message
    check_checkpoint_fits(
        model,
        dict(state_dict=other),
        'other.pth',
        ignore_keys=[r'^embed\.', r'^norm\.', 'head'])
    with pytest.raises(CheckpointMismatchError, match='head.weight'):
        check_checkpoint_fits(
            model,
            dict(state_dict=other),
            'other.pth',
            ignore_keys=[r'^embed\.', r'^norm\.'])


def test_long_listings_are_cut():
    model = nn.Sequential(*[nn.Linear(1, 1) for _ in range(12)])
    with pytest.raises(CheckpointMismatchError) as info:
        check_checkpoint_fits(model, {}, 'empty.pth')
    assert ('24 model entries missing from the checkpoint: 0.weight, '
            '0.bias, 1.weight, 1.bias, 2.weight, 2.bias, 3.weight, 3.bias, '
            '4.weight, 4.bias ... and 14 more') in str(info.value)


@pytest.fixture
def tiny_config(tmp_path, synthetic_prw_root):
    """A test config of the tiny detector on the synthetic PRW test split
    (annotations only: the tiny detector needs no pixels)."""
    path = tmp_path / 'tiny_prw.py'
    path.write_text(f'''
default_scope = 'mmdet'
model = dict(type='TinyPersonSearchDetector', backbone=dict(width=4))
test_dataloader = dict(
    batch_size=4,
    num_workers=0,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type='PRWDataset',
        data_root={synthetic_prw_root!r},
        test_mode=True,
        pipeline=[
            dict(type='LoadPersonSearchAnnotations'),
            dict(type='PackPersonSearchInputs')
        ]))
test_cfg = dict(type='TestLoop')
test_evaluator = dict(type='PersonSearchMetric')
''')
    return str(path)


def save_checkpoint(path, width):
    torch.save(dict(state_dict=tiny_state(width), meta={}), path)
    return str(path)


def run_test_tool(monkeypatch, work_dir, *args):
    # runs of one second would share their timestamp-named logger otherwise
    monkeypatch.setattr(sys, 'argv', [
        'tools/test.py', *args, '--work-dir',
        str(work_dir), '--cfg-options', f'experiment_name={work_dir.name}'
    ])
    runpy.run_path(str(REPO_ROOT / 'tools' / 'test.py'), run_name='__main__')


def test_test_tool_stops_on_a_checkpoint_of_another_config(
        tiny_config, tmp_path, monkeypatch):
    other = save_checkpoint(tmp_path / 'width6.pth', 6)
    with pytest.raises(CheckpointMismatchError) as info:
        run_test_tool(monkeypatch, tmp_path / 'work', tiny_config, other)
    assert f'Checkpoint {other} does not fit' in str(info.value)
    assert 'embed.weight (checkpoint (6, 3), model (4, 3))' in str(info.value)
    # nothing was evaluated
    assert not list((tmp_path / 'work').glob('*/*.json'))


def test_test_tool_runs_with_a_fitting_or_ignored_checkpoint(
        tiny_config, tmp_path, monkeypatch):
    run_test_tool(monkeypatch, tmp_path / 'fit', tiny_config,
                  save_checkpoint(tmp_path / 'width4.pth', 4))
    run_test_tool(monkeypatch, tmp_path / 'ignored', tiny_config,
                  save_checkpoint(tmp_path / 'width6.pth', 6), '--ignore-keys',
                  'embed', 'norm')
    for work_dir in ('fit', 'ignored'):
        (log, ) = (tmp_path / work_dir).glob('*/*.log')
        assert 'person_search/mAP' in log.read_text()


def test_person_searcher_from_config(tiny_config, tmp_path):
    other = save_checkpoint(tmp_path / 'width6.pth', 6)
    with pytest.raises(
            CheckpointMismatchError,
            match=r'(?s)width6\.pth does not fit.*embed\.weight'):
        PersonSearcher.from_config(tiny_config, other)
    searcher = PersonSearcher.from_config(
        tiny_config, other, ignore_keys=['embed', 'norm'])
    assert searcher.model.width == 4
    fitting = save_checkpoint(tmp_path / 'width4.pth', 4)
    searcher = PersonSearcher.from_config(tiny_config, fitting)
    saved = torch.load(fitting, weights_only=True)['state_dict']
    assert torch.equal(searcher.model.embed.weight, saved['embed.weight'])


def save_runner_checkpoint(path, width):
    """A checkpoint laid out as MMEngine's Runner writes it: message hub
    with history buffers, numpy scalars, generator states."""
    hub = MessageHub.get_instance(f'test_checkpoints_{path.stem}')
    hub.update_scalar('train/loss', np.float64(0.25))
    mmengine_save(
        dict(
            meta=dict(
                epoch=2,
                iter=20,
                seed=np.int64(0),
                dataset_meta=dict(classes=('person', )),
                experiment_name='tiny'),
            state_dict=tiny_state(width),
            message_hub=hub.state_dict(),
            random_state=dict(numpy=np.random.get_state())), str(path))
    return str(path)


class Payload:

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f'open({self.marker!r}, "w").close()', )


def test_tools_load_runner_checkpoints_and_refuse_crafted_ones(
        tiny_config, tmp_path, monkeypatch):
    runner_ckpt = save_runner_checkpoint(tmp_path / 'epoch_2.pth', 4)
    run_test_tool(monkeypatch, tmp_path / 'runner', tiny_config, runner_ckpt)
    (log, ) = (tmp_path / 'runner').glob('*/*.log')
    assert 'person_search/mAP' in log.read_text()
    searcher = PersonSearcher.from_config(tiny_config, runner_ckpt)
    assert searcher.model.width == 4

    marker = tmp_path / 'code_ran'
    crafted = str(tmp_path / 'crafted.pth')
    torch.save(dict(state_dict=tiny_state(4), meta=Payload(marker)), crafted)
    with pytest.raises(UnsafeCheckpointError, match=f'checkpoint {crafted}'):
        run_test_tool(monkeypatch, tmp_path / 'crafted', tiny_config, crafted)
    with pytest.raises(UnsafeCheckpointError, match=f'checkpoint {crafted}'):
        PersonSearcher.from_config(tiny_config, crafted)
    assert not marker.exists()
