"""Writing MAT v5 files laid out like the original datasets' files."""
import os
import os.path as osp
from typing import Dict, List, Sequence

import cv2
import numpy as np
import scipy.io


def save_mat(path: str, variables: Dict[str, object]) -> None:
    """Write a compressed MAT v5 file (the originals are compressed)."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    scipy.io.savemat(path, variables, do_compression=True)


def struct_array(records: List[dict], fields: Sequence[str]) -> np.ndarray:
    """A 1 x n MATLAB struct array (one dict per element)."""
    array = np.empty((1, len(records)), dtype=[(f, 'O') for f in fields])
    for i, record in enumerate(records):
        array[0, i] = tuple(record[f] for f in fields)
    return array


def cell_column(values: Sequence[object]) -> np.ndarray:
    """An n x 1 MATLAB cell array."""
    cell = np.empty((len(values), 1), dtype=object)
    for i, value in enumerate(values):
        cell[i, 0] = value
    return cell


def compact_box(xywh: Sequence[int]) -> np.ndarray:
    """A 1x4 box in the storage type of the CUHK-SYSU files: uint8 when
    every value is below 256, else uint16."""
    box = np.asarray(xywh, dtype=np.int64).reshape(1, 4)
    if box.min() < 0:
        raise ValueError(f'CUHK-SYSU boxes are non-negative, got {box}')
    return box.astype(np.uint8 if box.max() < 256 else np.uint16)


def flag(value: bool) -> np.ndarray:
    """A 1x1 uint8 flag, as ``ishard`` is stored."""
    return np.array([[int(value)]], dtype=np.uint8)


def write_jpg(path: str, img: np.ndarray) -> None:
    """Write a BGR image as JPEG."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    if not cv2.imwrite(path, img, [cv2.IMWRITE_JPEG_QUALITY, 90]):
        raise OSError(f'cannot write {path}')
