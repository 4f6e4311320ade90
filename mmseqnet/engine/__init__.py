from .checkpoint import CheckpointMismatchError, check_checkpoint_fits
from .hooks import StrictCheckpointHook
from .optimizers import (AmpNonFiniteGuardOptimWrapper,
                         NonFiniteGuardOptimWrapper, NonFiniteLossGuardMixin)

__all__ = [
    'CheckpointMismatchError', 'check_checkpoint_fits', 'StrictCheckpointHook',
    'AmpNonFiniteGuardOptimWrapper', 'NonFiniteGuardOptimWrapper',
    'NonFiniteLossGuardMixin'
]
