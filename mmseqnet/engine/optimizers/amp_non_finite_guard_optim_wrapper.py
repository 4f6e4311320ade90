"""``AmpOptimWrapper`` with the non-finite loss guard."""
from mmdet.registry import OPTIM_WRAPPERS
from mmengine.optim import AmpOptimWrapper

from .non_finite_loss_guard import NonFiniteLossGuardMixin


@OPTIM_WRAPPERS.register_module()
class AmpNonFiniteGuardOptimWrapper(NonFiniteLossGuardMixin, AmpOptimWrapper):
    """mmengine's ``AmpOptimWrapper`` that skips non-finite-loss iterations.

    See :class:`NonFiniteLossGuardMixin`. A skipped iteration does not touch
    the loss scaler; ``GradScaler`` itself still skips steps whose
    gradients overflow (and lowers the scale). Needs a GPU, as
    ``AmpOptimWrapper`` does.

    Args:
        max_consecutive_skips (int): Skipped iterations in a row before the
            run stops. Defaults to 10.
        restore_buffers (bool): Undo the buffer updates of a skipped
            iteration. Defaults to True.
        **kwargs: Arguments of :class:`mmengine.optim.AmpOptimWrapper`
            (``loss_scale``, ``dtype``, ...).
    """
