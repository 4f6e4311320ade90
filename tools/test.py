"""Evaluate an mmseqnet checkpoint (single process, torchrun, Slurm or ``mim test``).

One run processes every gallery image and every query of the test split and
reports detection and person-search metrics (with and without CBGM).
"""
import argparse
import os
import os.path as osp

import mmseqnet  # noqa: F401  (registers components, applies stack fixes)
from mmengine.config import Config, DictAction
from mmengine.evaluator import DumpResults
from mmengine.registry import RUNNERS
from mmengine.runner import Runner


def parse_args():
    parser = argparse.ArgumentParser(description='Test a SeqNet model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where the logs and metrics go')
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
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config settings, e.g. '
        'test_evaluator.cbgm=False')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    # mmengine loads load_from non-strictly: weights that do not fit would
    # keep their initial values and give wrong numbers. Stop instead.
    cfg.custom_hooks = cfg.get('custom_hooks', []) + [
        dict(type='StrictCheckpointHook', ignore_keys=args.ignore_keys)
    ]

    runner = (Runner.from_cfg(cfg)
              if 'runner_type' not in cfg else RUNNERS.build(cfg))
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out must end with .pkl, got {args.out}')
        runner.test_evaluator.metrics.append(
            DumpResults(out_file_path=args.out))
    runner.test()


if __name__ == '__main__':
    main()
