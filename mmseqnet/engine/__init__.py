from .checkpoint import CheckpointMismatchError, check_checkpoint_fits
from .hooks import RandomStateHook, StrictCheckpointHook
from .optimizers import (AmpNonFiniteGuardOptimWrapper,
                         NonFiniteGuardOptimWrapper, NonFiniteLossGuardMixin)

__all__ = [
    'CheckpointMismatchError', 'check_checkpoint_fits', 'RandomStateHook',
    'StrictCheckpointHook',
    'AmpNonFiniteGuardOptimWrapper', 'NonFiniteGuardOptimWrapper',
    'NonFiniteLossGuardMixin'
]
