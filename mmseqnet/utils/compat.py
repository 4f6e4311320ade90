"""Everything ``import mmseqnet`` changes in MMEngine, mmdet and mmpretrain,
and why.

Applied once, on ``import mmseqnet`` (our tools import it before they read a
config), so users need no patched environment. This is the complete list;
nothing else in mmseqnet alters another library's behaviour:

1. Checkpoints load weights-only (no code can run from a ``.pth`` file),
   and MMEngine checkpoints still resume:

   - the objects MMEngine checkpoints hold besides tensors (message-hub
     ``HistoryBuffer``, numpy arrays, scalars and dtypes; see
     :mod:`mmseqnet.utils.safe_loading`) are allow-listed with
     ``torch.serialization.add_safe_globals``, so resume, ``load_from``,
     ``tools/test.py``, ``init_detector`` and ``PersonSearcher`` work with
     ``weights_only=True``;
   - local files (MMEngine's ``''`` scheme) load through
     :func:`~mmseqnet.utils.safe_loading.load_checkpoint_file`, which
     passes ``weights_only=True`` explicitly (MMEngine 0.10 passes nothing,
     so torch < 2.6 and ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` would
     unpickle in full) and names the file and the refused object when it
     refuses one;
   - downloads (``http(s)://``, ``torchvision://``, ``open-mmlab://``,
     ``mmcls://``) go through MMEngine's ``load_url``, i.e. torch.hub's
     ``load_state_dict_from_url``, whose default is a FULL unpickle even on
     torch >= 2.6; it is replaced by
     :func:`~mmseqnet.utils.safe_loading.load_checkpoint_url`
     (weights-only);
   - a file that truly needs a full unpickle loads only when the user sets
     ``MMSEQNET_UNSAFE_LOAD=1``, with a warning each time.

2. Pretrained weights named by URL fail with a bare ``URLError`` deep in
   urllib when the machine is offline. The error now says which file was
   wanted and how to provide it (or train without it).

3. MMEngine 0.10 decides that a classic config is a "lazy import" config
   when it imports a module it does not recognise as built in. Inside a
   virtual environment it does not recognise the standard library
   (``import os``), and then rejects ``_base_ = [...]``. The standard
   library is built in.

4. mmdet's ``DetInferencer`` refuses a test pipeline without mmcv's
   ``LoadImageFromFile``; mmseqnet's configs load with the checked
   ``LoadCheckedImageFromFile``. For such a pipeline (only where mmdet would
   raise) ``DetInferencer._init_pipeline`` builds the pipeline with
   :func:`mmseqnet.apis.build_inference_pipeline`; every other pipeline is
   handled by mmdet as before. The patch sits beside that function in
   ``mmseqnet/apis/inference_pipeline.py`` (the utilities do not import the
   API layer).

5. mmpretrain's model registry imports all of ``mmpretrain.models`` on its
   first lookup, and its multimodal parts import torchvision, which mmseqnet
   does not need (and which has no CPU build on every registry). Without
   torchvision the registry serves what is imported (ConvNeXt and its
   layers, for SeqNeXt) instead of failing every lookup; the rest of
   mmpretrain stays unavailable. With torchvision nothing changes.

Not on import, only while it runs:
:func:`mmseqnet.utils.dist.init_distributed` (``tools/index_gallery.py``)
makes ``torch.cuda.set_device`` a no-op during MMEngine's ``init_dist`` on a
CPU-only torch, whose launchers would otherwise fail pinning a GPU.
"""
import importlib.util
import os.path as osp
import sys
from urllib.error import URLError

import torch
from mmengine.config import config as mmengine_config
from mmengine.config import utils as mmengine_config_utils
from mmengine.runner import checkpoint as mmengine_checkpoint
from mmengine.runner.checkpoint import CheckpointLoader
from mmpretrain.registry import MODELS as PRETRAIN_MODELS

from .safe_loading import (load_checkpoint_file, load_checkpoint_url,
                           register_checkpoint_safe_globals)

register_checkpoint_safe_globals()


@CheckpointLoader.register_scheme(prefixes='', force=True)
def load_from_local(filename: str, map_location=None):
    """Load a local checkpoint weights-only (see the module docstring).

    Args:
        filename (str): Path of the checkpoint file.
        map_location (str, optional): Same as :func:`torch.load`.

    Returns:
        dict or OrderedDict: The loaded checkpoint.
    """
    return load_checkpoint_file(filename, map_location=map_location)


# MMEngine's URL schemes call this module global at load time.
mmengine_checkpoint.load_url = load_checkpoint_url
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

if importlib.util.find_spec('torchvision') is None:
    PRETRAIN_MODELS._imported = True
