"""NT-Xent loss over given positive and negative pairs."""
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from torch import Tensor, nn


@MODELS.register_module()
class NTXentLoss(nn.Module):
    """Normalised temperature-scaled cross-entropy over chosen pairs.

    For anchor ``a`` with references ``r`` (cosine similarity ``c``), every
    positive pair ``(a, p)`` costs ``-log(exp(c_ap / t) / (exp(c_ap / t) +
    sum_n exp(c_an / t)))`` over the negatives ``n`` of the same anchor;
    the loss is the mean over all positive pairs (GFN's ``SafeNTXentLoss``,
    pytorch-metric-learning's NT-Xent with given pairs). No positive or no
    negative pair at all, or a non-finite value, gives 0.

    Args:
        temperature (float): Temperature ``t``. Defaults to 0.1 (GFN).
        loss_weight (float): Weight of the loss. Defaults to 1.0.
    """

    def __init__(self,
                 temperature: float = 0.1,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        self.temperature = temperature
        self.loss_weight = loss_weight

    def forward(self, anchors: Tensor, references: Tensor, positives: Tensor,
                negatives: Tensor) -> Tensor:
        """Compute the loss.

        Args:
            anchors (Tensor): Anchor features (A, D).
            references (Tensor): Each anchor's references (A, R, D).
            positives (Tensor): Bool (A, R), the positive pairs.
            negatives (Tensor): Bool (A, R), the negative pairs.

        Returns:
            Tensor: Scalar loss.
        """
        sims = torch.einsum('ad,ard->ar', F.normalize(anchors.float(), dim=-1),
                            F.normalize(references.float(), dim=-1))
        logits = sims / self.temperature
        zero = logits.sum() * 0
        if not positives.any() or not negatives.any():
            return zero
        # log(exp(pos) + sum exp(neg)) per positive pair, computed stably.
        neg_logits = logits.masked_fill(~negatives, float('-inf'))
        anchor_ids, ref_ids = torch.nonzero(positives, as_tuple=True)
        pos_logits = logits[anchor_ids, ref_ids]
        denominators = torch.logsumexp(
            torch.cat([pos_logits[:, None], neg_logits[anchor_ids]], dim=1),
            dim=1)
        loss = (denominators - pos_logits).mean()
        if not torch.isfinite(loss):
            return zero
        return self.loss_weight * loss
