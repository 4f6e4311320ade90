"""Online Instance Matching loss (Xiao et al., CVPR 2017)."""
from typing import Tuple

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.dist import all_gather, get_world_size
from torch import Tensor, nn


@MODELS.register_module()
class OIMLoss(nn.Module):
    """OIM loss with a labeled look-up table and an unlabeled queue.

    The logits of an embedding ``x`` are ``scalar * x . [lut | cq]^T``: one
    per labeled identity (look-up table, LUT) and one per recent unlabeled
    person (circular queue, CQ). Labeled persons (ids ``0 .. L - 1``) give a
    cross-entropy term against their LUT row; unlabeled ones (id ``-1``) give
    none and only enter the queue. After the loss, :meth:`update` moves each
    labeled row towards its embeddings (momentum, then re-normalised) and
    writes the unlabeled embeddings into the queue, oldest first out.

    The LUT, the CQ and the queue pointer are buffers, so checkpoints carry
    them. They start at zero: a fresh model's loss is ``ln(L + Q)``.

    In distributed training every rank updates its tables with the
    embeddings of all ranks, in rank order, so the tables stay identical
    across processes (the original is single-GPU and has no such step).

    ``variant='gfn'`` is the OIM of SeqNeXt (GFN's ``OIMLossSafe``): the
    inputs are normalised again; LUT and queue rows still all zero give a
    logit of -1 (times ``scalar``) instead of 0, except that a labeled
    sample whose own row is still zero gets +1 there; and the summed
    cross-entropy is divided by the number of ALL foreground samples,
    unlabeled ones included (SeqNet's mean is over the labeled ones).

    Args:
        num_features (int): Embedding dimension. Defaults to 256.
        num_person_ids (int): Labeled identities (LUT rows). Defaults to 5532
            (CUHK-SYSU).
        queue_size (int): Unlabeled queue length. Defaults to 5000
            (CUHK-SYSU).
        momentum (float): Weight of the old LUT row in an update.
            Defaults to 0.5.
        scalar (float): Inverse temperature of the logits. Defaults to 30.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
        loss_name (str): Key of this loss in the model's loss dict (as
            mmseg's losses name theirs). Defaults to 'loss_oim'.
        variant (str): ``'seqnet'`` or ``'gfn'`` (see above).
            Defaults to ``'seqnet'``.
    """

    VARIANTS = ('seqnet', 'gfn')

    def __init__(self,
                 num_features: int = 256,
                 num_person_ids: int = 5532,
                 queue_size: int = 5000,
                 momentum: float = 0.5,
                 scalar: float = 30.0,
                 loss_weight: float = 1.0,
                 loss_name: str = 'loss_oim',
                 variant: str = 'seqnet') -> None:
        super().__init__()
        if variant not in self.VARIANTS:
            raise ValueError(f'OIMLoss: variant must be one of '
                             f'{self.VARIANTS}, got {variant!r}')
        self.variant = variant
        if num_person_ids < 1 or queue_size < 1:
            raise ValueError('OIMLoss: num_person_ids and queue_size must be '
                             f'positive, got {num_person_ids} and '
                             f'{queue_size}')
        self.num_features = num_features
        self.momentum = momentum
        self.scalar = scalar
        self.loss_weight = loss_weight
        self._loss_name = loss_name
        self.register_buffer('lut', torch.zeros(num_person_ids, num_features))
        self.register_buffer('cq', torch.zeros(queue_size, num_features))
        self.register_buffer('cq_ptr', torch.zeros((), dtype=torch.long))

    @property
    def loss_name(self) -> str:
        """str: Key of this loss in the model's loss dict."""
        return self._loss_name

    @property
    def num_person_ids(self) -> int:
        """int: Number of labeled identities (rows of the LUT)."""
        return self.lut.size(0)

    def forward(self, embeddings: Tensor, person_ids: Tensor) -> Tensor:
        """Compute the loss and, in training mode, update LUT and queue.

        Args:
            embeddings (Tensor): Unit embeddings of foreground RoIs
                (N, num_features).
            person_ids (Tensor): Their identities (N,): ``0 .. L - 1`` for
                labeled persons, ``-1`` for unlabeled ones.

        Returns:
            Tensor: Scalar loss, the mean cross-entropy over the labeled
            persons (0 when there are none); over all of them for the
            ``'gfn'`` variant.
        """
        self._check_person_ids(person_ids)
        if self.variant == 'gfn':
            return self._forward_gfn(embeddings, person_ids)
        # Float32 even under mixed precision: the scaled logits (up to
        # +-scalar) and the table updates need more than float16 holds.
        # ``cat`` copies the tables, so the in-place update below does not
        # touch what autograd saved for the backward pass.
        embeddings = embeddings.float()
        with torch.autocast(embeddings.device.type, enabled=False):
            logits = self.scalar * embeddings.mm(
                torch.cat([self.lut, self.cq]).float().t())
        labeled = person_ids >= 0
        if labeled.any():
            loss = F.cross_entropy(logits[labeled], person_ids[labeled])
        else:
            # Keep the graph connected so every rank has the same gradients.
            loss = logits.sum() * 0
        if self.training:
            self.update(*self.gather_from_ranks(embeddings.detach(),
                                                person_ids))
        return self.loss_weight * loss

    def _forward_gfn(self, embeddings: Tensor, person_ids: Tensor) -> Tensor:
        """The ``'gfn'`` variant of :meth:`forward`."""
        embeddings = F.normalize(embeddings.float(), dim=1)
        with torch.autocast(embeddings.device.type, enabled=False):
            tables = torch.cat([self.lut, self.cq]).float()
            empty = (tables == 0).all(dim=1)
            sims = embeddings.mm(tables.t())
            # Empty rows are kept out of the softmax's favour (-1), unless
            # they are the sample's own class, which then counts as matched.
            own = F.one_hot(person_ids.clamp(min=0), len(tables)).bool() & (
                person_ids[:, None] >= 0)
            sims = torch.where(empty[None], sims.new_tensor(-1.0), sims)
            sims = torch.where(own & empty[None], sims.new_tensor(1.0), sims)
            logits = self.scalar * sims
        labeled = person_ids >= 0
        # Unlabeled samples count in the denominator, with a zero term.
        loss = F.cross_entropy(
            logits[labeled], person_ids[labeled],
            reduction='sum') / max(len(person_ids), 1)
        if self.training:
            self.update(*self.gather_from_ranks(embeddings.detach(),
                                                person_ids))
        return self.loss_weight * loss

    @staticmethod
    def gather_from_ranks(embeddings: Tensor,
                          person_ids: Tensor) -> Tuple[Tensor, Tensor]:
        """The embeddings and ids of all ranks, concatenated in rank order.

        Without distributed training they are returned as they are.

        Args:
            embeddings (Tensor): This rank's embeddings (N, D).
            person_ids (Tensor): Their identities (N,).

        Returns:
            tuple[Tensor, Tensor]: All embeddings (sum N, D) and ids.
        """
        if get_world_size() == 1:
            return embeddings, person_ids
        sizes = [
            int(size) for size in all_gather(
                person_ids.new_tensor([len(person_ids)]))
        ]
        # all_gather needs the same shape everywhere: pad to the largest.
        pad = max(sizes) - len(person_ids)
        embeddings = torch.cat(
            [embeddings,
             embeddings.new_zeros(pad, embeddings.size(1))])
        person_ids = torch.cat([person_ids, person_ids.new_zeros(pad)])
        all_embeddings = all_gather(embeddings)
        all_ids = all_gather(person_ids)
        return (torch.cat([e[:n] for e, n in zip(all_embeddings, sizes)]),
                torch.cat([i[:n] for i, n in zip(all_ids, sizes)]))

    @torch.no_grad()
    def update(self, embeddings: Tensor, person_ids: Tensor) -> None:
        """Update the LUT and the queue with one step's embeddings.

        Samples are taken in order, as in the original: a labeled row that
        occurs several times is updated several times. This is the only
        place the tables change: given the same inputs on every rank
        (:meth:`gather_from_ranks`), the tables stay synchronised.

        Args:
            embeddings (Tensor): Unit embeddings (N, num_features).
            person_ids (Tensor): Their identities (N,), ``-1`` = unlabeled.
        """
        self._check_person_ids(person_ids)
        embeddings = embeddings.to(self.lut.dtype)
        labeled = person_ids >= 0
        for x, y in zip(embeddings[labeled], person_ids[labeled].tolist()):
            row = self.momentum * self.lut[y] + (1.0 - self.momentum) * x
            self.lut[y] = F.normalize(row, dim=0)

        unlabeled = embeddings[~labeled]
        num_new, queue_size = unlabeled.size(0), self.cq.size(0)
        if num_new == 0:
            return
        # Of more entries than the queue holds, only the newest survive.
        kept = unlabeled[-queue_size:]
        start = self.cq_ptr + num_new - kept.size(0)
        slots = (start + torch.arange(
            kept.size(0), device=self.cq.device)) % queue_size
        self.cq[slots] = kept
        self.cq_ptr.copy_((self.cq_ptr + num_new) % queue_size)

    def _check_person_ids(self, person_ids: Tensor) -> None:
        """Raise when an id is outside ``-1 .. num_person_ids - 1``."""
        if person_ids.numel() == 0:
            return
        low, high = int(person_ids.min()), int(person_ids.max())
        if low < -1 or high >= self.num_person_ids:
            raise ValueError(
                f'OIMLoss: person ids must be in [-1, {self.num_person_ids}) '
                f'(-1 = unlabeled), got values in [{low}, {high}]; set '
                '`num_person_ids` to the number of training identities')
