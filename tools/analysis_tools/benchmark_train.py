"""Time training iterations of a config, part by part, variants alternated.

The runner's own model, data pipeline and optimizer wrapper run
``train_step`` on a few batches loaded beforehand, so the figures are the
step's computation alone; loading a batch is timed separately (in this
process, as with ``num_workers=0``). Each step is split into the backbone,
the RPN (head, losses and proposals: NMS), the RoI heads (both stages and
their losses) and the rest: backward, gradient clipping and the optimizer.

``--variant NAME KEY=VALUE ...`` adds a variant of the config (in
``--cfg-options`` syntax); all variants are timed in turns, round after
round, in one process, so that their ratios hold on a machine whose speed
drifts. ``--profile`` prints the operators that took the most time in the
first variant.

OpenMP threads wait as in ``tools/train.py`` (``GOMP_SPINCOUNT=3000``
unless ``OMP_WAIT_POLICY`` or ``GOMP_SPINCOUNT`` is set): set either in the
environment to measure another policy.

Example::

    python tools/analysis_tools/benchmark_train.py \\
        configs/seqnet_light_synthetic_prw.py --threads 2 \\
        --variant nchw model.channels_last=False
"""
import os

# Before torch starts OpenMP: waiting threads spin briefly, then sleep (why
# and measured: tools/train.py, which this tool follows).
if not {'OMP_WAIT_POLICY', 'GOMP_SPINCOUNT'} & set(os.environ):
    os.environ['GOMP_SPINCOUNT'] = '3000'

import argparse  # noqa: E402
import copy  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Dict, List  # noqa: E402

import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

from mmseqnet.utils.machine import cpu_name  # noqa: E402
from mmseqnet.utils.runner_cli import build_runner  # noqa: E402

PARTS = ('backbone', 'rpn', 'roi heads', 'backward + optimizer')
# Hooks that only report (and cost time) in a real run.
QUIET_HOOKS = ('MachineLoadHook', )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Time training iterations of a config, part by part')
    parser.add_argument('config')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction, default={},
        help='config overrides for every variant')
    parser.add_argument(
        '--variant', nargs='+', action='append', default=[],
        metavar=('NAME', 'KEY=VALUE'),
        help='another variant: a name and its config overrides')
    parser.add_argument('--steps', type=int, default=10,
                        help='timed steps per variant and round')
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--warmup', type=int, default=2,
                        help='untimed steps before the first round')
    parser.add_argument('--batches', type=int, default=4,
                        help='batches loaded beforehand and cycled')
    parser.add_argument('--threads', type=int, help='torch threads')
    parser.add_argument('--profile', type=int, default=0, metavar='ROWS',
                        help='print the ROWS costliest operators')
    return parser.parse_args()


class Variant:
    """One config's runner, batches and step timings."""

    def __init__(self, name: str, cfg: Config, num_batches: int) -> None:
        self.name = name
        # The runner's logs go to a folder removed with the variant.
        self._work_dir = tempfile.TemporaryDirectory(prefix='benchmark_train_')
        cfg.work_dir = self._work_dir.name
        cfg.log_level = 'WARNING'
        cfg.train_dataloader.num_workers = 0
        cfg.train_dataloader.persistent_workers = False
        cfg.custom_hooks = [
            hook for hook in cfg.get('custom_hooks', [])
            if hook['type'] not in QUIET_HOOKS
        ]
        # The runner tools/train.py would build (a config's runner_type too).
        runner = build_runner(cfg)
        self.model = runner.model
        self.model.train()
        self.optim_wrapper = runner.build_optim_wrapper(cfg.optim_wrapper)
        loader = runner.build_dataloader(cfg.train_dataloader)
        batches = iter(loader)
        start = time.perf_counter()
        self.batches = [next(batches) for _ in range(num_batches)]
        self.load_time = (time.perf_counter() - start) / num_batches
        self.steps: List[float] = []
        self.parts: Dict[str, List[float]] = {part: [] for part in PARTS}
        self._step_parts: Dict[str, float] = {}
        self._time(self.model, 'extract_feat', 'backbone')
        self._time(self.model.rpn_head, 'loss_and_predict', 'rpn')
        self._time(self.model.roi_head, 'loss', 'roi heads')

    def _time(self, owner, method: str, part: str) -> None:
        """Add the duration of every ``owner.method`` call to ``part``."""
        call = getattr(owner, method)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                self._step_parts[part] = self._step_parts.get(
                    part, 0.) + time.perf_counter() - start

        setattr(owner, method, timed)

    def step(self, index: int, record: bool = True) -> None:
        self._step_parts.clear()
        start = time.perf_counter()
        self.model.train_step(self.batches[index % len(self.batches)],
                              self.optim_wrapper)
        total = time.perf_counter() - start
        if not record:
            return
        self.steps.append(total)
        forward = sum(self._step_parts.values())
        for part in PARTS[:-1]:
            self.parts[part].append(self._step_parts.get(part, 0.))
        self.parts[PARTS[-1]].append(total - forward)


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    base = Config.fromfile(args.config)
    base.merge_from_dict(args.cfg_options)
    init_default_scope(base.get('default_scope', 'mmdet'))
    variants = []
    for name, *options in [['config']] + args.variant:
        cfg = copy.deepcopy(base)
        cfg.merge_from_dict(_options(options))
        torch.manual_seed(0)
        variants.append(Variant(name, cfg, args.batches))

    for variant in variants:
        for i in range(args.warmup):
            variant.step(i, record=False)
    for _ in range(args.rounds):
        for variant in variants:
            for i in range(args.steps):
                variant.step(i)

    print(f'{cpu_name()}, {os.cpu_count()} CPUs, torch '
          f'{torch.__version__}, {torch.get_num_threads()} threads, '
          f'OMP_WAIT_POLICY={os.environ.get("OMP_WAIT_POLICY")}, '
          f'GOMP_SPINCOUNT={os.environ.get("GOMP_SPINCOUNT", "default")}')
    reference = statistics.median(variants[0].steps)
    header = [
        'variant', 'step (median)', 'min', 'vs first', *PARTS, 'batch loading'
    ]
    print('| ' + ' | '.join(header) + ' |')
    print('|' + ' --- |' * len(header))
    for variant in variants:
        median = statistics.median(variant.steps)
        cells = [
            variant.name, f'{median:.3f} s', f'{min(variant.steps):.3f} s',
            f'{median / reference:.2f}x'
        ] + [
            f'{statistics.median(variant.parts[part]):.3f} s'
            for part in PARTS
        ] + [f'{variant.load_time:.3f} s']
        print('| ' + ' | '.join(cells) + ' |')
    print(f'({args.rounds} rounds of {args.steps} steps per variant, '
          f'alternated; parts are medians of their own)')

    if args.profile:
        from torch.profiler import ProfilerActivity, profile
        variant = variants[0]
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for i in range(3):
                variant.step(i, record=False)
        print(f'\nOperators of 3 steps of "{variant.name}", by own time:')
        print(prof.key_averages().table(
            sort_by='self_cpu_time_total', row_limit=args.profile))


def _options(options: List[str]) -> dict:
    """``KEY=VALUE`` strings parsed as ``--cfg-options`` parses them."""
    parser = argparse.ArgumentParser()
    parser.add_argument('options', nargs='*', action=DictAction)
    return parser.parse_args(options).options or {}


if __name__ == '__main__':
    main()
