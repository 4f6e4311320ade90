"""tools/analysis_tools/benchmark_metric.py on a small synthetic split."""
import sys

from mmseqnet.testing import load_tool


def test_main_times_every_stage_and_reports_the_metrics(capsys, monkeypatch):
    tool = load_tool('analysis_tools/benchmark_metric.py')
    monkeypatch.setattr(sys, 'argv', [
        'benchmark_metric.py', '--num-queries', '30', '--num-images', '60',
        '--num-ids', '20', '--threads', '1'
    ])
    tool.main()
    lines = capsys.readouterr().out.splitlines()
    table = {line.split()[0]: line.split()[1:3] for line in lines[2:-1]}
    assert list(table) == [
        'process', 'detection', 'search', 'search_cbgm', 'search_mv',
        'search_mv_cbgm', 'sum', 'compute_metrics', 'total'
    ]
    for wall, cpu in table.values():
        assert float(wall) >= 0 and float(cpu) >= 0
    metrics = dict(item.split('=') for item in lines[-1].split(', '))
    for key in ('mAP', 'mAP_cbgm', 'mAP_mv', 'mAP_mv_cbgm', 'det_AP'):
        assert 0 < float(metrics[key]) <= 1
