"""Shared loading logic of the person-search datasets (docs/data_flow.md)."""
import os.path as osp
from collections import Counter
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmdet.datasets import BaseDetDataset
from mmengine.logging import print_log
from PIL import Image

UNLABELED_PERSON_ID = -1


@dataclass
class PersonSearchImage:
    """One scene image as read from a dataset's own files.

    Attributes:
        img_name (str): File name, e.g. ``'s15048.jpg'``.
        boxes (np.ndarray): float (n, 4) ``[x, y, w, h]`` as stored,
            zero-size boxes included (they are dropped later).
        person_ids (np.ndarray): int64 (n,), aligned with ``boxes``.
        cam_id (int): Camera (PRW) or -1.
        source (str): The annotation file that lists the image, named in
            the error raised when the image file is missing.
    """
    img_name: str
    boxes: np.ndarray
    person_ids: np.ndarray
    cam_id: int
    source: str


@dataclass
class PersonSearchQuery:
    """One query of the test protocol.

    Attributes:
        img_name (str): The query image's file name.
        box (np.ndarray): float (4,) ``[x, y, w, h]`` as stored.
        person_id (int): The dataset's identity number.
        cam_id (int): Camera (PRW) or -1.
        gallery (dict | None): See ``queries`` in docs/data_flow.md.
    """
    img_name: str
    box: np.ndarray
    person_id: int
    cam_id: int
    gallery: Optional[dict]


class BasePersonSearchDataset(BaseDetDataset):
    """Base class of person-search datasets read from their original files.

    Subclasses read their own file formats in :meth:`load_train_split` and
    :meth:`load_test_split`; this class turns the result into ``data_list``
    items and ``metainfo`` exactly as docs/data_flow.md specifies: gallery
    items (every scene image) followed, in test mode, by one item per query.
    Boxes go from ``[x, y, w, h]`` to xyxy clipped to the image, and boxes
    with no area left (zero or negative size, entirely outside the image,
    NaN) are dropped; both are counted in the log. A query box with no area
    inside its image is an error.

    Args:
        data_root (str): Dataset root directory. Defaults to ''.
        data_prefix (dict): Sub-directories of ``data_root``: ``img_path``
            for images, ``ann_path`` for annotations (subclass defaults).
        test_mode (bool): Load the test split (gallery and queries) instead
            of the training split. Defaults to False.
        filter_cfg (dict, optional): Training only:
            ``filter_empty_gt`` drops images without boxes, ``min_size``
            drops images whose shorter side is smaller. Defaults to None.
        lazy_init (bool): Defer reading the files until first use; the
            ``classes`` / ``palette`` metainfo is available at once.
            Defaults to False.
        **kwargs: Other arguments of :class:`mmdet.datasets.BaseDetDataset`
            (``pipeline``, ``metainfo``, ``indices``, ...).
    """

    METAINFO = dict(classes=('person', ), palette=[(220, 20, 60)])

    def __init__(self,
                 *,
                 data_root: str = '',
                 data_prefix: Dict[str, str],
                 test_mode: bool = False,
                 filter_cfg: Optional[dict] = None,
                 lazy_init: bool = False,
                 **kwargs) -> None:
        super().__init__(
            data_root=data_root,
            data_prefix=data_prefix,
            test_mode=test_mode,
            filter_cfg=filter_cfg,
            lazy_init=lazy_init,
            **kwargs)

    def load_train_split(self) -> Tuple[List[PersonSearchImage], int]:
        """Read the training images.

        Returns:
            tuple[list[PersonSearchImage], int]: The images, with labeled
            person ids already contiguous (``0 .. n - 1``, unlabeled
            ``UNLABELED_PERSON_ID``), and ``n``, the number of labeled
            training identities.
        """
        raise NotImplementedError

    def load_test_split(
            self
    ) -> Tuple[List[PersonSearchImage], List[PersonSearchQuery]]:
        """Read the test images (with the datasets' own identity numbers,
        unknown ones ``UNLABELED_PERSON_ID``) and the queries."""
        raise NotImplementedError

    def load_data_list(self) -> List[dict]:
        """Build ``data_list`` and the split-dependent ``metainfo``.

        Returns:
            list[dict]: Gallery items, then (test mode) query items.
        """
        box_fixes = Counter()
        if not self.test_mode:
            images, num_person_ids = self.load_train_split()
            self._metainfo['num_person_ids'] = num_person_ids
            data_list = [
                self._gallery_item(image, box_fixes) for image in images
            ]
            self._log_box_fixes(box_fixes)
            return data_list

        images, queries = self.load_test_split()
        gallery_items = {
            image.img_name: self._gallery_item(image, box_fixes)
            for image in images
        }
        self._log_box_fixes(box_fixes)
        data_list = list(gallery_items.values())
        protocol = []
        for query_index, query in enumerate(queries):
            image_item = gallery_items.get(query.img_name)
            if image_item is None:
                raise ValueError(
                    f'query {query_index} ({self.data_root}): image '
                    f'{query.img_name} is not a test image')
            bbox = self._xywh_to_clipped_xyxy(
                query.box[None], image_item['width'], image_item['height'])[0]
            # An empty query box would be embedded as a degenerate RoI and
            # give meaningless search numbers.
            if not (bbox[2] > bbox[0] and bbox[3] > bbox[1]):
                raise ValueError(
                    f'query {query_index} ({self.data_root}): the box '
                    f'{query.box.tolist()} [x, y, w, h] of person '
                    f'{query.person_id} has no area inside its image '
                    f'{query.img_name} of {image_item["width"]}x'
                    f'{image_item["height"]} pixels')
            protocol.append(
                dict(
                    img_name=query.img_name,
                    bbox=bbox,
                    person_id=query.person_id,
                    cam_id=query.cam_id,
                    gallery=query.gallery))
            data_list.append(
                dict(
                    image_item,
                    sample_type='query',
                    query_index=query_index,
                    query_bbox=bbox,
                    query_person_id=query.person_id))
        self._metainfo['queries'] = protocol
        return data_list

    def filter_data(self) -> List[dict]:
        """Drop training images per ``filter_cfg``; test items are kept.

        Returns:
            list[dict]: The kept items.
        """
        if self.test_mode or self.filter_cfg is None:
            return self.data_list
        filter_empty_gt = self.filter_cfg.get('filter_empty_gt', False)
        min_size = self.filter_cfg.get('min_size', 0)
        return [
            item for item in self.data_list
            if not (filter_empty_gt and not item['instances'])
            and min(item['width'], item['height']) >= min_size
        ]

    def _gallery_item(self, image: PersonSearchImage,
                      box_fixes: Counter) -> dict:
        """Turn a :class:`PersonSearchImage` into a gallery item.

        Args:
            image (PersonSearchImage): The image as read.
            box_fixes (Counter): Updated with the number of ``'boxes'``,
                ``'clipped'`` and ``'dropped'`` boxes.
        """
        img_path = osp.join(self.data_prefix['img_path'], image.img_name)
        width, height = self._image_size(img_path, image.source)
        boxes = self._xywh_to_clipped_xyxy(image.boxes, width, height)
        keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        xywh = np.asarray(image.boxes, dtype=np.float64).reshape(-1, 4)
        beyond = ((xywh[:, :2] < 0).any(1)
                  | (xywh[:, 0] + xywh[:, 2] > width)
                  | (xywh[:, 1] + xywh[:, 3] > height))
        box_fixes['boxes'] += len(boxes)
        box_fixes['clipped'] += int((keep & beyond).sum())
        box_fixes['dropped'] += int((~keep).sum())
        instances = [
            dict(
                bbox=box.tolist(),
                bbox_label=0,
                ignore_flag=0,
                person_id=int(person_id))
            for box, person_id in zip(boxes[keep], image.person_ids[keep])
        ]
        return dict(
            img_path=img_path,
            img_id=osp.splitext(image.img_name)[0],
            img_name=image.img_name,
            height=height,
            width=width,
            cam_id=image.cam_id,
            sample_type='gallery',
            instances=instances)

    def _log_box_fixes(self, box_fixes: Counter) -> None:
        """Log how many annotation boxes were clipped or dropped."""
        if box_fixes['clipped'] or box_fixes['dropped']:
            print_log(
                f'{type(self).__name__} ({self.data_root}, '
                f'{"test" if self.test_mode else "train"} split): of '
                f'{box_fixes["boxes"]} annotation boxes, '
                f'{box_fixes["clipped"]} clipped to their image (they extend '
                f'beyond it), {box_fixes["dropped"]} dropped (no area inside '
                'their image: zero or negative size, outside it, or NaN)',
                logger='current')

    @staticmethod
    def _image_size(img_path: str, source: str) -> Tuple[int, int]:
        """Read (width, height) from the image header only."""
        if not osp.isfile(img_path):
            raise FileNotFoundError(
                f'{source} lists image {osp.basename(img_path)} but '
                f'{img_path} does not exist')
        try:
            with Image.open(img_path) as img:
                return img.size
        except (OSError, SyntaxError, ValueError) as err:
            # Pillow's header parsers raise any of these on garbage.
            raise ValueError(
                f'{source} lists image {osp.basename(img_path)} but '
                f'{img_path} is not a readable image ({err})') from err

    @staticmethod
    def _xywh_to_clipped_xyxy(boxes: np.ndarray, width: int,
                              height: int) -> np.ndarray:
        """``[x, y, w, h]`` (n, 4) -> float32 xyxy clipped to the image.

        Clipping the corners rather than ``x, y`` keeps the far edge of a
        box that starts at a negative coordinate (PRW) where it was.
        """
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        xyxy = np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], 1)
        xyxy[:, 0::2] = xyxy[:, 0::2].clip(0, width)
        xyxy[:, 1::2] = xyxy[:, 1::2].clip(0, height)
        return xyxy.astype(np.float32)

    @staticmethod
    def contiguous_ids(raw_ids: np.ndarray,
                       labeled_ids: Sequence[int]) -> np.ndarray:
        """Map raw training ids to rows of the OIM look-up table.

        Args:
            raw_ids (np.ndarray): The ids of some boxes.
            labeled_ids (Sequence[int]): Every labeled training id, in
                look-up-table order.

        Returns:
            np.ndarray: int64 rows, ``UNLABELED_PERSON_ID`` for ids not in
            ``labeled_ids``.
        """
        row_of = {int(pid): row for row, pid in enumerate(labeled_ids)}
        return np.array(
            [row_of.get(int(pid), UNLABELED_PERSON_ID) for pid in raw_ids],
            dtype=np.int64)
