"""Carry the random number generators' state through checkpoints."""
import random

import numpy as np
import torch
from mmdet.registry import HOOKS
from mmengine.hooks import Hook


@HOOKS.register_module()
class RandomStateHook(Hook):
    """Save the RNG states with every checkpoint and restore them on resume.

    MMEngine restores weights, optimizer, schedulers, the message hub and
    the sampler's epoch, but reseeds the generators from the config seed.
    Proposal sampling (``RandomSampler``) and main-process augmentations
    then draw other numbers than the run that wrote the checkpoint did, so a
    resumed run drifts from an uninterrupted one. With the states restored
    (and ``randomness.deterministic=True``) it continues exactly.

    Data-loader workers are seeded by MMEngine per worker, so their
    augmentations repeat whatever this hook does.
    """

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state = dict(
            python=random.getstate(),
            numpy=np.random.get_state(),
            torch=torch.get_rng_state())
        if torch.cuda.is_available() and torch.cuda.is_initialized():
            state['cuda'] = torch.cuda.get_rng_state_all()
        checkpoint['random_state'] = state

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('random_state')
        # Only a resumed run continues the generators; a checkpoint loaded
        # as initial weights (load_from without resume) does not.
        if state is None or not runner._resume:
            return
        random.setstate(state['python'])
        np.random.set_state(state['numpy'])
        torch.set_rng_state(state['torch'])
        if 'cuda' in state and torch.cuda.is_available():
            cuda_states = state['cuda']
            if len(cuda_states) == torch.cuda.device_count():
                torch.cuda.set_rng_state_all(cuda_states)
