"""mmpretrain's ConvNeXt cut before its last stage(s), as a detection stem."""
from typing import Sequence, Union

import torch
from mmdet.registry import MODELS
from mmdet.utils import OptMultiConfig
from mmpretrain.models.backbones import ConvNeXt
from torch import nn

CONVNEXT_INIT = [
    dict(type='TruncNormal', layer=['Conv2d', 'Linear'], std=.02, bias=0.),
    dict(type='Constant', layer=['LayerNorm'], val=1., bias=0.)
]


def convnext_drop_path_rates(arch: Union[str, dict],
                             drop_path_rate: float) -> list:
    """Stochastic depth rate of every block of a whole ConvNeXt, per stage.

    Linear from 0 to ``drop_path_rate`` over all blocks, as both
    mmpretrain and torchvision do.

    Args:
        arch (str | dict): An mmpretrain ``ConvNeXt.arch_settings`` name or
            a dict with ``depths`` and ``channels``.
        drop_path_rate (float): Rate of the last block.

    Returns:
        list[list[float]]: The rates of each stage's blocks.
    """
    depths = convnext_arch(arch)['depths']
    rates = torch.linspace(0, drop_path_rate, sum(depths)).tolist()
    starts = [sum(depths[:i]) for i in range(len(depths))]
    return [rates[s:s + d] for s, d in zip(starts, depths)]


def convnext_arch(arch: Union[str, dict]) -> dict:
    """``depths`` and ``channels`` of an mmpretrain ConvNeXt architecture."""
    if isinstance(arch, str):
        if arch not in ConvNeXt.arch_settings:
            raise KeyError(f'ConvNeXt arch {arch!r} unknown; choose from '
                           f'{sorted(ConvNeXt.arch_settings)} or give a dict '
                           'with depths and channels')
        return ConvNeXt.arch_settings[arch]
    if not {'depths', 'channels'} <= set(arch) or len(arch['depths']) != len(
            arch['channels']):
        raise ValueError('ConvNeXt arch dict needs depths and channels of '
                         f'the same length, got {arch}')
    return arch


@MODELS.register_module()
class PartialConvNeXt(ConvNeXt):
    """The first ``num_stages`` stages of mmpretrain's ``ConvNeXt``.

    SeqNeXt (GFN) runs ConvNeXt's stages 1-3 as its backbone and stage 4 as
    its RoI heads (``PooledConvNeXtStage``). Three things differ from
    mmpretrain's ``ConvNeXt`` with ``out_indices``:

    - the later stages are not built, yet every block keeps the stochastic
      depth rate it has in the whole network (torchvision's linear rule
      over all blocks, stage 4 included);
    - the outputs are the raw stage outputs: mmpretrain adds a LayerNorm
      after each output stage, torchvision (and so GFN) does not;
    - ``frozen_stem`` freezes the stem (patchify conv and its LayerNorm)
      alone, as GFN does, where mmpretrain's ``frozen_stages=1`` would
      also freeze the first stage.

    The parameter names are mmpretrain's, so an mmpretrain ConvNeXt
    checkpoint loads with ``init_cfg=dict(type='Pretrained',
    checkpoint=..., prefix='backbone.')`` (its later stages are skipped).

    Args:
        arch (str | dict): Architecture of the WHOLE ConvNeXt:
            ``ConvNeXt.arch_settings`` name or dict with ``depths`` and
            ``channels``. Defaults to ``'base'``.
        num_stages (int): Stages built. Defaults to 3.
        out_indices (Sequence[int]): Stages whose output is returned.
            Defaults to ``(num_stages - 1, )``.
        drop_path_rate (float): Stochastic depth rate of the last block of
            the whole network. Defaults to 0.5 (torchvision's
            ``convnext_base``).
        frozen_stem (bool): Freeze the stem. Defaults to True.
        frozen_stages (int): As mmpretrain's (stem and stages).
            Defaults to 0.
        init_cfg (dict or list[dict], optional): Initialization config.
            Defaults to mmpretrain's (truncated normal std 0.02, as
            torchvision).
        **kwargs: Other arguments of mmpretrain's ``ConvNeXt``
            (``norm_cfg``, ``layer_scale_init_value``, ``with_cp``...).
    """

    def __init__(self,
                 arch: Union[str, dict] = 'base',
                 num_stages: int = 3,
                 out_indices: Sequence[int] = None,
                 drop_path_rate: float = 0.5,
                 frozen_stem: bool = True,
                 frozen_stages: int = 0,
                 init_cfg: OptMultiConfig = CONVNEXT_INIT,
                 **kwargs) -> None:
        full_arch = convnext_arch(arch)
        if not 1 <= num_stages <= len(full_arch['depths']):
            raise ValueError(f'PartialConvNeXt: num_stages must be in 1..'
                             f'{len(full_arch["depths"])}, got {num_stages}')
        if out_indices is None:
            out_indices = (num_stages - 1, )
        if not all(0 <= i < num_stages for i in out_indices):
            raise ValueError(f'PartialConvNeXt: out_indices {out_indices} '
                             f'outside the {num_stages} built stages')
        depths = full_arch['depths']
        kept = sum(depths[:num_stages])
        # mmpretrain spreads the rates linearly over the blocks it builds:
        # end its line where the whole network's line is at block kept - 1.
        kept_rate = 0.0 if kept < 2 else \
            drop_path_rate * (kept - 1) / (sum(depths) - 1)
        self.frozen_stem = frozen_stem
        super().__init__(
            arch=dict(
                depths=list(depths[:num_stages]),
                channels=list(full_arch['channels'][:num_stages])),
            drop_path_rate=kept_rate,
            out_indices=list(out_indices),
            frozen_stages=frozen_stages,
            gap_before_final_norm=False,
            init_cfg=init_cfg,
            **kwargs)
        for i in self.out_indices:
            setattr(self, f'norm{i}', nn.Identity())

    def _freeze_stages(self) -> None:
        """Freeze mmpretrain's ``frozen_stages``, then the stem alone."""
        super()._freeze_stages()
        if self.frozen_stem:
            self.downsample_layers[0].eval()
            for param in self.downsample_layers[0].parameters():
                param.requires_grad = False
