"""Train an mmseqnet model (one process, torchrun, Slurm, ``mim train``)."""
import os

# The imports below must come after the setdefault: isort leaves them alone.
# isort: off
# Before torch starts OpenMP: waiting threads sleep instead of spinning.
# Spinning threads take the cores from each other and from the data loader
# whenever anything else runs (measured on 2 cores beside two busy
# processes: 3.3 s per light-config step spinning, 0.92 s sleeping; alone
# 0.50 vs 0.55 s).
os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

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
