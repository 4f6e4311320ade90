"""Fixes for the pinned OpenMMLab stack on current Python and torch.

Applied once, on ``import mmseqnet`` (our tools import it before they read a
config), so users need no patched environment:

- torch >= 2.6 loads with ``weights_only=True`` by default. MMEngine 0.10
  checkpoints hold the message hub and other Python objects next to the
  weights, so resuming (and ``load_from``) fails. Local checkpoints are loaded
  as full pickles again, as they were before torch 2.6: the user names them.
- MMEngine 0.10 decides that a classic config is a "lazy import" config when
  it imports a module it does not recognise as built in. Inside a virtual
  environment it does not recognise the standard library (``import os``),
  and then rejects ``_base_ = [...]``. The standard library is built in.
"""
import os.path as osp
import sys

import torch
from mmengine.config import config as mmengine_config
from mmengine.config import utils as mmengine_config_utils
from mmengine.runner.checkpoint import CheckpointLoader


@CheckpointLoader.register_scheme(prefixes='', force=True)
def load_from_local(filename: str, map_location=None):
    """Load a local MMEngine checkpoint, Python objects included.

    Args:
        filename (str): Path of the checkpoint file.
        map_location (str, optional): Same as :func:`torch.load`.

    Returns:
        dict or OrderedDict: The loaded checkpoint.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'Checkpoint file {filename} does not exist.')
    return torch.load(filename, map_location=map_location, weights_only=False)


_is_builtin_module = mmengine_config_utils._is_builtin_module


def is_builtin_module(module_name: str) -> bool:
    """Like MMEngine's check, but the standard library always counts."""
    top_level = module_name.split('.')[0]
    return (top_level in sys.stdlib_module_names
            or _is_builtin_module(module_name))


if _is_builtin_module.__module__ == mmengine_config_utils.__name__:
    mmengine_config_utils._is_builtin_module = is_builtin_module
    mmengine_config._is_builtin_module = is_builtin_module
