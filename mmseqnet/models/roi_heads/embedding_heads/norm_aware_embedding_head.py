"""Norm-Aware Embedding head (Chen et al., CVPR 2020)."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmdet.registry import MODELS
from mmdet.utils import OptConfigType, OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor, nn


@MODELS.register_module()
class NormAwareEmbeddingHead(BaseModule):
    """Person embedding whose norm doubles as a detection confidence.

    Each input vector is projected by ``Linear`` + ``BatchNorm1d``; the
    projections are concatenated into an ``out_channels`` vector ``e``. The
    embedding is ``e / ||e||``; the detection logit is a
    ``BatchNorm1d(1)`` ("rescaler") of ``||e||``, trained with binary
    cross-entropy against foreground / background. The re-ID loss (OIM) is
    applied to the foreground embeddings.

    Args:
        in_channels (Sequence[int]): Channels of each input vector, e.g.
            pooled res4 and res5 (1024, 2048). Defaults to (1024, 2048).
        out_channels (int): Embedding dimension; split evenly over the
            inputs, the remainder going to the last ones. Defaults to 256.
        loss_cls (dict, optional): Loss on the norm logit. Defaults to binary
            cross-entropy. None drops the rescaler and the loss, leaving a
            plain L2-normalised embedding (for the task ablations and the
            OIM-style head, which classify elsewhere or not at all).
        loss_reid (dict, optional): Re-ID loss config; its ``num_features``
            defaults to ``out_channels``. Defaults to ``OIMLoss`` with
            CUHK-SYSU's table sizes. None: an embedding without a loss of
            its own (GFN's scene embedding).

    Loss keys name the configured losses: a loss module's own ``loss_name``
    (``OIMLoss``: ``loss_oim``) when it declares one, else the term's role:
    ``loss_nae`` (the norm-aware detection loss, whichever classification
    loss computes it) and ``loss_reid``.
        init_cfg (dict or list[dict], optional): Initialization config.
            Defaults to N(0, 0.01) weights and zero biases in the projectors
            (the rescaler keeps BatchNorm's default), as in the original.
    """

    def __init__(self,
                 in_channels: Sequence[int] = (1024, 2048),
                 out_channels: int = 256,
                 loss_cls: OptConfigType = dict(
                     type='CrossEntropyLoss',
                     use_sigmoid=True,
                     loss_weight=1.0),
                 loss_reid: OptConfigType = dict(
                     type='OIMLoss',
                     num_person_ids=5532,
                     queue_size=5000),
                 init_cfg: OptMultiConfig = dict(
                     type='Normal', std=0.01,
                     override=dict(name='projectors'))) -> None:
        super().__init__(init_cfg=init_cfg)
        if len(in_channels) == 0 or out_channels < len(in_channels):
            raise ValueError('NormAwareEmbeddingHead: need at least one input '
                             'and one output channel per input, got '
                             f'in_channels={in_channels}, '
                             f'out_channels={out_channels}')
        self.in_channels = tuple(in_channels)
        self.out_channels = out_channels
        self.projectors = nn.ModuleList(
            nn.Sequential(nn.Linear(in_ch, dim), nn.BatchNorm1d(dim))
            for in_ch, dim in zip(self.in_channels, self._split_dims()))
        self.with_cls = loss_cls is not None
        if self.with_cls:
            self.rescaler = nn.BatchNorm1d(1)
            self.loss_cls = MODELS.build(loss_cls)
        self.loss_reid = None if loss_reid is None else MODELS.build(
            loss_reid, default_args=dict(num_features=out_channels))
        self.loss_keys = dict() if loss_reid is None else dict(
            reid=self._loss_key(self.loss_reid, 'loss_reid'))
        if self.with_cls:
            self.loss_keys['cls'] = self._loss_key(self.loss_cls, 'loss_nae')
            if self.loss_keys['cls'] == self.loss_keys.get('reid'):
                raise ValueError(
                    'NormAwareEmbeddingHead: loss_cls and loss_reid are both '
                    f'named {self.loss_keys["cls"]!r}; give one of them '
                    'another loss_name')

    @staticmethod
    def _loss_key(loss: nn.Module, role: str) -> str:
        """The loss dict key of ``loss``: its ``loss_name``, else ``role``."""
        key = getattr(loss, 'loss_name', role)
        # mmengine sums only the entries whose key contains 'loss'.
        if 'loss' not in key:
            raise ValueError(
                f'NormAwareEmbeddingHead: {type(loss).__name__}.loss_name '
                f'must contain "loss" to be optimised, got {key!r}')
        return key

    def _split_dims(self) -> List[int]:
        """Output dimension of each projector (remainder to the last)."""
        parts = len(self.in_channels)
        dims = [self.out_channels // parts] * parts
        for i in range(self.out_channels % parts):
            dims[-1 - i] += 1
        return dims

    def forward(self,
                feats: Sequence[Tensor]) -> Tuple[Tensor, Optional[Tensor]]:
        """Embed RoI feature vectors.

        Args:
            feats (Sequence[Tensor]): One tensor per input, (N, C_i) or
                (N, C_i, 1, 1).

        Returns:
            tuple: Unit embeddings (N, out_channels) and detection logits
            (N,) (None without ``loss_cls``).
        """
        if len(feats) != len(self.projectors):
            raise ValueError(f'NormAwareEmbeddingHead: expected '
                             f'{len(self.projectors)} inputs, got '
                             f'{len(feats)}')
        # The norm is both the detection evidence and the normaliser: take
        # it in float32 under mixed precision.
        embeddings = torch.cat([
            proj(feat.flatten(1))
            for proj, feat in zip(self.projectors, feats)
        ], dim=1).float()
        norms = embeddings.norm(dim=1, keepdim=True)
        unit_embeddings = embeddings / norms.clamp(min=1e-12)
        logits = self.rescaler(norms).squeeze(1) if self.with_cls else None
        return unit_embeddings, logits

    def predict_scores(self, logits: Tensor) -> Tensor:
        """Detection confidence from the norm logits.

        Args:
            logits (Tensor): Logits (N,) from :meth:`forward`.

        Returns:
            Tensor: Scores in [0, 1], shape (N,).
        """
        return logits.sigmoid()

    def loss(self, embeddings: Tensor, logits: Optional[Tensor],
             is_fg: Tensor, fg_person_ids: Tensor) -> Dict[str, Tensor]:
        """Norm classification and re-ID losses of sampled RoIs.

        Args:
            embeddings (Tensor): Unit embeddings (N, out_channels).
            logits (Tensor, optional): Norm logits (N,), None without
                ``loss_cls``.
            is_fg (Tensor): Bool (N,), True for foreground RoIs.
            fg_person_ids (Tensor): Identity of each foreground RoI in order
                (num_fg,), ``-1`` = unlabeled.

        Returns:
            dict[str, Tensor]: The norm classification loss (with
            ``loss_cls``) and the re-ID loss, under ``loss_keys['cls']``
            and ``loss_keys['reid']`` (``loss_nae`` and ``loss_oim`` by
            default).
        """
        losses = dict()
        if self.with_cls:
            losses[self.loss_keys['cls']] = self.loss_cls(
                logits, is_fg.float())
        if self.loss_reid is not None:
            losses[self.loss_keys['reid']] = self.loss_reid(
                embeddings[is_fg], fg_person_ids)
        return losses
