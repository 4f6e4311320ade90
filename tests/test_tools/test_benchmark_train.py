"""tools/analysis_tools/benchmark_train.py on the light config, small data."""
import os.path as osp
import sys

from mmseqnet.testing import REPO_ROOT, load_tool

PARTS = ('backbone', 'rpn', 'roi heads', 'backward + optimizer')


def test_main_times_each_variant_part_by_part(synthetic_prw_root, capsys,
                                              monkeypatch):
    tool = load_tool('analysis_tools/benchmark_train.py')
    config = osp.join(REPO_ROOT, 'configs', 'seqnet_light_synthetic_prw.py')
    monkeypatch.setattr(sys, 'argv', [
        'benchmark_train.py', config, '--cfg-options',
        f'train_dataloader.dataset.data_root={synthetic_prw_root}',
        'train_dataloader.batch_size=2', '--steps', '2', '--rounds', '1',
        '--warmup', '1', '--batches', '2', '--threads', '1', '--profile',
        '5', '--variant', 'nchw', 'model.channels_last=False'
    ])
    tool.main()
    out = capsys.readouterr().out
    header = next(line for line in out.splitlines()
                  if line.startswith('| variant'))
    assert all(part in header for part in PARTS)
    rows = {
        line.split(' | ')[0][2:]: line
        for line in out.splitlines() if line.startswith('| ')
    }
    assert rows['config'].split(' | ')[3] == '1.00x'
    assert 'nchw' in rows
    assert 'Operators of 3 steps of "config"' in out
    assert 'Self CPU' in out
