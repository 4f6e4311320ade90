"""GFN's query-scene fuser: sigmoid excitation of a scene by a query."""
from typing import Tuple

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor, nn


@MODELS.register_module()
class QuerySceneFuser(nn.Module):
    """``z(q, s) = BN(normalise(s) * sigmoid(normalise(q) / temperature))``.

    The Gallery Filter Network (GFN's ``QueryImageFuser``, mode ``'se'``)
    gates a scene embedding ``s`` channel by channel with a query embedding
    ``q``, then applies a plain ``BatchNorm1d`` (in training mode over all
    the (query, scene) pairs of a step).

    Args:
        num_features (int): Embedding dimension. Defaults to 2048.
        temperature (float): Temperature of the query gate. Defaults to 0.2.
    """

    def __init__(self,
                 num_features: int = 2048,
                 temperature: float = 0.2) -> None:
        super().__init__()
        self.temperature = temperature
        self.norm = nn.BatchNorm1d(num_features)

    def gates(self, queries: Tensor) -> Tensor:
        """Query gates ``sigmoid(normalise(q) / temperature)``, (..., D)."""
        return torch.sigmoid(F.normalize(queries, dim=-1) / self.temperature)

    def forward(self, queries: Tensor, scenes: Tensor) -> Tensor:
        """Fuse queries with scenes.

        Args:
            queries (Tensor): Query embeddings (..., D).
            scenes (Tensor): Scene embeddings (..., D), broadcastable with
                ``queries`` (e.g. (Q, 1, D) and (1, I, D) for all pairs).

        Returns:
            Tensor: Fused features, the broadcast shape (..., D).
        """
        gated = F.normalize(scenes, dim=-1) * self.gates(queries)
        return self.norm(gated.reshape(-1, gated.size(-1))).view(gated.shape)

    def folded(self, queries: Tensor) -> Tuple[Tensor, Tensor]:
        """The test-time fuser of each query as ``z = gate * s_unit + offset``.

        In eval mode the BatchNorm is an affine map per channel, so a
        query's fuser is ``z(q, s) = gate(q) * normalise(s) + offset``: the
        (gate, offset) pair of a query scores it against any scene without
        the model (the person-search metric's GFN option).

        Args:
            queries (Tensor): Query embeddings (Q, D).

        Returns:
            tuple[Tensor, Tensor]: Gates (Q, D) and offsets (Q, D).
        """
        norm = self.norm
        scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
        offset = norm.bias - norm.running_mean * scale
        return self.gates(queries) * scale, offset.expand_as(queries)
