"""Checked access to the MATLAB (v5) files of CUHK-SYSU and PRW.

``scipy.io.loadmat`` returns nested object / structured arrays whose shapes
depend on how MATLAB stored each value. Indexing them blindly turns a
malformed file into an ``IndexError`` deep inside numpy; these helpers check
every step instead and name the file, the place inside it (``where``) and
what was expected.
"""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import scipy.io


class MatFormatError(ValueError):
    """A MAT file exists but does not hold what the dataset format says."""


def load_mat_variable(path: str, names: Sequence[str],
                      expected: str) -> Tuple[str, np.ndarray]:
    """Load the first present variable among ``names`` from a MAT file.

    Args:
        path (str): Path of the ``.mat`` file.
        names (Sequence[str]): Accepted variable names, tried in order.
        expected (str): What the file should hold, for error messages.

    Returns:
        tuple[str, np.ndarray]: The variable's name and its value.

    Raises:
        FileNotFoundError: If ``path`` does not exist.
        MatFormatError: If the file cannot be read as a MAT file or holds
            none of ``names``.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{path}: file not found (expected {expected})')
    try:
        contents = scipy.io.loadmat(path)
    except Exception as error:  # scipy raises several unrelated types
        raise MatFormatError(
            f'{path}: cannot be read as a MAT file ({error}); expected '
            f'{expected}') from error
    for name in names:
        if name in contents:
            return name, contents[name]
    found = sorted(k for k in contents if not k.startswith('__'))
    raise MatFormatError(
        f'{path}: expected a variable named {" or ".join(map(repr, names))} '
        f'({expected}), found {found}')


def struct_items(value: object, fields: Sequence[str],
                 where: str) -> List[Dict[str, object]]:
    """Flatten a MATLAB struct array into dicts of the requested fields.

    Args:
        value (object): A loaded struct array (any shape, possibly empty).
        fields (Sequence[str]): Fields every element must have.
        where (str): Location for error messages, e.g.
            ``'TestG100.mat: TestG100[3].Gallery'``.

    Returns:
        list[dict]: One dict per element (none for an empty array, which is
        how MATLAB's ``[]`` loads), in file order for the 1 x N / N x 1
        layouts these datasets use.
    """
    if isinstance(value, np.ndarray) and value.size == 0:
        return []
    if not isinstance(value, np.ndarray) or value.dtype.names is None:
        raise MatFormatError(
            f'{where}: expected a struct with fields {list(fields)}, got '
            f'{_describe(value)}')
    missing = [f for f in fields if f not in value.dtype.names]
    if missing:
        raise MatFormatError(
            f'{where}: struct lacks fields {missing} (has '
            f'{list(value.dtype.names)})')
    return [{f: element[f] for f in fields} for element in value.reshape(-1)]


def single_struct(value: object, fields: Sequence[str],
                  where: str) -> Dict[str, object]:
    """Read a 1x1 struct, possibly wrapped in a 1x1 cell.

    Args:
        value (object): The loaded value.
        fields (Sequence[str]): Fields the struct must have.
        where (str): Location for error messages.

    Returns:
        dict: The struct's requested fields.
    """
    if (isinstance(value, np.ndarray) and value.dtype == object
            and value.size == 1):
        value = value.reshape(-1)[0]
    items = struct_items(value, fields, where)
    if len(items) != 1:
        raise MatFormatError(
            f'{where}: expected a 1x1 struct, got {len(items)} elements')
    return items[0]


def cell_items(value: object, where: str) -> List[object]:
    """Flatten a MATLAB cell array.

    Args:
        value (object): A loaded cell array.
        where (str): Location for error messages.

    Returns:
        list: The cell's elements.
    """
    if not isinstance(value, np.ndarray) or value.dtype != object:
        raise MatFormatError(
            f'{where}: expected a cell array, got {_describe(value)}')
    return list(value.reshape(-1))


def mat_string(value: object, where: str) -> str:
    """Read a MATLAB char array (loaded as a 1-element ``<U`` array).

    Args:
        value (object): The loaded value.
        where (str): Location for error messages.

    Returns:
        str: The string.
    """
    if isinstance(value, str):
        return value
    if (isinstance(value, np.ndarray) and value.dtype.kind == 'U'
            and value.size == 1):
        return str(value.reshape(-1)[0])
    raise MatFormatError(f'{where}: expected a string, got {_describe(value)}')


def mat_box(value: object, where: str,
            allow_empty: bool = False) -> Optional[np.ndarray]:
    """Read an ``[x, y, w, h]`` box stored as a 1x4 numeric array.

    The values are cast to int32 first: the files store boxes as uint8 when
    every value is below 256, and ``x + w`` would wrap around in uint8.

    Args:
        value (object): The loaded value.
        where (str): Location for error messages.
        allow_empty (bool): Accept an empty array (a gallery entry without
            a box) and return None for it. Defaults to False.

    Returns:
        np.ndarray | None: int32 array of shape (4,) ``[x, y, w, h]``.
    """
    if isinstance(value, np.ndarray) and value.dtype.kind in 'iuf':
        if value.size == 0 and allow_empty:
            return None
        if value.size == 4:
            box = value.reshape(4)
            if value.dtype.kind == 'f' and not np.array_equal(
                    box, np.round(box)):
                raise MatFormatError(
                    f'{where}: expected integer box coordinates, got {box}')
            return box.astype(np.int32)
    expected = 'a 1x4 box [x, y, w, h]' + (' or []' if allow_empty else '')
    raise MatFormatError(f'{where}: expected {expected}, got '
                         f'{_describe(value)}')


def mat_int_vector(value: object, where: str) -> np.ndarray:
    """Read a numeric vector of integer values (any orientation).

    Args:
        value (object): The loaded value.
        where (str): Location for error messages.

    Returns:
        np.ndarray: int64 array of shape (n,).
    """
    if (not isinstance(value, np.ndarray) or value.dtype.kind not in 'iuf'
            or sum(d > 1 for d in value.shape) > 1):
        raise MatFormatError(
            f'{where}: expected a numeric vector, got {_describe(value)}')
    vector = value.reshape(-1)
    if not np.array_equal(vector, np.round(vector)):
        raise MatFormatError(f'{where}: expected integer values')
    return vector.astype(np.int64)


def _describe(value: object) -> str:
    """Describe a loaded value briefly for error messages."""
    if isinstance(value, np.ndarray):
        fields = '' if value.dtype.names is None else \
            f' with fields {list(value.dtype.names)}'
        return f'an array of shape {value.shape} and dtype {value.dtype}' \
               f'{fields}'
    return f'a {type(value).__name__}'
