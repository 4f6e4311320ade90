"""Image and annotation loading for person search."""
import io
import logging
from typing import Optional, Union

import mmcv
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmdet.datasets.transforms import LoadAnnotations
from mmdet.registry import TRANSFORMS
from mmengine.logging import print_log
from PIL import Image


@TRANSFORMS.register_module()
class LoadCheckedImageFromFile(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` that stops clearly on a bad image file.

    mmcv's loader ends with a bare ``assert`` when the decoder returns
    nothing, and some OpenCV versions decode the readable part of a
    truncated JPEG without an error (the rest gray): silent wrong pixels.
    This loader raises an error naming the file when

    - the file is empty;
    - Pillow cannot decode it to its end (``verify``): a truncated or
      corrupt file. JPEGs are decoded at 1/8 scale (Pillow's draft mode),
      which still reads every byte, at a fraction of a full decode;
    - the decoding backend fails;
    - the decoded size differs from the ``height`` / ``width`` the dataset
      recorded from the file header, e.g. when the decoder applies an EXIF
      rotation: every box would be misplaced.

    Pixels are decoded exactly as ``LoadImageFromFile`` decodes them.

    At inference it also takes what mmdet's ``InferencerLoader`` takes: an
    image path, a BGR array, or a dict with ``img_path`` or ``img`` (an
    array is kept as it is). So ``DetInferencer`` and
    :class:`~mmseqnet.apis.PersonSearcher` load paths and arrays through the
    config's own test pipeline, checks included.

    Args:
        skip_unreadable (bool): Log the error and return None instead of
            raising, so that mmengine's ``BaseDataset`` picks another image
            (training only; a test dataset stops on None with a generic
            error). Logged at ERROR level so every rank shows it.
            Defaults to False.
        verify (bool): Check with Pillow that the file is complete.
            Defaults to True.
        to_float32 (bool): Return a float32 image. Defaults to False.
        color_type (str): ``flag`` of :func:`mmcv.imfrombytes`.
            Defaults to 'color'.
        imdecode_backend (str): ``backend`` of :func:`mmcv.imfrombytes`.
            Defaults to 'cv2'.
        backend_args (dict, optional): File backend arguments of
            :func:`mmengine.fileio.get`. Defaults to None.
    """

    def __init__(self,
                 *,
                 skip_unreadable: bool = False,
                 verify: bool = True,
                 to_float32: bool = False,
                 color_type: str = 'color',
                 imdecode_backend: str = 'cv2',
                 backend_args: Optional[dict] = None) -> None:
        super().__init__(
            to_float32=to_float32,
            color_type=color_type,
            imdecode_backend=imdecode_backend,
            backend_args=backend_args)
        self.skip_unreadable = skip_unreadable
        self.verify = verify

    def transform(self, results: Union[dict, str,
                                       np.ndarray]) -> Optional[dict]:
        """Load ``results['img_path']``, or take ``results['img']``.

        Args:
            results (dict | str | np.ndarray): A dataset item with
                ``img_path`` and, from a dataset, ``height`` and ``width``;
                at inference also an item with an ``img`` array, an image
                path or a BGR array.

        Returns:
            dict | None: ``results`` with ``img`` (H, W, C), ``img_shape``
            and ``ori_shape``; None for a bad file with
            ``skip_unreadable``.
        """
        if isinstance(results, str):
            results = dict(img_path=results)
        elif isinstance(results, np.ndarray):
            results = dict(img=results)
        if 'img' in results:
            img = results['img']
        else:
            try:
                img = self._load(results['img_path'], results.get('height'),
                                 results.get('width'))
            except (OSError, ValueError) as err:
                if not self.skip_unreadable:
                    raise
                print_log(
                    f'Skipped a broken image, another one is used instead: '
                    f'{err}',
                    logger='current',
                    level=logging.ERROR)
                return None
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def _load(self, path: str, height: Optional[int],
              width: Optional[int]) -> np.ndarray:
        """Read, check and decode one image file (see the class doc)."""
        img_bytes = fileio.get(path, backend_args=self.backend_args)
        if not img_bytes:
            raise ValueError(f'{path}: the image file is empty')
        if self.verify:
            try:
                with Image.open(io.BytesIO(img_bytes)) as pil_img:
                    pil_img.draft(pil_img.mode,
                                  (pil_img.width // 8, pil_img.height // 8))
                    pil_img.load()
            except (OSError, SyntaxError, ValueError,
                    Image.DecompressionBombError) as err:
                raise ValueError(
                    f'{path}: not a complete image file ({err}); restore '
                    'or re-encode it') from err
        try:
            img = mmcv.imfrombytes(
                img_bytes, flag=self.color_type, backend=self.imdecode_backend)
        except Exception as err:
            # Decoders raise anything from cv2.error to struct.error.
            raise ValueError(
                f'{path}: the {self.imdecode_backend} backend cannot decode '
                f'the image ({err})') from err
        if img is None:
            raise ValueError(f'{path}: the {self.imdecode_backend} backend '
                             'cannot decode the image')
        if height is not None and width is not None and img.shape[:2] != (
                height, width):
            raise ValueError(
                f'{path}: decoded as {img.shape[1]}x{img.shape[0]} pixels '
                f'but the dataset recorded {width}x{height} (the file '
                'header); if the image has an EXIF orientation, load it '
                "with color_type='color_ignore_orientation'")
        return img

    def __repr__(self) -> str:
        return (f'{super().__repr__()[:-1]}, '
                f'skip_unreadable={self.skip_unreadable}, '
                f'verify={self.verify})')


@TRANSFORMS.register_module()
class LoadPersonSearchAnnotations(LoadAnnotations):
    """mmdet's ``LoadAnnotations`` that also loads the person ids.

    Adds ``gt_person_ids`` (int64 (n,), aligned with ``gt_bboxes``) from each
    instance's ``person_id``; everything else is mmdet's.

    Args:
        with_person_id (bool): Load ``gt_person_ids``. Defaults to True.
        **kwargs: Arguments of :class:`mmdet.datasets.transforms.
            LoadAnnotations` (``with_bbox``, ``with_label``, ...).
    """

    def __init__(self, *, with_person_id: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.with_person_id = with_person_id

    def transform(self, results: dict) -> dict:
        """Load boxes, labels and person ids.

        Args:
            results (dict): A dataset item with ``instances``.

        Returns:
            dict: ``results`` with ``gt_bboxes``, ``gt_bboxes_labels``,
            ``gt_ignore_flags`` and ``gt_person_ids``.
        """
        results = super().transform(results)
        if self.with_person_id:
            instances = results.get('instances', [])
            missing = [i for i, inst in enumerate(instances)
                       if 'person_id' not in inst]
            if missing:
                raise KeyError(
                    f'{results.get("img_path")}: instances {missing} have '
                    'no "person_id"; use a person-search dataset')
            results['gt_person_ids'] = np.array(
                [inst['person_id'] for inst in instances], dtype=np.int64)
        return results

    def __repr__(self) -> str:
        return (f'{super().__repr__()[:-1]}, '
                f'with_person_id={self.with_person_id})')
