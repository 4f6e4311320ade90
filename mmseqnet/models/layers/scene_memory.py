"""GFN's image memory as buffers: scenes and persons of past images."""
import random
from typing import List, Sequence, Set

import torch
from mmdet.registry import MODELS
from mmengine.dist import all_gather, get_world_size
from torch import Tensor, nn

EMPTY = -2  # person slot without a person


@MODELS.register_module()
class SceneMemory(nn.Module):
    """Detached scene embeddings and GT-person embeddings of seen images.

    GFN's NT-Xent loss compares each person with the scenes of the batch
    and of a few stored images (GFN's "image LUT", a Python dict outside
    the state_dict). Here the store is made of buffers, so checkpoints
    carry it and a resumed run continues with it: ``image_ids`` (N,)
    (-1: free), ``scenes`` (N, D), ``embeddings`` (N, P, D) and
    ``person_ids`` (N, P) (>= 0 labeled, -1 unlabeled, -2 no person).
    An image seen again replaces its entry; new images fill free rows, then
    replace the oldest entries (a ring). In distributed training every rank
    writes the entries of all ranks in rank order, so the buffers stay
    identical across processes (as the OIM tables).

    Args:
        num_features (int): Embedding dimension. Defaults to 2048.
        num_images (int): Images held; GFN holds every training image.
            Defaults to 5704 (PRW's training frames).
        max_persons (int): Persons held per image; an image with more is
            an error. Defaults to 32.
    """

    def __init__(self,
                 num_features: int = 2048,
                 num_images: int = 5704,
                 max_persons: int = 32) -> None:
        super().__init__()
        self.register_buffer('image_ids',
                             torch.full((num_images, ), -1, dtype=torch.long))
        self.register_buffer('scenes', torch.zeros(num_images, num_features))
        self.register_buffer(
            'embeddings', torch.zeros(num_images, max_persons, num_features))
        self.register_buffer(
            'person_ids',
            torch.full((num_images, max_persons), EMPTY, dtype=torch.long))
        self.register_buffer('ptr', torch.zeros((), dtype=torch.long))

    @property
    def max_persons(self) -> int:
        """int: Persons held per image."""
        return self.person_ids.size(1)

    @torch.no_grad()
    def write(self, image_ids: Sequence[int], scenes: Tensor,
              embeddings: List[Tensor], person_ids: List[Tensor]) -> None:
        """Store one step's images (of every rank, in rank order).

        Args:
            image_ids (Sequence[int]): Dataset image ids (B,).
            scenes (Tensor): Scene embeddings (B, D).
            embeddings (list[Tensor]): Per image, person embeddings (n, D).
            person_ids (list[Tensor]): Per image, person ids (n,), -1 for
                unlabeled persons.
        """
        num_persons = [len(p) for p in person_ids]
        if num_persons and max(num_persons) > self.max_persons:
            raise ValueError(
                f'SceneMemory: an image holds {max(num_persons)} persons, '
                f'more than max_persons={self.max_persons}; raise '
                'max_persons in the gfn_head memory config')
        slots = scenes.new_zeros(
            len(image_ids), self.max_persons, scenes.size(1))
        ids = torch.full((len(image_ids), self.max_persons),
                         EMPTY,
                         dtype=torch.long,
                         device=scenes.device)
        for i, (emb, pid) in enumerate(zip(embeddings, person_ids)):
            slots[i, :len(pid)] = emb
            ids[i, :len(pid)] = pid
        image_ids = torch.as_tensor(
            list(image_ids), dtype=torch.long, device=scenes.device)
        if get_world_size() > 1:
            image_ids, scenes, slots, ids = (
                torch.cat(all_gather(t))
                for t in (image_ids, scenes.contiguous(), slots, ids))
        for image_id, scene, slot, pid in zip(image_ids.tolist(), scenes,
                                              slots, ids):
            rows = (self.image_ids == image_id).nonzero().flatten()
            if len(rows):
                row = int(rows[0])
            else:
                row = int(self.ptr)
                self.ptr.copy_((self.ptr + 1) % len(self.image_ids))
            self.image_ids[row] = image_id
            self.scenes[row] = scene.to(self.scenes)
            self.embeddings[row] = slot.to(self.embeddings)
            self.person_ids[row] = pid

    def sample(self, batch_image_ids: Sequence[int],
               batch_known_ids: List[Set[int]]) -> List[int]:
        """Stored images to compare the batch's persons with (GFN's rule).

        For up to batch-size labeled ids of the batch, drawn at random:
        one stored image holding the id (a positive), and one not holding
        it but sharing another labeled id with the batch image that holds
        it (a hard negative); never a batch image, never twice.

        Args:
            batch_image_ids (Sequence[int]): The batch's image ids.
            batch_known_ids (list[set[int]]): Labeled ids of each batch
                image.

        Returns:
            list[int]: Rows of the memory.
        """
        filled = (self.image_ids >= 0).nonzero().flatten().tolist()
        if not filled:
            return []
        row_ids = self.person_ids.tolist()
        row_sets = {row: set(row_ids[row]) - {-1, EMPTY} for row in filled}
        stored_ids = self.image_ids.tolist()
        excluded = set(batch_image_ids)
        union = sorted(set().union(*batch_known_ids))
        chosen = []
        for pid in random.sample(union, min(len(batch_image_ids), len(union))):
            order = random.sample(filled, len(filled))
            own = next(s for s in batch_known_ids if pid in s)
            for wanted in (lambda ids: pid in ids,
                           lambda ids: pid not in ids and bool(ids & own)):
                for row in order:
                    if (row not in chosen and stored_ids[row] not in excluded
                            and wanted(row_sets[row])):
                        chosen.append(row)
                        break
        return chosen
