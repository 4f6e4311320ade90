"""tools/analysis_tools/benchmark_ann.py on a small synthetic gallery."""
import sys
from importlib.util import find_spec

import pytest

from mmseqnet.testing import load_tool


@pytest.mark.skipif(
    find_spec('faiss') is None,
    reason='faiss is an optional extra: pip install mmseqnet[search]')
def test_main_reports_every_method(capsys, monkeypatch, tmp_path):
    tool = load_tool('analysis_tools/benchmark_ann.py')
    argv = [
        'benchmark_ann.py', '--sizes', '6000', '--dim', '32', '--work-dir',
        str(tmp_path), '--nlist', '16', '--pq-m', '16', '--nprobe', '1', '16',
        '--candidates', '100', '--num-queries', '20', '--exact-queries', '5',
        '--dets-per-id', '20', '--threads', '1'
    ]
    monkeypatch.setattr(sys, 'argv', argv)
    tool.main()
    out = capsys.readouterr().out
    rows = [line.split(' | ') for line in out.splitlines()
            if line.startswith('| 6,000 |')]
    table = {row[1]: [float(v.strip(' |')) for v in row[2:]] for row in rows}
    assert list(table) == [
        'numpy brute force (memory map)', 'faiss exact (Flat)',
        'IVF16,PQ16x4fs nprobe=1 raw',
        'IVF16,PQ16x4fs nprobe=1 best 100 re-scored',
        'IVF16,PQ16x4fs nprobe=16 raw',
        'IVF16,PQ16x4fs nprobe=16 best 100 re-scored'
    ]
    build, recall = {k: v[0] for k, v in table.items()}, {
        k: v[1] for k, v in table.items()}
    assert recall['numpy brute force (memory map)'] == 1.0
    assert recall['faiss exact (Flat)'] == 1.0
    # Every list probed and the candidates re-scored: (nearly) exact; one
    # list of 16 misses many.
    assert recall['IVF16,PQ16x4fs nprobe=16 best 100 re-scored'] >= 0.95
    assert recall['IVF16,PQ16x4fs nprobe=1 best 100 re-scored'] < 0.9
    assert recall['IVF16,PQ16x4fs nprobe=16 raw'] <= recall[
        'IVF16,PQ16x4fs nprobe=16 best 100 re-scored']
    assert all(v >= 0 for v in build.values())
    assert 'CPUs; 1 threads; 20 queries' in out
    # A second run reuses the gallery written by the first.
    tool.main()
    assert '6000 detections (0.0 GB) reused from' in capsys.readouterr().out
    assert len(list(tmp_path.glob('*.npy'))) == 1
