"""Report the training speed and warn when other programs share the CPU."""
import os
import time
from typing import Optional

from mmdet.registry import HOOKS
from mmengine.hooks import Hook

try:
    import psutil
except ImportError:  # not on every machine; the hook then only logs speed
    psutil = None


def _busy_cpu_seconds() -> Optional[float]:
    """CPU seconds spent by every program since boot (Linux), else None."""
    try:
        with open('/proc/stat') as f:
            fields = f.readline().split()[1:]
    except OSError:
        return None
    # user nice system idle iowait irq softirq steal ...
    ticks = [int(v) for v in fields]
    busy = sum(ticks) - ticks[3] - (ticks[4] if len(ticks) > 4 else 0)
    return busy / os.sysconf('SC_CLK_TCK')


def _own_cpu_seconds() -> float:
    """CPU seconds of this process and its children (data-loader workers)."""
    if psutil is None:
        return time.process_time()
    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    for child in me.children(recursive=True):
        try:
            total += sum(child.cpu_times()[:2])
        except psutil.Error:  # a worker that just ended
            pass
    return total


@HOOKS.register_module()
class MachineLoadHook(Hook):
    """Log iterations per second; warn when other programs take CPU time.

    On a 2-core machine another busy process slows CPU training several-fold
    (the OpenMP threads of torch wait for cores), and the run then takes much
    longer than its measured budget. Every ``interval`` iterations the hook
    logs the rate it sees and, when programs other than this run (and its
    data-loader workers) used more than ``busy_cores`` cores over that
    stretch, a warning that says so.

    Args:
        interval (int): Iterations between two reports. Defaults to 100.
        busy_cores (float): Cores used by other programs above which the
            machine counts as busy. Defaults to 0.5.
    """

    priority = 'BELOW_NORMAL'

    def __init__(self, interval: int = 100, busy_cores: float = 0.5) -> None:
        self.interval = interval
        self.busy_cores = busy_cores
        self._start = None

    def _snapshot(self) -> tuple:
        return time.perf_counter(), _busy_cpu_seconds(), _own_cpu_seconds()

    def before_train(self, runner) -> None:
        self._start = self._snapshot()

    def after_train_iter(self,
                         runner,
                         batch_idx: int,
                         data_batch=None,
                         outputs=None) -> None:
        if not self.every_n_train_iters(runner, self.interval):
            return
        (wall0, busy0, own0), (wall1, busy1, own1) = (self._start,
                                                      self._snapshot())
        self._start = (wall1, busy1, own1)
        seconds = max(wall1 - wall0, 1e-9)
        message = (f'{self.interval / seconds:.2f} iterations/s '
                   f'({seconds / self.interval:.3f} s each)')
        if busy0 is not None and busy1 is not None:
            others = max(0.0, (busy1 - busy0) - (own1 - own0)) / seconds
            message += (f'; other programs used {others:.1f} of '
                        f'{os.cpu_count()} cores')
            if others > self.busy_cores:
                runner.logger.warning(
                    message + ': the machine is busy, so training is '
                    'slower than it would be alone. Stop other heavy '
                    'programs for the measured speed.')
                return
        runner.logger.info(message)
