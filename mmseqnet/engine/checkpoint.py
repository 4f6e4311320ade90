"""Checking that a checkpoint fits a model before its weights are used."""
import re
from typing import List, Mapping, Sequence

from mmengine.model import is_model_wrapper
from torch import nn

# Entries listed per kind in the error message; the counts are complete.
_LISTED = 10


class CheckpointMismatchError(RuntimeError):
    """A checkpoint does not fit the model it is loaded into."""


def check_checkpoint_fits(model: nn.Module,
                          checkpoint: Mapping,
                          source: str,
                          ignore_keys: Sequence[str] = ()) -> None:
    """Raise if loading ``checkpoint`` would leave part of ``model`` unset.

    mmengine loads weights non-strictly and only logs what does not fit:
    the model then keeps initial values for those weights and gives wrong
    numbers. Keys are compared as mmengine loads them (the ``state_dict``
    entry or the whole dict, ``module.`` prefixes removed; a missing
    BatchNorm ``num_batches_tracked`` does not count).

    Args:
        model (nn.Module): The model (or its DDP wrapper).
        checkpoint (Mapping): The loaded checkpoint.
        source (str): Where the checkpoint came from, for the message.
        ignore_keys (Sequence[str]): Regular expressions (``re.search``) of
            state-dict keys allowed not to fit, e.g. ``'loss_reid'`` for
            the training-only OIM tables of a model trained on another
            dataset. Defaults to ().

    Raises:
        CheckpointMismatchError: Listing the model entries missing from the
            checkpoint, the checkpoint entries the model does not have and
            those of another shape.
    """
    if is_model_wrapper(model):
        model = model.module
    state_dict = checkpoint.get('state_dict', checkpoint)
    loaded = {re.sub(r'^module\.', '', k): v for k, v in state_dict.items()}
    expected = model.state_dict()
    ignored = [re.compile(pattern) for pattern in ignore_keys]

    def kept(keys: List[str]) -> List[str]:
        return [k for k in keys if not any(p.search(k) for p in ignored)]

    missing = kept([
        k for k in expected
        if k not in loaded and not k.endswith('num_batches_tracked')
    ])
    unexpected = kept([k for k in loaded if k not in expected])
    reshaped = [
        f'{k} (checkpoint {tuple(loaded[k].shape)}, model '
        f'{tuple(expected[k].shape)})' for k in kept(list(expected))
        if k in loaded and hasattr(loaded[k], 'shape')
        and tuple(loaded[k].shape) != tuple(expected[k].shape)
    ]
    if not (missing or unexpected or reshaped):
        return

    def listing(title: str, keys: List[str]) -> str:
        more = (f' ... and {len(keys) - _LISTED} more'
                if len(keys) > _LISTED else '')
        return f'\n  {len(keys)} {title}: {", ".join(keys[:_LISTED])}{more}'

    details = ''.join(
        listing(title, keys)
        for title, keys in (('model entries missing from the checkpoint',
                             missing),
                            ('checkpoint entries the model does not have',
                             unexpected), ('entries of another shape',
                                           reshaped)) if keys)
    raise CheckpointMismatchError(
        f'Checkpoint {source} does not fit the model '
        f'{type(model).__name__} built from the config:{details}\n'
        'Loading it would leave these weights at their initial values and '
        'give wrong results. Use the config the checkpoint was trained '
        'with (convert original SeqNet checkpoints with '
        'tools/model_converters/seqnet_to_mmseqnet.py); entries not used '
        'for inference can be listed in ignore_keys (tools/test.py '
        '--ignore-keys).')
