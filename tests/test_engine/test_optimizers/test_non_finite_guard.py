"""The non-finite loss guard (mmseqnet.engine.optimizers) through a real
mmengine Runner: skipped updates leave no trace, are logged and counted,
runs stop after max_consecutive_skips, and DDP ranks decide together."""
import datetime
import glob
import json
import os
import os.path as osp
import socket

import pytest
import torch
import torch.distributed as torch_dist
import torch.multiprocessing as mp
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper
from mmengine.runner import Runner
from torch import nn
from torch.utils.data import Dataset

import mmseqnet  # noqa: F401  (registers the optim wrappers)
from mmseqnet.engine import NonFiniteGuardOptimWrapper


class PoisonableDataset(Dataset):
    """Item i: a fixed random input and target; NaN inputs for the items in
    ``poisoned``, zero-weight loss for those in ``weightless``."""

    def __init__(self, length, poisoned=(), weightless=()):
        gen = torch.Generator().manual_seed(0)
        self.inputs = torch.randn(length, 3, generator=gen)
        self.targets = torch.randn(length, 1, generator=gen)
        self.inputs[list(poisoned)] = float('nan')
        self.weights = torch.ones(length)
        self.weights[list(weightless)] = 0
        self.keep = list(range(length))

    def drop(self, indices):
        self.keep = [i for i in self.keep if i not in indices]
        return self

    def __len__(self):
        return len(self.keep)

    def __getitem__(self, idx):
        i = self.keep[idx]
        return dict(
            inputs=self.inputs[i],
            targets=self.targets[i],
            weights=self.weights[i])


class TinyRegressor(BaseModel):
    """BatchNorm (buffers change in forward) then a linear layer; a data
    term and a weight-only term that stays finite on NaN inputs."""

    def __init__(self, batch_norm=True):
        super().__init__()
        torch.manual_seed(0)
        self.norm = nn.BatchNorm1d(3) if batch_norm else nn.Identity()
        self.linear = nn.Linear(3, 1)

    def forward(self, inputs, targets, weights, mode='tensor'):
        inputs, targets = torch.stack(inputs), torch.stack(targets)
        out = self.linear(self.norm(inputs))
        if mode != 'loss':
            return out
        error = ((out - targets)**2).mean(1)
        weights = torch.stack(weights)
        return dict(
            loss_data=(error * weights).mean(),
            loss_decay=1e-3 * self.linear.weight.pow(2).sum() * weights.mean())


def make_runner(work_dir,
                dataset,
                max_iters,
                optim_wrapper,
                batch_size=2,
                model=None,
                **kwargs):
    return Runner(
        model=model or TinyRegressor(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=dataset,
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=batch_size,
            num_workers=0,
            collate_fn=dict(type='pseudo_collate')),
        optim_wrapper=optim_wrapper,
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(
            logger=dict(type='LoggerHook', interval=1),
            checkpoint=dict(type='CheckpointHook', interval=1,
                            by_epoch=False)),
        default_scope='mmdet',
        # Runners of one second would share their timestamp-named logger
        # (and log file) otherwise.
        experiment_name=str(work_dir).replace(os.sep, '_'),
        **kwargs)


def guarded(max_consecutive_skips=10, momentum=0.9, **kwargs):
    cfg = dict(
        type='NonFiniteGuardOptimWrapper',
        max_consecutive_skips=max_consecutive_skips,
        optimizer=dict(type='SGD', lr=0.1, momentum=momentum))
    cfg.update(kwargs)
    return cfg


def read_log(work_dir):
    (path, ) = glob.glob(osp.join(str(work_dir), '*', '*.log'))
    with open(path) as f:
        return f.read()


def state(runner):
    return {k: v.clone() for k, v in runner.model.state_dict().items()}


def test_skipped_iterations_leave_no_trace(tmp_path):
    # batches of 2: iterations 2 and 4 (items 2-3, 6-7) hold a NaN input
    poisoned = PoisonableDataset(12, poisoned=[3, 6])
    runner = make_runner(tmp_path / 'guarded', poisoned, 6, guarded())
    runner.train()
    wrapper = runner.optim_wrapper
    assert isinstance(wrapper, NonFiniteGuardOptimWrapper)
    assert wrapper.skipped_updates == 2 and wrapper.consecutive_skips == 0
    # the same run without the poisoned batches: bitwise the same weights,
    # BatchNorm statistics and momentum
    clean = PoisonableDataset(12).drop([2, 3, 6, 7])
    reference = make_runner(tmp_path / 'clean', clean, 4, guarded())
    reference.train()
    guarded_state, clean_state = state(runner), state(reference)
    for key, value in clean_state.items():
        assert torch.isfinite(guarded_state[key].float()).all(), key
        assert torch.equal(guarded_state[key], value), key
    momentum = [
        wrapper.optimizer.state[p]['momentum_buffer']
        for p in runner.model.parameters()
    ]
    reference_momentum = [
        reference.optim_wrapper.optimizer.state[p]['momentum_buffer']
        for p in reference.model.parameters()
    ]
    for ours, theirs in zip(momentum, reference_momentum):
        assert torch.equal(ours, theirs)

    log = read_log(tmp_path / 'guarded')
    for iteration, count in ((2, 1), (4, 2)):
        assert (f'Non-finite loss at iteration {iteration} (loss_data=nan): '
                f'skipped the update on every rank (1 in a row, {count} in '
                'this run; the run stops after 11 in a row)') in log
    # the finite weight-only term is not blamed
    assert 'loss_decay=' not in log


def test_buffers_poisoned_without_restore(tmp_path):
    poisoned = PoisonableDataset(6, poisoned=[2])
    runner = make_runner(tmp_path, poisoned, 3, guarded(restore_buffers=False))
    runner.train()
    assert runner.optim_wrapper.skipped_updates == 1
    for param in runner.model.parameters():
        assert torch.isfinite(param).all()
    # what restore_buffers=True prevents: the NaN batch's statistics
    assert torch.isnan(runner.model.norm.running_mean).all()


@pytest.mark.parametrize('max_consecutive_skips, stop_at', [(2, 5), (0, 3)])
def test_stops_after_max_consecutive_skips(tmp_path, max_consecutive_skips,
                                           stop_at):
    # iterations 3, 4, 5 and 6 are poisoned
    poisoned = PoisonableDataset(16, poisoned=[4, 6, 8, 10])
    runner = make_runner(tmp_path, poisoned, 8, guarded(max_consecutive_skips))
    with pytest.raises(FloatingPointError) as info:
        runner.train()
    message = str(info.value)
    assert message.startswith(
        f'Non-finite loss at iteration {stop_at} (loss_data=nan): '
        f'{max_consecutive_skips + 1} iterations in a row had a non-finite '
        f'loss, more than max_consecutive_skips={max_consecutive_skips}; '
        'stopping.')
    assert 'the last checkpoint is intact' in message
    assert runner.optim_wrapper.skipped_updates == max_consecutive_skips + 1
    # no checkpoint after the last good iteration, and that one is finite
    saved = sorted(
        int(name[5:-4]) for name in os.listdir(tmp_path)
        if name.startswith('iter_'))
    assert saved == list(range(1, stop_at))
    weights = torch.load(
        tmp_path / f'iter_{stop_at - 1}.pth', weights_only=False)
    for key, value in weights['state_dict'].items():
        assert torch.isfinite(value.float()).all(), key


def test_gradient_accumulation(tmp_path):
    """Windows of 2 iterations. A skip inside a window keeps the other
    micro-batch's gradient; a skip at the window's end drops the window.
    The reference gives those items zero loss weight instead of NaN."""

    def run(name, dataset):
        runner = make_runner(
            tmp_path / name,
            dataset,
            6,
            guarded(momentum=0, accumulative_counts=2),
            batch_size=1,
            model=TinyRegressor(batch_norm=False))
        runner.train()
        return runner

    skipped = run('skipped', PoisonableDataset(6, poisoned=[2, 5]))
    weightless = run('weightless', PoisonableDataset(6, weightless=[2, 4, 5]))
    assert skipped.optim_wrapper.skipped_updates == 2
    for key, value in state(weightless).items():
        assert torch.allclose(state(skipped)[key], value), key


def test_amp_variant_on_cpu(tmp_path, monkeypatch):
    """AmpOptimWrapper refuses CPUs; with the check patched its GradScaler
    disables itself and autocast runs bfloat16 on the CPU, which exercises
    the mixin's composition with AmpOptimWrapper (scaled backward,
    autocast context)."""
    from mmengine.optim.optimizer import amp_optimizer_wrapper
    monkeypatch.setattr(amp_optimizer_wrapper, 'is_cuda_available',
                        lambda: True)
    poisoned = PoisonableDataset(8, poisoned=[3])
    runner = make_runner(
        tmp_path, poisoned, 4,
        guarded(type='AmpNonFiniteGuardOptimWrapper', max_consecutive_skips=1))
    with pytest.warns(UserWarning, match='CUDA is not available'):
        runner.train()
    assert type(runner.optim_wrapper).__name__ == \
        'AmpNonFiniteGuardOptimWrapper'
    assert runner.optim_wrapper.skipped_updates == 1
    for value in runner.model.state_dict().values():
        assert torch.isfinite(value.float()).all()
    assert 'Non-finite loss at iteration 2 (loss_data=nan)' in read_log(
        tmp_path)


def test_wrapper_arguments():
    optimizer = torch.optim.SGD(nn.Linear(1, 1).parameters(), lr=0.1)
    with pytest.raises(ValueError, match='max_consecutive_skips must be >= 0'):
        NonFiniteGuardOptimWrapper(
            optimizer=optimizer, max_consecutive_skips=-1)
    wrapper = NonFiniteGuardOptimWrapper(optimizer=optimizer)
    assert isinstance(wrapper, OptimWrapper)
    assert (wrapper.max_consecutive_skips, wrapper.restore_buffers) == (10,
                                                                        True)


# ------------------------------------------------------------------ DDP
def _ddp_worker(rank, world_size, port, work_dir):
    os.environ.update(
        MASTER_ADDR='127.0.0.1',
        MASTER_PORT=str(port),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world_size))
    # a rank left waiting in a collective fails after the timeout instead of
    # hanging the test
    torch_dist.init_process_group(
        'gloo',
        rank=rank,
        world_size=world_size,
        timeout=datetime.timedelta(seconds=60))
    torch.set_num_threads(1)
    # DefaultSampler gives rank r the items r, r + 2, ...; batches of 2:
    # item 5 is in rank 1's second batch, item 16 in rank 0's fifth.
    poisoned = PoisonableDataset(24, poisoned=[5, 16])
    runner = make_runner(
        work_dir,
        poisoned,
        6,
        guarded(),
        launcher='pytorch',
        # the Runner reads the wrapper from cfg; a CPU module takes no
        # device_ids
        cfg=dict(
            model_wrapper_cfg=dict(
                type='MMDistributedDataParallel', device_ids=None)))
    runner.train()
    wrapper = runner.optim_wrapper
    result = dict(
        skipped=wrapper.skipped_updates,
        weights={
            k: v.tolist()
            for k, v in runner.model.module.state_dict().items()
        })
    with open(osp.join(work_dir, f'rank{rank}.json'), 'w') as f:
        json.dump(result, f)
    torch_dist.destroy_process_group()


def test_ddp_ranks_skip_together(tmp_path):
    """Two gloo processes; each poisoned batch is on one rank only, and
    both ranks skip (a rank that ran backward alone would hang DDP)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    mp.spawn(_ddp_worker, args=(2, port, str(tmp_path)), nprocs=2, join=True)
    results = []
    for rank in range(2):
        with open(tmp_path / f'rank{rank}.json') as f:
            results.append(json.load(f))
    assert [r['skipped'] for r in results] == [2, 2]
    linear = [(r['weights']['linear.weight'], r['weights']['linear.bias'])
              for r in results]
    assert linear[0] == linear[1]
    for r in results:
        for key, value in r['weights'].items():
            assert torch.isfinite(torch.tensor(value)).all(), key
    log = read_log(tmp_path)
    assert ('Non-finite loss at iteration 2 (rank 1: loss_data=nan): '
            'skipped the update on every rank') in log
    assert 'Non-finite loss at iteration 5 (rank 0: loss_data=nan)' in log
