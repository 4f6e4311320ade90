"""ResNet stage used as a RoI head that returns max-pooled vectors."""
from typing import Tuple

import torch.nn.functional as F
from mmdet.models.backbones import ResNet
from mmdet.models.layers import ResLayer as _ResLayer
from mmdet.models.roi_heads.shared_heads import ResLayer
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptMultiConfig
from torch import Tensor


@MODELS.register_module()
class PooledResLayer(ResLayer):
    """mmdet's ``ResLayer`` shared head returning pooled input and output.

    SeqNet's ``box_head`` and ``reid_head`` are each a copy of ResNet's last
    stage (``layer4``) run on RoI features; both the RoI input (res4) and the
    stage output (res5) are reduced by global MAX pooling, and the
    norm-aware embedding uses both.

    ``base_channels`` narrows the stage like mmdet ``ResNet``'s argument of
    that name, so that the head matches a narrowed backbone.

    Args:
        depth (int): ResNet depth (18, 34, 50, 101, 152).
        stage (int): 0-based ResNet stage; 3 is ``layer4``. Defaults to 3.
        stride (int): Stride of the first block. Defaults to 2.
        dilation (int): Dilation of the blocks. Defaults to 1.
        style (str): ``'pytorch'`` (stride on the 3x3 conv, torchvision) or
            ``'caffe'``. Defaults to ``'pytorch'``.
        norm_cfg (dict): Norm layer config. Defaults to trainable BN.
        norm_eval (bool): Keep the BN layers in eval mode during training.
            Defaults to False (SeqNet trains them; mmdet's default is True).
        with_cp (bool): Use checkpointing to save memory. Defaults to False.
        base_channels (int): Width of ResNet's first stage, as in mmdet's
            ``ResNet``: the stage takes ``base_channels * 2**(stage - 1) *
            expansion`` channels and gives ``base_channels * 2**stage *
            expansion``. Defaults to 64 (the standard ResNet).
        init_cfg (dict or list[dict], optional): Initialization config; a
            ``Pretrained`` config pointing at a whole ResNet checkpoint loads
            its ``layer{stage + 1}`` weights (the other keys are reported as
            unexpected and skipped). Defaults to None (mmdet's Kaiming init).
    """

    def __init__(self,
                 depth: int,
                 stage: int = 3,
                 stride: int = 2,
                 dilation: int = 1,
                 style: str = 'pytorch',
                 norm_cfg: ConfigType = dict(type='BN', requires_grad=True),
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 base_channels: int = 64,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(
            depth=depth,
            stage=stage,
            stride=stride,
            dilation=dilation,
            style=style,
            norm_cfg=norm_cfg,
            norm_eval=norm_eval,
            with_cp=with_cp,
            init_cfg=init_cfg)
        if base_channels != 64:
            # mmdet's ResLayer builds the standard width only: rebuild the
            # stage narrower, with the same blocks and name (layer{stage+1}).
            block, stage_blocks = ResNet.arch_settings[depth]
            self.add_module(
                f'layer{stage + 1}',
                _ResLayer(
                    block,
                    inplanes=base_channels * 2**(stage - 1) * block.expansion,
                    planes=base_channels * 2**stage,
                    num_blocks=stage_blocks[stage],
                    stride=stride,
                    dilation=dilation,
                    style=style,
                    with_cp=with_cp,
                    norm_cfg=norm_cfg))

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Run the stage and max-pool its input and output.

        Args:
            x (Tensor): RoI features (N, C_in, H, W).

        Returns:
            tuple[Tensor, Tensor]: Pooled input (N, C_in) and pooled output
            (N, C_out).
        """
        out = super().forward(x)
        return (F.adaptive_max_pool2d(x, 1).flatten(1),
                F.adaptive_max_pool2d(out, 1).flatten(1))
