"""CUHK-SYSU read from its original MAT files."""
import os.path as osp
import re
from typing import Dict, List, Optional, Tuple

import numpy as np
from mmdet.registry import DATASETS
from mmengine.logging import print_log

from .base_person_search import (UNLABELED_PERSON_ID, BasePersonSearchDataset,
                                 PersonSearchImage, PersonSearchQuery)
from .mat_io import (MatFormatError, cell_items, load_mat_variable, mat_box,
                     mat_string, single_struct, struct_items)

# gallery_size -> protocol file; -1 (every test image) takes its positives
# from the TestG50 lists.
_GALLERY_FILES = {
    size: f'TestG{size}'
    for size in (50, 100, 500, 1000, 2000, 4000)
}
_GALLERY_FILES[-1] = 'TestG50'
_QUERY_SUBSETS = {
    'occlusion': ('Occlusion.mat', 'Occlusion1'),
    'resolution': ('Resolution.mat', 'Test_Size'),
}
_DEFAULT_GALLERY_SIZE = 100


@DATASETS.register_module()
class CUHKSYSUDataset(BasePersonSearchDataset):
    """CUHK-SYSU person search dataset (original file layout).

    Files read (relative to ``data_root``): images in ``Image/SSM/``, and
    ``annotation/Images.mat`` (every box), ``annotation/pool.mat`` (the test
    images), ``annotation/test/train_test/Train.mat`` (training identities),
    ``annotation/test/train_test/TestG<N>.mat`` (queries and galleries) and
    ``annotation/test/subset/{Occlusion,Resolution}.mat``.

    Training persons are identified by the ``Train.mat`` identity whose
    scene box equals theirs (row ``k`` of the OIM table for the k-th
    identity); the other boxes are unlabeled. Test persons get the number
    of the protocol's ``idname`` (``'p10581'`` -> 10581) when they are the
    query or a listed positive, else ``UNLABELED_PERSON_ID``.

    Args:
        gallery_size (int, optional): Gallery size of the test protocol,
            one of 50, 100, 500, 1000, 2000, 4000 (``TestG<N>.mat``) or -1
            (every test image; positives from ``TestG50.mat``). Must be left
            None with ``query_subset``, whose file holds its own galleries.
            None means 100.
        query_subset (str, optional): ``'occlusion'`` or ``'resolution'``
            to evaluate the harder query subsets. Defaults to None.
        data_root (str): Dataset root. Defaults to ''.
        data_prefix (dict): ``img_path`` (images) and ``ann_path``
            (annotations) under ``data_root``. Defaults to
            ``dict(img_path='Image/SSM/', ann_path='annotation/')``.
        **kwargs: See :class:`BasePersonSearchDataset`.
    """

    METAINFO = dict(
        classes=('person', ), palette=[(220, 20, 60)], protocol='cuhk_sysu')

    def __init__(self,
                 *,
                 gallery_size: Optional[int] = None,
                 query_subset: Optional[str] = None,
                 data_root: str = '',
                 data_prefix: Dict[str, str] = dict(
                     img_path='Image/SSM/', ann_path='annotation/'),
                 **kwargs) -> None:
        if query_subset is not None:
            if query_subset not in _QUERY_SUBSETS:
                raise ValueError(
                    f'query_subset must be None or one of '
                    f'{list(_QUERY_SUBSETS)}, got {query_subset!r}')
            if gallery_size is not None:
                raise ValueError(
                    'gallery_size must be None with query_subset: the '
                    'subset file defines the galleries')
        elif gallery_size is None:
            gallery_size = _DEFAULT_GALLERY_SIZE
        elif gallery_size not in _GALLERY_FILES:
            raise ValueError(f'gallery_size must be one of '
                             f'{sorted(_GALLERY_FILES)}, got {gallery_size}')
        self.gallery_size = gallery_size
        self.query_subset = query_subset
        super().__init__(
            data_root=data_root, data_prefix=data_prefix, **kwargs)

    def _ann_file(self, *parts: str) -> str:
        return osp.join(self.data_prefix['ann_path'], *parts)

    def _read_images(self) -> Dict[str, np.ndarray]:
        """``Images.mat`` -> {image name: int32 (K, 4) xywh boxes}."""
        path = self._ann_file('Images.mat')
        _, images = load_mat_variable(path, ['Img'],
                                      'the struct array of every image')
        boxes_of = {}
        for i, image in enumerate(
                struct_items(images, ['imname', 'box'], f'{path}: Img')):
            name = mat_string(image['imname'], f'{path}: Img[{i}].imname')
            boxes = [
                mat_box(box['idlocate'], f'{path}: Img[{i}].box[{j}].idlocate')
                for j, box in enumerate(
                    struct_items(image['box'], ['idlocate'],
                                 f'{path}: Img[{i}].box'))
            ]
            boxes_of[name] = np.array(boxes, dtype=np.int32).reshape(-1, 4)
        return boxes_of

    def _read_test_names(self, boxes_of: Dict[str, np.ndarray]) -> List[str]:
        """``pool.mat`` -> the test image names, checked against Images.mat."""
        path = self._ann_file('pool.mat')
        _, pool = load_mat_variable(path, ['pool'], 'the cell of test images')
        names = [
            mat_string(name, f'{path}: pool[{i}]')
            for i, name in enumerate(cell_items(pool, f'{path}: pool'))
        ]
        unknown = [name for name in names if name not in boxes_of]
        if unknown:
            raise MatFormatError(
                f'{path}: test images {unknown[:5]} are not in Images.mat')
        return names

    def load_train_split(self) -> Tuple[List[PersonSearchImage], int]:
        """Read the training images and identities (see class doc)."""
        boxes_of = self._read_images()
        test_names = set(self._read_test_names(boxes_of))
        person_ids = {
            name: np.full(len(boxes), UNLABELED_PERSON_ID, dtype=np.int64)
            for name, boxes in boxes_of.items()
        }
        path = self._ann_file('test', 'train_test', 'Train.mat')
        _, identities = load_mat_variable(path, ['Train'],
                                          'the cell of training identities')
        identities = cell_items(identities, f'{path}: Train')
        for row, identity in enumerate(identities):
            where = f'{path}: Train{{{row}}}'
            scenes = single_struct(identity, ['scene'], where)['scene']
            for j, scene in enumerate(
                    struct_items(scenes, ['imname', 'idlocate'],
                                 f'{where}.scene')):
                name = mat_string(scene['imname'],
                                  f'{where}.scene[{j}].imname')
                box = mat_box(scene['idlocate'],
                              f'{where}.scene[{j}].idlocate')
                if name not in boxes_of or name in test_names:
                    raise MatFormatError(
                        f'{where}.scene[{j}]: image {name} is not a '
                        f'training image of Images.mat')
                match = np.flatnonzero((boxes_of[name] == box).all(1))
                if match.size == 0:
                    raise MatFormatError(
                        f'{where}.scene[{j}]: box {box.tolist()} is not a '
                        f'box of {name} in Images.mat')
                person_ids[name][match] = row
        images = [
            PersonSearchImage(name, boxes, person_ids[name], -1,
                              self._ann_file('Images.mat'))
            for name, boxes in boxes_of.items() if name not in test_names
        ]
        return images, len(identities)

    def load_test_split(
            self
    ) -> Tuple[List[PersonSearchImage], List[PersonSearchQuery]]:
        """Read the test images and the chosen protocol (see class doc)."""
        boxes_of = self._read_images()
        test_names = self._read_test_names(boxes_of)
        if self.query_subset is None:
            var = _GALLERY_FILES[self.gallery_size]
            path = self._ann_file('test', 'train_test', f'{var}.mat')
        else:
            file_name, var = _QUERY_SUBSETS[self.query_subset]
            path = self._ann_file('test', 'subset', file_name)
        queries = read_cuhk_sysu_protocol(
            path, var, all_test_images=self.gallery_size == -1)

        person_ids = {
            name: np.full(len(boxes_of[name]), UNLABELED_PERSON_ID,
                          dtype=np.int64)
            for name in test_names
        }
        # The protocol names identities only for the query and its
        # positives; give those boxes the identity so that the test ground
        # truth carries it.
        unmatched = 0
        for index, query in enumerate(queries):
            gallery = query.gallery
            listed = gallery['bboxes']
            listed_xywh = np.concatenate(
                [listed[:, :2], listed[:, 2:] - listed[:, :2]], 1)
            positives = [(query.img_name, query.box)] + [
                (name, box) for name, box in zip(gallery['img_names'],
                                                 listed_xywh)
                if not np.isnan(box[0])
            ]
            for name, box in positives:
                if name not in person_ids:
                    raise MatFormatError(
                        f'{path}: query {index} lists image {name}, which '
                        f'is not a test image of pool.mat')
                match = (boxes_of[name] == box).all(1)
                unmatched += not match.any()
                person_ids[name][match] = query.person_id
        if unmatched:
            print_log(
                f'{path}: {unmatched} protocol boxes match no box of '
                'Images.mat; those persons stay unlabeled in the test '
                'ground truth (the protocol boxes are still used for '
                'search)',
                logger='current')
        images = [
            PersonSearchImage(name, boxes_of[name], person_ids[name], -1,
                              self._ann_file('pool.mat'))
            for name in test_names
        ]
        return images, queries


def read_cuhk_sysu_protocol(path: str, variable: str,
                            all_test_images: bool) -> List[PersonSearchQuery]:
    """Read a CUHK-SYSU query protocol file (``TestG<N>.mat`` and subsets).

    Args:
        path (str): The MAT file.
        variable (str): The variable holding the 1 x Q query structs.
        all_test_images (bool): Stored in each query's gallery dict: the
            gallery is every test image, the listed entries give the
            positives (gallery size -1).

    Returns:
        list[PersonSearchQuery]: The queries in file order. Each ``gallery``
        has ``img_names`` (duplicates kept), ``bboxes`` (float32 (n, 4) xyxy,
        NaN rows for entries without a box) and ``all_test_images``.
    """
    _, protocol = load_mat_variable(path, [variable],
                                    'the struct array of queries')
    queries = []
    for i, item in enumerate(
            struct_items(protocol, ['Query', 'Gallery'],
                         f'{path}: {variable}')):
        where = f'{path}: {variable}[{i}]'
        query = single_struct(item['Query'], ['imname', 'idlocate', 'idname'],
                              f'{where}.Query')
        idname = mat_string(query['idname'], f'{where}.Query.idname')
        if re.fullmatch(r'p\d+', idname) is None:
            raise MatFormatError(
                f'{where}.Query.idname: expected p<number>, got {idname!r}')
        entries = struct_items(item['Gallery'], ['imname', 'idlocate'],
                               f'{where}.Gallery')
        names = [
            mat_string(entry['imname'], f'{where}.Gallery[{j}].imname')
            for j, entry in enumerate(entries)
        ]
        xywh = np.full((len(entries), 4), np.nan)
        for j, entry in enumerate(entries):
            box = mat_box(
                entry['idlocate'],
                f'{where}.Gallery[{j}].idlocate',
                allow_empty=True)
            if box is not None:
                xywh[j] = box
        bboxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]],
                                1).astype(np.float32)
        queries.append(
            PersonSearchQuery(
                img_name=mat_string(query['imname'], f'{where}.Query.imname'),
                box=mat_box(query['idlocate'], f'{where}.Query.idlocate'),
                person_id=int(idname[1:]),
                cam_id=-1,
                gallery=dict(
                    img_names=names,
                    bboxes=bboxes,
                    all_test_images=all_test_images)))
    return queries
