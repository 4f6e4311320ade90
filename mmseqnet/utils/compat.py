"""Fixes for the pinned OpenMMLab stack on current Python and torch.

Applied once, on ``import mmseqnet`` (our tools import it before they read a
config), so users need no patched environment:

- torch >= 2.6 loads with ``weights_only=True`` by default. MMEngine 0.10
  checkpoints hold the message hub and other Python objects next to the
  weights, so resuming (and ``load_from``) fails. Local checkpoints are loaded
  as full pickles again, as they were before torch 2.6: the user names them.
- Pretrained weights named by URL fail with a bare ``URLError`` deep in
  urllib when the machine is offline. The error now says which file was
  wanted and how to provide it (or train without it).
- MMEngine 0.10 decides that a classic config is a "lazy import" config when
  it imports a module it does not recognise as built in. Inside a virtual
  environment it does not recognise the standard library (``import os``),
  and then rejects ``_base_ = [...]``. The standard library is built in.
"""
import os.path as osp
import sys
from urllib.error import URLError

import torch
from mmengine.config import config as mmengine_config
from mmengine.config import utils as mmengine_config_utils
from mmengine.runner import checkpoint as mmengine_checkpoint
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


_load_from_http = mmengine_checkpoint.load_from_http


@CheckpointLoader.register_scheme(
    prefixes=('http://', 'https://'), force=True)
def load_from_http(filename: str, map_location=None, **kwargs):
    """Download (once, into torch's hub cache) and load a checkpoint.

    Args:
        filename (str): URL of the checkpoint.
        map_location (str, optional): Same as :func:`torch.load`.
        **kwargs: Passed to MMEngine's loader (``model_dir``, ``progress``).

    Returns:
        dict or OrderedDict: The loaded checkpoint.
    """
    try:
        return _load_from_http(filename, map_location=map_location, **kwargs)
    except (URLError, ConnectionError, TimeoutError) as e:
        name = osp.basename(filename)
        hub_dir = osp.join(torch.hub.get_dir(), 'checkpoints')
        raise RuntimeError(
            f'Cannot download {filename} ({e}). Copy {name} into {hub_dir} '
            'on this machine, or point the config at a local copy (e.g. '
            '--cfg-options model.backbone.init_cfg.checkpoint=PATH '
            'model.roi_head.box_head.init_cfg.checkpoint=PATH '
            'model.roi_head.reid_head.init_cfg.checkpoint=PATH), or train '
            'from random weights with those init_cfg set to None.') from e


_is_builtin_module = mmengine_config_utils._is_builtin_module


def is_builtin_module(module_name: str) -> bool:
    """Like MMEngine's check, but the standard library always counts."""
    top_level = module_name.split('.')[0]
    return (top_level in sys.stdlib_module_names
            or _is_builtin_module(module_name))


if _is_builtin_module.__module__ == mmengine_config_utils.__name__:
    mmengine_config_utils._is_builtin_module = is_builtin_module
    mmengine_config._is_builtin_module = is_builtin_module
