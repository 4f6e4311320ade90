"""PRW read from its original files."""
import os.path as osp
import re
from typing import Dict, List, Tuple

import numpy as np
from mmdet.registry import DATASETS
from mmengine.logging import print_log

from .base_person_search import (UNLABELED_PERSON_ID, BasePersonSearchDataset,
                                 PersonSearchImage, PersonSearchQuery)
from .mat_io import (MatFormatError, cell_items, load_mat_variable,
                     mat_int_vector, mat_string)

# PRW marks persons of unknown identity with -2.
_UNKNOWN_PRW_ID = -2
_FRAME_NAME = re.compile(r'c(\d)s(\d+)_(\d+)')
# Annotation files store their boxes under one of these names.
_ANNOTATION_VARIABLES = ('box_new', 'anno_file', 'anno_previous')
# A query box is a copy of an annotation box printed with 4 decimals.
_QUERY_BOX_TOLERANCE = 1e-3


@DATASETS.register_module()
class PRWDataset(BasePersonSearchDataset):
    """PRW person search dataset (original file layout).

    Files read (relative to ``data_root``): ``frames/<frame>.jpg``,
    ``annotations/<frame>.jpg.mat`` (``[pid, x, y, w, h]`` rows),
    ``frame_train.mat`` / ``frame_test.mat`` (the splits), ``ID_train.mat``
    (the labeled training identities) and ``query_info.txt`` (the queries).

    Training person ids are the rows of the sorted ``ID_train`` list (PRW's
    ids are not contiguous); ``-2`` and ids missing from ``ID_train``
    become ``UNLABELED_PERSON_ID``. Test person ids are PRW's own, ``-2``
    becomes ``UNLABELED_PERSON_ID``. The camera is the digit after ``c`` in
    the frame name. The test gallery is derived by the metric (every test
    frame but the query's; ``multi_view`` drops the query's camera), so
    each query's ``gallery`` is None.

    Args:
        data_root (str): Dataset root. Defaults to ''.
        data_prefix (dict): ``img_path`` (frames) and ``ann_path``
            (annotations) under ``data_root``. Defaults to
            ``dict(img_path='frames/', ann_path='annotations/')``.
        **kwargs: See :class:`BasePersonSearchDataset`.
    """

    METAINFO = dict(
        classes=('person', ), palette=[(220, 20, 60)], protocol='prw')

    def __init__(self,
                 *,
                 data_root: str = '',
                 data_prefix: Dict[str, str] = dict(
                     img_path='frames/', ann_path='annotations/'),
                 **kwargs) -> None:
        super().__init__(
            data_root=data_root, data_prefix=data_prefix, **kwargs)

    def _read_frames(self, file_name: str, variable: str) -> List[str]:
        """A split file -> its frame names (without extension)."""
        path = osp.join(self.data_root, file_name)
        _, frames = load_mat_variable(path, [variable],
                                      'the cell of frame names')
        names = [
            mat_string(name, f'{path}: {variable}[{i}]')
            for i, name in enumerate(cell_items(frames, f'{path}: {variable}'))
        ]
        for i, name in enumerate(names):
            if _FRAME_NAME.fullmatch(name) is None:
                raise MatFormatError(
                    f'{path}: {variable}[{i}] = {name!r}, expected a frame '
                    'name like c1s1_000151')
        return names

    def _read_image(self, frame: str) -> PersonSearchImage:
        """Read one frame's annotation file (ids as stored in PRW)."""
        path = osp.join(self.data_prefix['ann_path'], f'{frame}.jpg.mat')
        name, rows = load_mat_variable(path, _ANNOTATION_VARIABLES,
                                       'an N x 5 array [pid, x, y, w, h]')
        if rows.size == 0:
            rows = np.zeros((0, 5))
        if (rows.ndim != 2 or rows.shape[1] != 5
                or rows.dtype.kind not in 'iuf'):
            raise MatFormatError(
                f'{path}: {name} must be an N x 5 numeric array '
                f'[pid, x, y, w, h], got shape {rows.shape} and dtype '
                f'{rows.dtype}')
        return PersonSearchImage(
            img_name=f'{frame}.jpg',
            boxes=rows[:, 1:].astype(np.float64),
            person_ids=rows[:, 0].astype(np.int64),
            cam_id=int(frame[1]),
            source=path)

    def load_train_split(self) -> Tuple[List[PersonSearchImage], int]:
        """Read the training frames (see class doc)."""
        path = osp.join(self.data_root, 'ID_train.mat')
        _, labeled_ids = load_mat_variable(path, ['ID_train'],
                                           'the vector of training ids')
        labeled_ids = np.sort(mat_int_vector(labeled_ids, f'{path}: ID_train'))
        images = [
            self._read_image(frame)
            for frame in self._read_frames('frame_train.mat',
                                           'img_index_train')
        ]
        unknown = set()
        for image in images:
            known = np.isin(image.person_ids, labeled_ids)
            unknown.update(image.person_ids[~known
                                            & (image.person_ids !=
                                               _UNKNOWN_PRW_ID)].tolist())
            image.person_ids = self.contiguous_ids(image.person_ids,
                                                   labeled_ids)
        if unknown:
            print_log(
                f'{path}: training frames hold ids {sorted(unknown)} that '
                'ID_train lacks; they are treated as unlabeled',
                logger='current')
        return images, len(labeled_ids)

    def load_test_split(
            self
    ) -> Tuple[List[PersonSearchImage], List[PersonSearchQuery]]:
        """Read the test frames and ``query_info.txt`` (see class doc)."""
        images = [
            self._read_image(frame)
            for frame in self._read_frames('frame_test.mat', 'img_index_test')
        ]
        for image in images:
            image.person_ids[image.person_ids ==
                             _UNKNOWN_PRW_ID] = UNLABELED_PERSON_ID
        image_of = {osp.splitext(image.img_name)[0]: image for image in images}

        path = osp.join(self.data_root, 'query_info.txt')
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'{path}: file not found (expected the query list, lines '
                '"pid x y w h frame")')
        queries = []
        with open(path, newline='') as f:
            lines = f.read().splitlines()
        for line_no, line in enumerate(lines, 1):
            if not line.strip():
                continue
            fields = line.split()
            try:
                pid = int(fields[0])
                box = np.array([float(v) for v in fields[1:5]])
                frame = fields[5]
                if len(fields) != 6:
                    raise ValueError
            except (ValueError, IndexError):
                raise ValueError(
                    f'{path}:{line_no}: expected "pid x y w h frame", got '
                    f'{line!r}') from None
            image = image_of.get(frame)
            if image is None:
                raise ValueError(
                    f'{path}:{line_no}: query frame {frame} is not a test '
                    'frame of frame_test.mat')
            if not np.any((image.person_ids == pid) & (np.abs(
                    image.boxes - box).max(1) <= _QUERY_BOX_TOLERANCE)):
                raise ValueError(
                    f'{path}:{line_no}: the query box of person {pid} '
                    f'matches no annotation box of {frame} (tolerance '
                    f'{_QUERY_BOX_TOLERANCE})')
            queries.append(
                PersonSearchQuery(
                    img_name=image.img_name,
                    box=box,
                    person_id=pid,
                    cam_id=image.cam_id,
                    gallery=None))
        return images, queries
