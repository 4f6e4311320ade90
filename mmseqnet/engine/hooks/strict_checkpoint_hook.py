"""Stopping when a loaded checkpoint does not fit the model."""
from typing import Sequence

from mmdet.registry import HOOKS
from mmengine.hooks import Hook

from ..checkpoint import check_checkpoint_fits


@HOOKS.register_module()
class StrictCheckpointHook(Hook):
    """Raises before the weights of a checkpoint that does not fit are used.

    mmengine's ``Runner`` loads ``load_from`` non-strictly: missing,
    unexpected and mis-shaped entries are only logged, and an evaluation
    then reports wrong numbers without failing. In ``after_load_checkpoint``
    (called by ``Runner.load_checkpoint`` and ``Runner.resume`` before the
    weights are copied) this hook checks the checkpoint with
    :func:`~mmseqnet.engine.check_checkpoint_fits` on every rank, which
    raises :class:`~mmseqnet.engine.CheckpointMismatchError` listing the
    entries that do not fit. ``tools/test.py`` adds it; a fine-tuning config
    that loads another model's checkpoint on purpose should not.

    Args:
        ignore_keys (Sequence[str]): Regular expressions of state-dict keys
            allowed not to fit. Defaults to ().
    """

    def __init__(self, *, ignore_keys: Sequence[str] = ()) -> None:
        self.ignore_keys = tuple(ignore_keys)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Check ``checkpoint`` against ``runner.model``.

        Args:
            runner (Runner): The runner.
            checkpoint (dict): The checkpoint about to be loaded.
        """
        source = runner.cfg.get('load_from') or 'being loaded'
        check_checkpoint_fits(runner.model, checkpoint, source,
                              self.ignore_keys)
