"""Loading checkpoints without letting them run code.

A ``.pth`` file is a pickle: unpickled in full, it can call any function
(``os.system`` included) while it loads. ``torch.load(weights_only=True)``
rebuilds only tensors, plain containers and primitives, plus the classes and
functions allow-listed with ``torch.serialization.add_safe_globals``. An
MMEngine 0.10 checkpoint of this project holds, next to tensors, plain
containers and strings:

- ``message_hub.log_scalars``: :class:`mmengine.logging.HistoryBuffer`
  objects, whose state is two numpy arrays (float64 values, int64 counts)
  and its statistics methods, pickled as ``getattr(HistoryBuffer, 'min')``
  (and ``max``, ``current``, ``mean``). ``getattr`` itself is not
  allow-listed (it would read any attribute of anything the file reaches);
  a resolver registered under its name returns exactly those four methods
  and refuses anything else;
- numpy scalars (``np.float64`` logged values and ``dataset_meta`` entries)
  and arrays, e.g. the numpy generator state that ``RandomStateHook``
  stores (a uint32 array); rebuilding them takes numpy's ``_reconstruct``
  and ``scalar``, ``np.ndarray``, ``np.dtype`` and the dtype classes
  (``numpy.dtypes.Float64DType``, ...);
- Python's generator state (ints in tuples), torch's (a uint8 tensor),
  optimizer and scheduler state dicts (tensors, numbers, lists): no
  allow-listing needed.

:func:`checkpoint_safe_globals` is exactly that list. Numpy 2 moved
``numpy.core`` to ``numpy._core``: checkpoints written under either name
load under both (torch >= 2.5 accepts a global with the name it was
pickled under). Object arrays stay refused: their elements would be full
pickles.
"""
import logging
import os
import os.path as osp
import pickle
import re
import warnings
from typing import Callable, List, Optional, Tuple, Union

import numpy as np
import torch
from mmengine.logging import HistoryBuffer, print_log

UNSAFE_LOAD_ENV = 'MMSEQNET_UNSAFE_LOAD'

# Numeric and boolean dtypes; not object, whose elements are full pickles.
_DTYPE_CODES = '?bhilqBHILQefd'

SafeGlobal = Union[Callable, Tuple[Callable, str]]


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds objects that weights-only loading does not
    rebuild, because rebuilding them could run code."""


class UnsafeLoadWarning(UserWarning):
    """A checkpoint is being loaded as a full pickle, on the user's word."""


# The statistics methods every HistoryBuffer pickles with its state.
_HISTORY_BUFFER_STATISTICS = ('min', 'max', 'current', 'mean')


def history_buffer_statistic(owner: type, name: str) -> Callable:
    """Stands in for ``getattr`` when a HistoryBuffer's state is unpickled.

    Args:
        owner (type): Must be :class:`~mmengine.logging.HistoryBuffer`.
        name (str): One of its default statistics methods.

    Returns:
        Callable: ``getattr(HistoryBuffer, name)``.

    Raises:
        pickle.UnpicklingError: For any other object or attribute.
    """
    if owner is not HistoryBuffer or name not in _HISTORY_BUFFER_STATISTICS:
        raise pickle.UnpicklingError(
            f'getattr({getattr(owner, "__name__", type(owner).__name__)}, '
            f'{name!r}) is not allowed: weights-only loading reads only '
            f'HistoryBuffer.{{{",".join(_HISTORY_BUFFER_STATISTICS)}}}')
    return getattr(HistoryBuffer, name)


def _numpy_multiarray():
    """numpy's ``multiarray`` module, not the other version's alias."""
    if int(np.__version__.split('.')[0]) >= 2:
        from numpy._core import multiarray
    else:
        from numpy.core import multiarray
    return multiarray


def checkpoint_safe_globals() -> List[SafeGlobal]:
    """The classes and functions MMEngine checkpoints need besides tensors.

    Returns:
        list: Globals for ``torch.serialization.add_safe_globals``. Where
        torch accepts a global under another name (torch >= 2.5): numpy's
        rebuild functions also under the other numpy major version's module
        path, and :func:`history_buffer_statistic` as ``builtins.getattr``.
    """
    multiarray = _numpy_multiarray()
    safe: List[SafeGlobal] = [HistoryBuffer, np.ndarray, np.dtype]
    # pickle protocol >= 4 names the methods directly
    safe.extend(
        getattr(HistoryBuffer, name) for name in _HISTORY_BUFFER_STATISTICS)
    safe.extend(
        sorted({type(np.dtype(code))
                for code in _DTYPE_CODES}, key=lambda t: t.__name__))
    aliases_supported = hasattr(torch.serialization, 'safe_globals')
    for func in (multiarray._reconstruct, multiarray.scalar):
        safe.append(func)
        if aliases_supported:
            safe.extend((func, f'{module}.multiarray.{func.__name__}')
                        for module in ('numpy.core', 'numpy._core'))
    if aliases_supported:
        safe.append((history_buffer_statistic, 'builtins.getattr'))
    return safe


def register_checkpoint_safe_globals() -> None:
    """Allow-list :func:`checkpoint_safe_globals` for weights-only loads.

    Registering twice is harmless (torch keeps a set). On torch < 2.4,
    which cannot allow-list, nothing is registered and checkpoints with
    these objects are refused.
    """
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is not None:
        add_safe_globals(checkpoint_safe_globals())


def unsafe_load_requested() -> bool:
    """Whether ``MMSEQNET_UNSAFE_LOAD`` asks for full unpickling.

    Returns:
        bool: True for ``1``, ``true`` or ``yes`` (any case).
    """
    value = os.environ.get(UNSAFE_LOAD_ENV, '')
    return value.strip().lower() in ('1', 'true', 'yes')


def _refusal(source: str, error: Exception) -> UnsafeCheckpointError:
    """The error for a checkpoint torch refused, naming file and reason."""
    text = str(error)
    # torch wraps the unpickler's reason in paragraphs of general advice.
    reasons = [
        paragraph.strip().split('WeightsUnpickler error: ')[-1]
        for paragraph in re.split(r'\n\s*\n', text)
        if paragraph.strip() and not paragraph.startswith(
            ('Weights only load failed. In', 'Check the documentation'))
    ]
    reason = reasons[0] if reasons else text.strip()
    # its first sentence: the rest advises allow-listing whatever it is
    reason = re.split(r'(?<=\.)\s', reason, maxsplit=1)[0].rstrip('.')
    return UnsafeCheckpointError(
        f'Refused to load checkpoint {source}: it holds an object that '
        f'weights-only loading does not rebuild ({reason}). Unpickling it '
        'in full could run code hidden in the file. mmseqnet loads '
        'tensors, containers and the MMEngine and numpy objects its own '
        'checkpoints hold. If you trust this file (you made it, or know '
        f'where it comes from), set {UNSAFE_LOAD_ENV}=1 to load it as a '
        'full pickle, or load it once in a trusted session and save only '
        'its state_dict.')


def _warn_unsafe(source: str) -> None:
    message = (f'{UNSAFE_LOAD_ENV} is set: loading {source} as a full '
               'pickle. Any code in the file runs now; do this only for '
               'files you trust.')
    warnings.warn(message, UnsafeLoadWarning, stacklevel=3)
    print_log(message, logger='current', level=logging.WARNING)


def load_checkpoint_file(filename: str,
                         map_location=None,
                         unsafe: Optional[bool] = None):
    """Load a local checkpoint weights-only, or in full on explicit opt-in.

    Args:
        filename (str): Path of the checkpoint (``~`` expanded).
        map_location (optional): Same as :func:`torch.load`.
            Defaults to None.
        unsafe (bool, optional): Unpickle in full, running any code the
            file holds (warns). Defaults to None: ``MMSEQNET_UNSAFE_LOAD``.

    Returns:
        dict or OrderedDict: The loaded checkpoint.

    Raises:
        FileNotFoundError: If the file does not exist.
        UnsafeCheckpointError: If the file holds objects outside the
            allow-list and ``unsafe`` is off.
    """
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'Checkpoint file {filename} does not exist.')
    if unsafe is None:
        unsafe = unsafe_load_requested()
    if unsafe:
        _warn_unsafe(filename)
        return torch.load(
            filename, map_location=map_location, weights_only=False)
    try:
        return torch.load(
            filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        raise _refusal(filename, e) from e


def load_checkpoint_url(url: str,
                        model_dir: Optional[str] = None,
                        map_location=None,
                        progress: bool = True,
                        check_hash: bool = False,
                        file_name: Optional[str] = None,
                        unsafe: Optional[bool] = None):
    """Download a checkpoint once (torch's hub cache) and load it like
    :func:`load_checkpoint_file`.

    Args:
        url (str): URL of the checkpoint.
        model_dir (str, optional): Download folder. Defaults to None
            (``<torch hub dir>/checkpoints``).
        map_location (optional): Same as :func:`torch.load`.
            Defaults to None.
        progress (bool): Show a download progress bar. Defaults to True.
        check_hash (bool): Check the file name's hash prefix.
            Defaults to False.
        file_name (str, optional): Name of the cached file. Defaults to
            None (the URL's).
        unsafe (bool, optional): As in :func:`load_checkpoint_file`.
            Defaults to None.

    Returns:
        dict or OrderedDict: The loaded checkpoint.
    """
    if unsafe is None:
        unsafe = unsafe_load_requested()
    if unsafe:
        _warn_unsafe(url)
    try:
        return torch.hub.load_state_dict_from_url(
            url,
            model_dir=model_dir,
            map_location=map_location,
            progress=progress,
            check_hash=check_hash,
            file_name=file_name,
            weights_only=not unsafe)
    except pickle.UnpicklingError as e:
        raise _refusal(url, e) from e
