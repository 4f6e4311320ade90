"""Skipping the optimizer update of an iteration with a non-finite loss."""
import logging
from contextlib import contextmanager
from typing import Dict, Optional

import torch
from mmengine.dist import all_gather_object, all_reduce, get_rank
from mmengine.logging import MessageHub, print_log
from torch import Tensor, nn

_HINT = ('Usual causes: a learning rate too high for the batch size (lower '
         'it or lengthen the warm-up), exploding gradients (set '
         'optim_wrapper.clip_grad), degenerate annotations (see '
         'docs/robustness.md).')


class NonFiniteLossGuardMixin:
    """Skips the update of an iteration whose loss is NaN or infinite.

    Mixed in before an mmengine ``OptimWrapper`` class (see
    :class:`NonFiniteGuardOptimWrapper` and
    :class:`AmpNonFiniteGuardOptimWrapper`). In :meth:`update_params`, before
    the backward pass, every rank reports whether its loss is finite and
    all ranks take the same decision (one all-reduce of a flag). When some
    rank's loss is not finite, every rank skips the iteration:

    - no backward pass on any rank, so DDP has no gradient bucket half
      reduced; the iteration still counts for gradient accumulation. At an
      update boundary the gradients accumulated so far are dropped (under
      DDP they were never synchronised), between boundaries they are kept;
    - no optimizer step: parameters and optimizer state stay as they were;
    - with ``restore_buffers``, the buffers changed by the forward pass
      (BatchNorm statistics, the OIM look-up table and queue) get back their
      values from before it, so the skipped batch leaves no trace;
    - a warning names the iteration, the non-finite loss terms of each rank
      and the counts. After more than ``max_consecutive_skips`` skips in a
      row, every rank raises ``FloatingPointError`` instead: the run stops
      before any non-finite update, the last checkpoint is intact.

    The loss terms and the buffer copy are taken in :meth:`optim_context`,
    which mmengine's ``train_step`` (plain and DDP) enters around the
    forward pass. Only the loss is checked: with AMP, ``GradScaler``
    already skips steps with non-finite gradients.

    Args:
        max_consecutive_skips (int): Skipped iterations in a row before the
            run stops; 0 stops at the first non-finite loss.
            Defaults to 10.
        restore_buffers (bool): Undo the forward pass's buffer updates in a
            skipped iteration (one copy of the buffers per iteration).
            Defaults to True.
        **kwargs: Arguments of the optim wrapper class mixed with.
    """

    def __init__(self,
                 *,
                 max_consecutive_skips: int = 10,
                 restore_buffers: bool = True,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        if max_consecutive_skips < 0:
            raise ValueError('max_consecutive_skips must be >= 0, got '
                             f'{max_consecutive_skips}')
        self.max_consecutive_skips = max_consecutive_skips
        self.restore_buffers = restore_buffers
        self.skipped_updates = 0
        self.consecutive_skips = 0
        self._model: Optional[nn.Module] = None
        self._buffers: Optional[Dict[str, Tensor]] = None
        self._loss_terms: Optional[dict] = None

    @contextmanager
    def optim_context(self, model: nn.Module):
        """The wrapped class's context, also keeping what a skip needs.

        Args:
            model (nn.Module): The training model (or its DDP wrapper).
        """
        self._model = model
        self._buffers = ({
            name: buf.detach().clone()
            for name, buf in model.named_buffers()
        } if self.restore_buffers else None)
        self._loss_terms = None
        # The wrapper only receives the summed loss; the model's output
        # names the terms for the warning.
        handle = model.register_forward_hook(self._keep_loss_terms)
        try:
            with super().optim_context(model):
                yield
        finally:
            handle.remove()

    def _keep_loss_terms(self, module: nn.Module, args: tuple, output) -> None:
        if isinstance(output, dict):
            self._loss_terms = output

    def update_params(self,
                      loss: Tensor,
                      step_kwargs: Optional[dict] = None,
                      zero_kwargs: Optional[dict] = None) -> None:
        """Update as the wrapped class does, or skip on a non-finite loss.

        Args:
            loss (Tensor): The summed loss of this rank.
            step_kwargs (dict, optional): Arguments of ``step``.
                Defaults to None.
            zero_kwargs (dict, optional): Arguments of ``zero_grad``.
                Defaults to None.
        """
        model, buffers, terms = self._model, self._buffers, self._loss_terms
        self._model = self._buffers = self._loss_terms = None
        non_finite = (~torch.isfinite(loss.detach())).any().reshape(1).int()
        all_reduce(non_finite, op='max')
        if non_finite.item():
            self._skip(loss, model, buffers, terms, zero_kwargs or {})
        else:
            self.consecutive_skips = 0
            super().update_params(loss, step_kwargs, zero_kwargs)

    def _skip(self, loss: Tensor, model: Optional[nn.Module],
              buffers: Optional[Dict[str, Tensor]], terms: Optional[dict],
              zero_kwargs: dict) -> None:
        """Skip this iteration on every rank, then warn or stop."""
        # backward() counts iterations; keep the accumulation schedule.
        self._inner_count += 1
        if self.should_update():
            self.zero_grad(**zero_kwargs)
        if model is not None and buffers is not None:
            current = dict(model.named_buffers())
            with torch.no_grad():
                for name, saved in buffers.items():
                    if name in current:
                        current[name].copy_(saved)
        self.skipped_updates += 1
        self.consecutive_skips += 1
        reports = all_gather_object(
            (get_rank(), self._non_finite_terms(loss, terms)))
        where = '; '.join(
            f'rank {rank}: {report}' if len(reports) > 1 else report
            for rank, report in reports if report)
        iteration = MessageHub.get_current_instance().get_info('iter')
        at = '' if iteration is None else f' at iteration {iteration + 1}'
        if self.consecutive_skips > self.max_consecutive_skips:
            raise FloatingPointError(
                f'Non-finite loss{at} ({where}): {self.consecutive_skips} '
                'iterations in a row had a non-finite loss, more than '
                f'max_consecutive_skips={self.max_consecutive_skips}; '
                'stopping. None of them updated the weights, the last '
                f'checkpoint is intact. {_HINT}')
        print_log(
            f'Non-finite loss{at} ({where}): skipped the update on every '
            f'rank ({self.consecutive_skips} in a row, '
            f'{self.skipped_updates} in this run; the run stops after '
            f'{self.max_consecutive_skips + 1} in a row). {_HINT}',
            logger='current',
            level=logging.WARNING)

    @staticmethod
    def _non_finite_terms(loss: Tensor, terms: Optional[dict]) -> str:
        """``'name=value, ...'`` of this rank's non-finite loss terms
        (summed as mmengine's ``parse_losses`` sums them), '' if none."""
        if bool(torch.isfinite(loss.detach()).all()):
            return ''
        named = []
        for name, value in (terms or {}).items():
            if 'loss' not in name:
                continue
            if isinstance(value, Tensor):
                value = value.detach().float().mean()
            elif isinstance(value, (list, tuple)) and all(
                    isinstance(v, Tensor) for v in value):
                value = sum(v.detach().float().mean() for v in value)
            else:
                continue
            if not bool(torch.isfinite(value)):
                named.append(f'{name}={value.item():.4g}')
        # Finite terms can still overflow when summed.
        return ', '.join(named) or f'loss={loss.detach().item():.4g}'
