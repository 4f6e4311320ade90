"""``OptimWrapper`` with the non-finite loss guard."""
from mmdet.registry import OPTIM_WRAPPERS
from mmengine.optim import OptimWrapper

from .non_finite_loss_guard import NonFiniteLossGuardMixin


@OPTIM_WRAPPERS.register_module()
class NonFiniteGuardOptimWrapper(NonFiniteLossGuardMixin, OptimWrapper):
    """mmengine's ``OptimWrapper`` that skips non-finite-loss iterations.

    See :class:`NonFiniteLossGuardMixin`. Config::

        optim_wrapper = dict(
            type='NonFiniteGuardOptimWrapper',
            max_consecutive_skips=10,
            optimizer=dict(type='SGD', lr=0.003, momentum=0.9))

    Args:
        max_consecutive_skips (int): Skipped iterations in a row before the
            run stops. Defaults to 10.
        restore_buffers (bool): Undo the buffer updates of a skipped
            iteration. Defaults to True.
        **kwargs: Arguments of :class:`mmengine.optim.OptimWrapper`.
    """
