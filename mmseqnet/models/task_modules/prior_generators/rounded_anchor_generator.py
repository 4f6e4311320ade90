"""Anchor generator with whole-pixel base anchors (torchvision's rule)."""
from typing import Optional, Tuple, Union

from mmdet.models.task_modules.prior_generators import AnchorGenerator
from mmdet.registry import TASK_UTILS
from torch import Tensor


@TASK_UTILS.register_module()
class RoundedAnchorGenerator(AnchorGenerator):
    """mmdet's ``AnchorGenerator`` with base anchors rounded to integers.

    torchvision's ``AnchorGenerator``, which the original SeqNet uses, rounds
    its base anchors (aspect ratio 0.5, size 32 gives ``[-23, -11, 23, 11]``
    rather than ``[-22.6, -11.3, 22.6, 11.3]``); mmdet's keeps them fractional.
    All arguments are ``AnchorGenerator``'s. SeqNet's anchors: ``strides=[16]``
    (base size 16), ``scales=[2, 4, 8, 16, 32]`` (sizes 32..512),
    ``ratios=[0.5, 1.0, 2.0]``, ``center_offset=0`` (centred at k * 16); the
    default ``scale_major=True`` orders them ratio-major like torchvision.
    """

    def gen_single_level_base_anchors(
            self,
            base_size: Union[int, float],
            scales: Tensor,
            ratios: Tensor,
            center: Optional[Tuple[float]] = None) -> Tensor:
        """Generate the rounded base anchors of one level.

        Args:
            base_size (int | float): Basic size of an anchor.
            scales (Tensor): Scales of the anchors, shape (num_scales,).
            ratios (Tensor): Height / width ratios, shape (num_ratios,).
            center (tuple[float], optional): Centre of the base anchors in
                the feature grid cell. Defaults to None (``center_offset``).

        Returns:
            Tensor: Base anchors (num_ratios * num_scales, 4), xyxy.
        """
        return super().gen_single_level_base_anchors(
            base_size, scales, ratios, center=center).round()
