"""ConvNeXt stage used as a RoI head that returns max-pooled vectors."""
from typing import Tuple, Union

import torch.nn.functional as F
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptMultiConfig
from mmengine.model import BaseModule
from mmpretrain.models.backbones.convnext import ConvNeXtBlock
from mmpretrain.models.utils import build_norm_layer
from torch import Tensor, nn

from ...backbones.partial_convnext import (CONVNEXT_INIT, convnext_arch,
                                           convnext_drop_path_rates)


@MODELS.register_module()
class PooledConvNeXtStage(BaseModule):
    """One stage of ConvNeXt (downsampling layer and blocks) on RoIs.

    SeqNeXt's "res5" heads are copies of ConvNeXt's last stage: LayerNorm
    and 2x2 stride-2 conv, then the blocks, built from mmpretrain's
    ``ConvNeXtBlock``. Like ``PooledResLayer``, the head returns the global
    MAX of its input and of its output.

    Each block keeps the stochastic depth rate it has in the whole ConvNeXt
    (per RoI at training time, identity at test time). The modules are
    named as in mmpretrain's ``ConvNeXt`` (``downsample_layers.{stage}``,
    ``stages.{stage}``), so a whole ConvNeXt checkpoint loads with
    ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')``.

    Args:
        arch (str | dict): Architecture of the whole ConvNeXt (see
            ``PartialConvNeXt``). Defaults to ``'base'``.
        stage (int): 0-based stage; 3 is the last. Defaults to 3.
        drop_path_rate (float): Stochastic depth rate of the whole
            network's last block. Defaults to 0.5.
        norm_cfg (dict): Norm layer config (mmpretrain registry).
            Defaults to ``dict(type='LN2d', eps=1e-6)``.
        act_cfg (dict): Activation config. Defaults to exact GELU.
        layer_scale_init_value (float): Initial layer scale.
            Defaults to 1e-6.
        with_cp (bool): Checkpoint the blocks to save memory.
            Defaults to False.
        init_cfg (dict or list[dict], optional): Initialization config.
            Defaults to mmpretrain's (truncated normal std 0.02).
    """

    def __init__(self,
                 arch: Union[str, dict] = 'base',
                 stage: int = 3,
                 drop_path_rate: float = 0.5,
                 norm_cfg: ConfigType = dict(type='LN2d', eps=1e-6),
                 act_cfg: ConfigType = dict(type='GELU'),
                 layer_scale_init_value: float = 1e-6,
                 with_cp: bool = False,
                 init_cfg: OptMultiConfig = CONVNEXT_INIT) -> None:
        super().__init__(init_cfg=init_cfg)
        channels = convnext_arch(arch)['channels']
        if not 1 <= stage < len(channels):
            raise ValueError(f'PooledConvNeXtStage: stage must be in 1..'
                             f'{len(channels) - 1}, got {stage}')
        in_channels, out_channels = channels[stage - 1], channels[stage]
        self.downsample_layers = nn.ModuleDict({
            str(stage):
            nn.Sequential(
                build_norm_layer(norm_cfg, in_channels),
                nn.Conv2d(in_channels, out_channels, kernel_size=2, stride=2))
        })
        self.stages = nn.ModuleDict({
            str(stage):
            nn.Sequential(*[
                ConvNeXtBlock(
                    out_channels,
                    norm_cfg=norm_cfg,
                    act_cfg=act_cfg,
                    drop_path_rate=rate,
                    layer_scale_init_value=layer_scale_init_value,
                    with_cp=with_cp) for rate in convnext_drop_path_rates(
                        arch, drop_path_rate)[stage]
            ])
        })
        self.stage = stage
        self.in_channels = in_channels
        self.out_channels = out_channels

    def forward(self, x: Tensor) -> Tuple[Tensor, Tensor]:
        """Run the stage and max-pool its input and output.

        Args:
            x (Tensor): RoI features (N, C_in, H, W).

        Returns:
            tuple[Tensor, Tensor]: Pooled input (N, C_in) and pooled output
            (N, C_out).
        """
        key = str(self.stage)
        out = self.stages[key](self.downsample_layers[key](x))
        return (F.adaptive_max_pool2d(x, 1).flatten(1),
                F.adaptive_max_pool2d(out, 1).flatten(1))
