from .machine_load_hook import MachineLoadHook
from .random_state_hook import RandomStateHook
from .strict_checkpoint_hook import StrictCheckpointHook

__all__ = ['MachineLoadHook', 'RandomStateHook', 'StrictCheckpointHook']
