"""tools/analysis_tools/benchmark_metric.py on a small synthetic split."""
import importlib.util
import sys
from pathlib import Path

TOOL = (
    Path(__file__).resolve().parents[2] / 'tools' / 'analysis_tools' /
    'benchmark_metric.py')


def test_main_times_every_stage_and_reports_the_metrics(capsys, monkeypatch):
    spec = importlib.util.spec_from_file_location('benchmark_metric', TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    monkeypatch.setattr(sys, 'argv', [
        str(TOOL), '--num-queries', '30', '--num-images', '60', '--num-ids',
        '20', '--threads', '1'
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
