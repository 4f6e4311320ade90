"""Train an mmseqnet model (one process, torchrun, Slurm, ``mim train``)."""
import os

# The imports below must come after the OpenMP setting: isort leaves them
# alone.
# isort: off
# Before torch starts OpenMP: waiting threads spin only briefly, then sleep.
# Spinning threads take the cores from each other and from the data loader
# whenever anything else runs; sleeping at once (OMP_WAIT_POLICY=PASSIVE)
# costs a wake-up at each of the thousands of parallel regions of a step.
# Light-config step on 2 cores (tools/analysis_tools/benchmark_train.py,
# Intel Xeon, one process each): quiet 0.250 s spinning (libgomp's
# default), 0.268 s with 3000 spins, 0.331 s passive; beside two busy
# processes 0.694, 0.556 and 0.643 s (README). An OMP_WAIT_POLICY or
# GOMP_SPINCOUNT of the user's wins.
if not {'OMP_WAIT_POLICY', 'GOMP_SPINCOUNT'} & set(os.environ):
    os.environ['GOMP_SPINCOUNT'] = '3000'

import argparse  # noqa: E402

from mmseqnet.utils.runner_cli import (  # noqa: E402
    add_runner_args, build_runner, load_runner_config)
# isort: on


def parse_args():
    parser = argparse.ArgumentParser(description='Train a SeqNet model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument(
        '--amp', action='store_true', help='mixed precision training')
    parser.add_argument(
        '--resume',
        nargs='?',
        const='auto',
        help='resume from this checkpoint, or without a path from the '
        'latest checkpoint in the work directory')
    add_runner_args(parser, 'train_cfg.max_epochs=2')
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = load_runner_config(args)
    if args.amp:
        # Keep the non-finite loss guard when the config has it.
        guarded = cfg.optim_wrapper.get('type') == 'NonFiniteGuardOptimWrapper'
        cfg.optim_wrapper.type = ('AmpNonFiniteGuardOptimWrapper'
                                  if guarded else 'AmpOptimWrapper')
        cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    build_runner(cfg).train()


if __name__ == '__main__':
    main()
