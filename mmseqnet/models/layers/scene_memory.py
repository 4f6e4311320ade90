"""GFN's image memory as buffers: scenes and persons of past images."""
import hashlib
import random
from typing import Hashable, List, Sequence, Set, Tuple

import torch
from mmdet.registry import MODELS
from mmengine.dist import all_gather, get_world_size
from torch import Tensor, nn


def image_key(image_id: Hashable) -> int:
    """A non-negative int64 key of a dataset image id.

    Non-negative ints are their own key; anything else (the datasets' ids
    are image names) is hashed (blake2b, 62 bits), stably across processes
    and runs, unlike Python's ``hash``.
    """
    if isinstance(image_id, int) and image_id >= 0:
        return image_id
    digest = hashlib.blake2b(str(image_id).encode(), digest_size=8).digest()
    return int.from_bytes(digest, 'little') >> 2


@MODELS.register_module()
class SceneMemory(nn.Module):
    """Detached scene embeddings and GT-person embeddings of seen images.

    GFN's NT-Xent loss compares each person with the scenes of the batch
    and of a few stored images (GFN's "image LUT", a Python dict outside
    the state_dict). Here the store is made of buffers, so checkpoints
    carry it and a resumed run continues with it:

    - images: ``image_ids`` (N,) (-1: free) and ``scenes`` (N, D);
    - persons, a pool shared by the images: ``embeddings`` (M, D),
      ``person_ids`` (M,) (>= 0 labeled, -1 unlabeled) and ``owners``
      (M,), the image row of each person (-1: free).

    An image seen again replaces its entry. New images and persons take
    free places in turn (two rings); an image whose row or any of whose
    persons' places are taken is dropped whole, so a stored image always
    lists all its persons. GFN keeps every training image: set
    ``num_images`` and ``num_persons`` to the training set's images and GT
    boxes (4 bytes x D per scene and per person). In distributed training
    every rank writes the entries of all ranks in rank order, so the
    buffers stay identical across processes (as the OIM tables).

    Args:
        num_features (int): Embedding dimension. Defaults to 2048.
        num_images (int): Images held. Defaults to 5704 (PRW's training
            frames).
        num_persons (int): Persons held, all images together. Defaults to
            18048 (PRW's training boxes).
    """

    def __init__(self,
                 num_features: int = 2048,
                 num_images: int = 5704,
                 num_persons: int = 18048) -> None:
        super().__init__()
        self.register_buffer('image_ids',
                             torch.full((num_images, ), -1, dtype=torch.long))
        self.register_buffer('scenes', torch.zeros(num_images, num_features))
        self.register_buffer('image_ptr', torch.zeros((), dtype=torch.long))
        self.register_buffer('embeddings',
                             torch.zeros(num_persons, num_features))
        self.register_buffer('person_ids',
                             torch.full((num_persons, ), -1, dtype=torch.long))
        self.register_buffer('owners',
                             torch.full((num_persons, ), -1, dtype=torch.long))
        self.register_buffer('person_ptr', torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def write(self, image_ids: Sequence[int], scenes: Tensor,
              embeddings: List[Tensor], person_ids: List[Tensor]) -> None:
        """Store one step's images (of every rank, in rank order).

        Args:
            image_ids (Sequence[Hashable]): Dataset image ids (B,), see
                :func:`image_key`.
            scenes (Tensor): Scene embeddings (B, D).
            embeddings (list[Tensor]): Per image, person embeddings (n, D).
            person_ids (list[Tensor]): Per image, person ids (n,), -1 for
                unlabeled persons.
        """
        device = scenes.device
        counts = torch.tensor([len(p) for p in person_ids],
                              dtype=torch.long,
                              device=device)
        if counts.numel() and int(counts.max()) > len(self.owners):
            raise ValueError(
                f'SceneMemory: an image holds {int(counts.max())} persons, '
                f'more than num_persons={len(self.owners)}')
        image_ids = torch.as_tensor([image_key(i) for i in image_ids],
                                    dtype=torch.long,
                                    device=device)
        persons = torch.cat(list(embeddings)) if embeddings else \
            scenes.new_zeros(0, scenes.size(1))
        pids = torch.cat(list(person_ids)).to(device) if person_ids else \
            counts.new_zeros(0)
        if get_world_size() > 1:
            image_ids, scenes, counts = (
                torch.cat(all_gather(t))
                for t in (image_ids, scenes.contiguous(), counts))
            persons, pids = _gather_rows(persons, pids)
        starts = torch.cumsum(counts, 0) - counts
        for image_id, scene, start, count in zip(image_ids.tolist(), scenes,
                                                 starts.tolist(),
                                                 counts.tolist()):
            self._write_one(image_id, scene, persons[start:start + count],
                            pids[start:start + count])

    def _write_one(self, image_id: int, scene: Tensor, persons: Tensor,
                   pids: Tensor) -> None:
        """Store one image, dropping the entries its places take."""
        rows = (self.image_ids == image_id).nonzero().flatten()
        if len(rows):
            row = int(rows[0])
        else:
            row = int(self.image_ptr)
            self.image_ptr.copy_((self.image_ptr + 1) % len(self.image_ids))
            self._drop(row)
        self.owners[self.owners == row] = -1
        slots = (self.person_ptr + torch.arange(
            len(pids), device=self.owners.device)) % len(self.owners)
        for victim in self.owners[slots].unique().tolist():
            if victim >= 0:
                self._drop(victim)
        self.person_ptr.copy_((self.person_ptr + len(pids)) % len(self.owners))
        self.image_ids[row] = image_id
        self.scenes[row] = scene.to(self.scenes)
        self.embeddings[slots] = persons.to(self.embeddings)
        self.person_ids[slots] = pids.to(self.person_ids)
        self.owners[slots] = row

    def _drop(self, row: int) -> None:
        """Forget the image of ``row`` and its persons."""
        self.image_ids[row] = -1
        self.owners[self.owners == row] = -1

    def persons(self, rows: Sequence[int]) -> Tuple[Tensor, Tensor, Tensor]:
        """The persons of stored images.

        Args:
            rows (Sequence[int]): Image rows.

        Returns:
            tuple[Tensor, Tensor, Tensor]: Embeddings (n, D), person ids
            (n,) and the position of each person's image in ``rows`` (n,).
        """
        rows = torch.as_tensor(
            list(rows), dtype=torch.long, device=self.owners.device)
        match = self.owners[:, None] == rows[None]
        held, position = match.nonzero(as_tuple=True)
        return self.embeddings[held], self.person_ids[held], position

    def sample(self, batch_image_ids: Sequence[int],
               batch_known_ids: List[Set[int]]) -> List[int]:
        """Stored images to compare the batch's persons with (GFN's rule).

        For up to batch-size labeled ids of the batch, drawn at random:
        one stored image holding the id (a positive), and one not holding
        it but sharing another labeled id with the batch image that holds
        it (a hard negative); never a batch image, never twice.

        Args:
            batch_image_ids (Sequence[Hashable]): The batch's image ids.
            batch_known_ids (list[set[int]]): Labeled ids of each batch
                image.

        Returns:
            list[int]: Image rows of the memory.
        """
        stored_ids = self.image_ids.tolist()
        excluded = {image_key(i) for i in batch_image_ids}
        row_sets = {
            row: set()
            for row, image_id in enumerate(stored_ids)
            if image_id >= 0 and image_id not in excluded
        }
        if not row_sets:
            return []
        for owner, pid in zip(self.owners.tolist(), self.person_ids.tolist()):
            if pid >= 0 and owner in row_sets:
                row_sets[owner].add(pid)
        candidates = list(row_sets)
        union = sorted(set().union(*batch_known_ids))
        chosen = []
        for pid in random.sample(union, min(len(batch_image_ids), len(union))):
            order = random.sample(candidates, len(candidates))
            own = next(s for s in batch_known_ids if pid in s)
            for wanted in (lambda ids: pid in ids,
                           lambda ids: pid not in ids and bool(ids & own)):
                for row in order:
                    if row not in chosen and wanted(row_sets[row]):
                        chosen.append(row)
                        break
        return chosen


def _gather_rows(rows: Tensor, ids: Tensor) -> Tuple[Tensor, Tensor]:
    """All ranks' rows (n_r, D) and ids (n_r,), concatenated in rank order.
    """
    sizes = [int(n) for n in all_gather(ids.new_tensor([len(ids)]))]
    pad = max(sizes) - len(ids)
    rows = torch.cat([rows, rows.new_zeros(pad, rows.size(1))])
    ids = torch.cat([ids, ids.new_zeros(pad)])
    return (torch.cat([r[:n] for r, n in zip(all_gather(rows), sizes)]),
            torch.cat([i[:n] for i, n in zip(all_gather(ids), sizes)]))
