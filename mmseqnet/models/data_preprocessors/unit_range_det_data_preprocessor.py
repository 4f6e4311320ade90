"""Detection data preprocessor that normalises and resizes as torchvision."""
from numbers import Number, Real
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmdet.models.data_preprocessors import DetDataPreprocessor
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import scale_boxes
from torch import Tensor

RESIZE_KEYS = ('min_size', 'max_size')


@MODELS.register_module()
class UnitRangeDetDataPreprocessor(DetDataPreprocessor):
    """mmdet's ``DetDataPreprocessor`` with torchvision's arithmetic.

    The original SeqNet preprocesses with torchvision's
    ``GeneralizedRCNNTransform``: pixels ``x / 255`` standardised with mean
    and std in the [0, 1] range, then, per image, a bilinear resize of the
    standardised float image, then zero padding to a multiple of 32. mmdet
    standardises ``x`` with mean and std scaled by 255 and resizes the uint8
    image with cv2 in the pipeline. Mathematically close, the two differ in
    float32 bits and, for resizing, by a pixel of output size (torchvision
    floors ``size * scale`` with a float32 scale: 1080x1920 becomes 843x1500,
    cv2's rounding 844x1500), and a detector's box deltas amplify that.
    This preprocessor does it torchvision's way, bit for bit.

    It therefore normalises itself, before resizing (``mean``, ``std`` and
    the channel order are applied here, in [0, 1] units); mmdet's
    ``DetDataPreprocessor`` only pads, stacks and fills ``batch_input_shape``
    and ``pad_shape``.

    With ``resize``, each image of shape (h, w) is resized to
    ``floor(h * s) x floor(w * s)``, ``s = min(min_size / min(h, w),
    max_size / max(h, w))`` in float32, as torchvision does; each sample's
    metainfo gets the new ``img_shape`` and ``scale_factor`` (w' / w,
    h' / h, multiplied into a pipeline's own ``scale_factor`` if it has
    one), so that predictions rescaled by mmdet (``1 / scale_factor``) land
    on torchvision's ``resize_boxes`` back-mapping (``w / w'`` in float32)
    exactly. When training, ``gt_instances`` and ``ignored_instances`` boxes
    are scaled by the same factors (torchvision's target resizing); at test
    time they stay in original pixels for the metric. Random flips belong
    in the pipeline, before this resize, as the original flips in its
    dataset.

    Args:
        mean (Sequence[Number], optional): Pixel mean of the channels, in
            [0, 1] units (after ``bgr_to_rgb``). Defaults to None (no
            standardisation).
        std (Sequence[Number], optional): Pixel standard deviation of the
            channels, in [0, 1] units. Defaults to None.
        pad_size_divisor (int): Pad the batch to a multiple of it.
            Defaults to 1.
        pad_value (float | int): Value of the padded pixels. Defaults to 0.
        pad_mask (bool): Pad instance masks (not with ``resize``, which does
            not resize masks). Defaults to False.
        mask_pad_value (int): Padded value of instance masks. Defaults to 0.
        pad_seg (bool): Pad semantic maps (not with ``resize``). Defaults to
            False.
        seg_pad_value (int): Padded value of semantic maps. Defaults to 255.
        bgr_to_rgb (bool): Swap the channels of BGR inputs. Defaults to
            False.
        rgb_to_bgr (bool): Swap the channels of RGB inputs. Defaults to
            False.
        boxtype2tensor (bool): Turn box types into tensors. Defaults to True.
        non_blocking (bool): Copy to the device asynchronously. Defaults to
            False.
        batch_augments (list[dict], optional): Training batch augmentations.
            Defaults to None.
        resize (dict, optional): ``dict(min_size=..., max_size=...)``:
            torchvision's ``GeneralizedRCNNTransform`` resize, e.g. SeqNet's
            ``dict(min_size=900, max_size=1500)``. Defaults to None (no
            resize: the pipeline sizes the images).
    """

    def __init__(self,
                 mean: Optional[Sequence[Number]] = None,
                 std: Optional[Sequence[Number]] = None,
                 pad_size_divisor: int = 1,
                 pad_value: Union[float, int] = 0,
                 pad_mask: bool = False,
                 mask_pad_value: int = 0,
                 pad_seg: bool = False,
                 seg_pad_value: int = 255,
                 bgr_to_rgb: bool = False,
                 rgb_to_bgr: bool = False,
                 boxtype2tensor: bool = True,
                 non_blocking: Optional[bool] = False,
                 batch_augments: Optional[List[dict]] = None,
                 resize: Optional[dict] = None) -> None:
        # The parent must not normalise again: it gets the images
        # normalised (and resized), and only pads them.
        super().__init__(
            pad_size_divisor=pad_size_divisor,
            pad_value=pad_value,
            pad_mask=pad_mask,
            mask_pad_value=mask_pad_value,
            pad_seg=pad_seg,
            seg_pad_value=seg_pad_value,
            boxtype2tensor=boxtype2tensor,
            non_blocking=non_blocking,
            batch_augments=batch_augments)
        if (mean is None) != (std is None):
            raise ValueError(
                f'{type(self).__name__}: mean and std must be given both or '
                f'neither, got mean={mean}, std={std}')
        if mean is not None and not (len(mean) == len(std)
                                     and len(mean) in (1, 3)):
            raise ValueError(
                f'{type(self).__name__}: mean and std must have 1 or 3 '
                f'values each, got mean={mean}, std={std}')
        if bgr_to_rgb and rgb_to_bgr:
            raise ValueError(f'{type(self).__name__}: bgr_to_rgb and '
                             'rgb_to_bgr cannot both be True')
        self.normalize = mean is not None
        if self.normalize:
            # Not saved: a checkpoint holds no preprocessor state.
            self.register_buffer('mean',
                                 torch.tensor(mean).view(-1, 1, 1), False)
            self.register_buffer('std',
                                 torch.tensor(std).view(-1, 1, 1), False)
        self.swap_channels = bgr_to_rgb or rgb_to_bgr
        self.resize = self._check_resize(resize)
        if self.resize is not None and (pad_mask or pad_seg):
            raise ValueError(
                f'{type(self).__name__}: resize scales boxes only; masks '
                'and semantic maps would keep their size (pad_mask and '
                'pad_seg must be False)')

    @classmethod
    def _check_resize(cls, resize: Optional[dict]) -> Optional[dict]:
        """``resize`` with float sizes, or None; bad values raise."""
        if resize is None:
            return None
        if not isinstance(resize, dict) or set(resize) != set(RESIZE_KEYS):
            raise ValueError(
                f'{cls.__name__}: resize must be a dict with keys '
                f'{RESIZE_KEYS}, got {resize!r}')
        for key in RESIZE_KEYS:
            value = resize[key]
            is_real = isinstance(value, Real) and not isinstance(value, bool)
            if not (is_real and value > 0):
                raise ValueError(
                    f'{cls.__name__}: resize {key} must be a positive '
                    f'number, got {value!r}')
        # torchvision divides by float sizes.
        return {key: float(resize[key]) for key in RESIZE_KEYS}

    def forward(self, data: dict, training: bool = False) -> dict:
        """Normalise, resize, pad and fill the metainfo.

        Args:
            data (dict): Data from the dataloader: ``inputs`` (a list of
                (C, H, W) uint8 tensors, or one (B, C, H, W) tensor) and
                ``data_samples`` (list of :obj:`DetDataSample`, optional).
            training (bool): Training: scale the ground-truth boxes with
                the images and apply ``batch_augments``. Defaults to False.

        Returns:
            dict: ``inputs`` (B, C, H', W') float32 and ``data_samples``.
        """
        # On the target device first: a smaller copy, a faster division.
        data = self.cast_data(data)
        data_samples = data.get('data_samples')
        images = [self._normalize(img) for img in data['inputs']]
        if self.resize is not None:
            images = [self._resize(img) for img in images]
            if data_samples is not None:
                for sample, old, new in zip(data_samples, data['inputs'],
                                            images):
                    self._rescale_sample(sample, tuple(old.shape[-2:]),
                                         tuple(new.shape[-2:]), training)
        data['inputs'] = images
        return super().forward(data, training=training)

    def _normalize(self, img: Tensor) -> Tensor:
        """``(x / 255 - mean) / std`` of one (C, H, W) image, as torchvision.

        Dividing first, rather than standardising ``x`` with mean and std
        scaled by 255, keeps the inputs bit-identical to torchvision's.
        """
        if img.dim() != 3:
            raise ValueError(
                f'{type(self).__name__}: each input image must be a '
                f'(C, H, W) tensor, got shape {tuple(img.shape)}')
        if self.swap_channels:
            img = img[[2, 1, 0], ...]
        img = img.float() / 255
        if self.normalize:
            if self.mean.shape[0] != 1 and img.shape[0] != self.mean.shape[0]:
                raise ValueError(
                    f'{type(self).__name__}: mean has {self.mean.shape[0]} '
                    f'values but the image has {img.shape[0]} channels')
            img = (img - self.mean) / self.std
        return img

    def _resize(self, img: Tensor) -> Tensor:
        """Resize one normalised (C, H, W) image as torchvision does.

        The scale is a float32 tensor computation (``size / tensor`` is
        torch's reciprocal-then-multiply) and ``interpolate`` floors
        ``H * scale`` in double, so the new size can be a pixel under the
        target (1080x1800 becomes 899x1499). At scale 1 the bilinear
        interpolation is the identity.
        """
        shape = torch.tensor(img.shape[-2:]).to(torch.float32)
        scale = torch.min(self.resize['min_size'] / shape.min(),
                          self.resize['max_size'] / shape.max())
        return F.interpolate(
            img[None],
            scale_factor=scale.item(),
            mode='bilinear',
            recompute_scale_factor=True,
            align_corners=False)[0]

    @staticmethod
    def _rescale_sample(sample: DetDataSample, old_shape: Tuple[int, int],
                        new_shape: Tuple[int, int], training: bool) -> None:
        """Record a resize from ``old_shape`` to ``new_shape`` (h, w).

        ``scale_factor`` is the double ``w' / w``: converted to float32 it
        is torchvision's ``resize_boxes`` ratio (float32 ``w'`` / ``w``),
        and mmdet's back-mapping ``1 / scale_factor`` in float32 is its
        inverse ratio (float32 ``w`` / ``w'``), both exactly: a ratio of
        image sides (far below 2**24) is never a float32 rounding tie, nor
        within the double roundings' error of one.
        """
        factors = (new_shape[1] / old_shape[1], new_shape[0] / old_shape[0])
        metainfo = dict(img_shape=new_shape, scale_factor=factors)
        if 'scale_factor' in sample:
            w_scale, h_scale = sample.scale_factor
            metainfo['scale_factor'] = (w_scale * factors[0],
                                        h_scale * factors[1])
        sample.set_metainfo(metainfo)
        if not training:
            return
        for key in ('gt_instances', 'ignored_instances'):
            if key in sample and 'bboxes' in sample.get(key):
                instances = sample.get(key)
                instances.bboxes = scale_boxes(instances.bboxes, factors)
