import time
from unittest.mock import MagicMock

import pytest

from mmseqnet.engine.hooks import MachineLoadHook
from mmseqnet.engine.hooks import machine_load_hook as module


def fake_clock(monkeypatch, readings):
    """Each snapshot reads the next (wall, all programs, this run) triple."""
    readings = iter(readings)
    current = {}

    def perf_counter():
        current.update(zip(('wall', 'busy', 'own'), next(readings)))
        return current['wall']

    monkeypatch.setattr(module.time, 'perf_counter', perf_counter)
    monkeypatch.setattr(module, '_busy_cpu_seconds', lambda: current['busy'])
    monkeypatch.setattr(module, '_own_cpu_seconds', lambda: current['own'])


def run(hook, iters):
    runner = MagicMock()
    runner.iter = 0
    hook.before_train(runner)
    for i in range(iters):
        runner.iter = i
        hook.after_train_iter(runner, i)
    return runner.logger


@pytest.mark.parametrize('others_busy, warned', [(0.2, False), (1.5, True)])
def test_rate_and_busy_warning(monkeypatch, others_busy, warned):
    # 10 iterations in 5 s; this run used 2 cores, other programs
    # ``others_busy`` cores.
    fake_clock(monkeypatch, [(0, 0, 0), (5, 5 * (2 + others_busy), 10)])
    logger = run(MachineLoadHook(interval=10), 10)
    log = logger.warning if warned else logger.info
    assert log.call_count == 1
    message = log.call_args[0][0]
    assert '2.00 iterations/s (0.500 s each)' in message
    assert f'other programs used {others_busy:.1f} of' in message
    assert ('the machine is busy' in message) == warned
    (logger.info if warned else logger.warning).assert_not_called()


def test_reports_every_interval(monkeypatch):
    fake_clock(monkeypatch, [(0, 0, 0), (1, 2, 2), (3, 4, 4)])
    logger = run(MachineLoadHook(interval=4), 8)
    assert logger.info.call_count == 2
    # The second report covers only its own stretch: 4 iterations in 2 s.
    assert '2.00 iterations/s' in logger.info.call_args[0][0]


def test_real_counters_move_forward():
    busy = module._busy_cpu_seconds()
    own = module._own_cpu_seconds()
    # The kernel counts CPU time in clock ticks (10 ms): work well past one.
    start = time.process_time()
    while time.process_time() - start < 0.05:
        sum(i * i for i in range(10000))
    if busy is not None:
        assert module._busy_cpu_seconds() >= busy
    assert module._own_cpu_seconds() > own
