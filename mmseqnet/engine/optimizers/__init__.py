from .amp_non_finite_guard_optim_wrapper import AmpNonFiniteGuardOptimWrapper
from .non_finite_guard_optim_wrapper import NonFiniteGuardOptimWrapper
from .non_finite_loss_guard import NonFiniteLossGuardMixin

__all__ = [
    'AmpNonFiniteGuardOptimWrapper', 'NonFiniteGuardOptimWrapper',
    'NonFiniteLossGuardMixin'
]
