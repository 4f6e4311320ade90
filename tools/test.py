"""Evaluate an mmseqnet model (one process, torchrun, Slurm, ``mim test``).

One run processes every gallery image and every query of the test split and
reports detection and person-search metrics (with and without CBGM).
"""
import os

# The imports below must come after the OpenMP setting: isort leaves them
# alone.
# isort: off
# Before torch starts OpenMP: waiting threads spin briefly, then sleep (why
# and measured: tools/train.py).
if not {'OMP_WAIT_POLICY', 'GOMP_SPINCOUNT'} & set(os.environ):
    os.environ['GOMP_SPINCOUNT'] = '3000'

import argparse  # noqa: E402

from mmengine.evaluator import DumpResults  # noqa: E402

from mmseqnet.utils.runner_cli import (  # noqa: E402
    add_runner_args, build_runner, load_runner_config)
# isort: on


def parse_args():
    parser = argparse.ArgumentParser(description='Test a SeqNet model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument(
        '--out', help='also dump the raw predictions to this pickle file')
    parser.add_argument(
        '--ignore-keys',
        nargs='+',
        default=[],
        metavar='REGEX',
        help='checkpoint entries allowed not to fit the model, e.g. '
        'loss_reid (the training-only OIM tables) for a model trained on '
        'another dataset')
    add_runner_args(parser, 'test_evaluator.cbgm=False')
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = load_runner_config(args)
    cfg.load_from = args.checkpoint
    # mmengine loads load_from non-strictly: weights that do not fit would
    # keep their initial values and give wrong numbers. Stop instead.
    cfg.custom_hooks = cfg.get('custom_hooks', []) + [
        dict(type='StrictCheckpointHook', ignore_keys=args.ignore_keys)
    ]

    runner = build_runner(cfg)
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out must end with .pkl, got {args.out}')
        runner.test_evaluator.metrics.append(
            DumpResults(out_file_path=args.out))
    runner.test()


if __name__ == '__main__':
    main()
