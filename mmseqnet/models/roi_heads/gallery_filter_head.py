"""Gallery Filter Network (Jaffe & Zakhor, WACV 2023)."""
from typing import Hashable, List, Sequence

import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor


@MODELS.register_module()
class GalleryFilterHead(BaseModule):
    """Scores how likely a gallery image is to hold a query person.

    Scene embedding ``s`` of an image: adaptive MAX pool of the whole res4
    map to ``scene_pool_size``, then a res5 copy of its own
    (``scene_reid_head``) and an embedding head of its own
    (``scene_embedding_head``), unit length. Score of query ``q`` (query
    embedding, taken from image A) for gallery image G:
    ``sigmoid(cos(z(q, s_A), z(q, s_G)))`` with ``z`` the ``fuser``
    (GFN's "combined" mode); in [0.269, 0.731], sigmoid(1) for G = A. At
    test time each gallery image's similarities are multiplied by it.

    Training (``loss``): every GT person of the batch (labeled or not) is
    an anchor ``z(q, s_own)``; its references are ``z(q, s_i)`` for every
    image ``i`` of the batch and of the images drawn from ``memory``
    (whose stored persons are anchors too). Positive: ``i`` holds the
    person (an unlabeled person only its own image); negative: it does
    not, and, for an unlabeled person with ``filter_negatives``, ``i``
    shares no labeled id with the person's image. ``loss_gfn`` (NT-Xent,
    temperature 0.1) over those pairs.

    Args:
        scene_reid_head (dict): res5 copy for scenes
            (``PooledConvNeXtStage``).
        scene_embedding_head (dict): Embedding head for scenes
            (``NormAwareEmbeddingHead`` without losses).
        fuser (dict): Query-scene fuser. Defaults to ``QuerySceneFuser``
            (temperature 0.2).
        loss_gfn (dict): Loss. Defaults to ``NTXentLoss`` (temperature 0.1).
        memory (dict, optional): ``SceneMemory`` config; None: the batch
            alone. Defaults to None.
        scene_pool_size (int): Side of the pooled scene map. Defaults to 56.
        filter_negatives (bool): Drop, for unlabeled persons, the
            negatives sharing a labeled id with their image.
            Defaults to True.
        init_cfg (dict or list[dict], optional): Initialization config.
            Defaults to None.
    """

    def __init__(self,
                 scene_reid_head: ConfigType,
                 scene_embedding_head: ConfigType,
                 fuser: ConfigType = dict(type='QuerySceneFuser'),
                 loss_gfn: ConfigType = dict(type='NTXentLoss'),
                 memory: OptConfigType = None,
                 scene_pool_size: int = 56,
                 filter_negatives: bool = True,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        self.scene_reid_head = MODELS.build(scene_reid_head)
        self.scene_embedding_head = MODELS.build(scene_embedding_head)
        if self.scene_embedding_head.with_cls or \
                self.scene_embedding_head.loss_reid is not None:
            raise ValueError('GalleryFilterHead: scene_embedding_head must '
                             'have no losses (loss_cls=None, '
                             'loss_reid=None)')
        self.fuser = MODELS.build(fuser)
        self.loss_gfn = MODELS.build(loss_gfn)
        self.memory = None if memory is None else MODELS.build(memory)
        self.scene_pool_size = scene_pool_size
        self.filter_negatives = filter_negatives

    def scene_embeddings(self, feats: Tensor) -> Tensor:
        """Unit scene embeddings (B, D) of res4 maps (B, C, H, W)."""
        pooled = F.adaptive_max_pool2d(feats, self.scene_pool_size)
        return self.scene_embedding_head(self.scene_reid_head(pooled))[0]

    def scores(self, queries: Tensor, query_scenes: Tensor,
               scenes: Tensor) -> Tensor:
        """GFN scores of queries for gallery scenes, in float32.

        Args:
            queries (Tensor): Query embeddings (Q, D).
            query_scenes (Tensor): Scene embedding of each query's image
                (Q, D).
            scenes (Tensor): Gallery scene embeddings (G, D).

        Returns:
            Tensor: Scores (Q, G).
        """
        anchors = self.fuser(queries, query_scenes).float()
        fused = self.fuser(queries[:, None], scenes[None]).float()
        return torch.sigmoid(
            torch.einsum('qd,qgd->qg', F.normalize(anchors, dim=-1),
                         F.normalize(fused, dim=-1)))

    def query_filters(self, queries: Tensor, query_scenes: Tensor) -> Tensor:
        """Each query's filter, to score scenes without the model.

        The score of a unit scene ``s`` is ``sigmoid(cos(anchor, gate * s
        + offset))`` (see ``QuerySceneFuser.folded`` and
        ``mmseqnet.evaluation.functional.gfn_scores``).

        Args:
            queries (Tensor): Query embeddings (Q, D).
            query_scenes (Tensor): Scene embedding of each query's image
                (Q, D).

        Returns:
            Tensor: Rows ``anchor``, ``gate``, ``offset`` per query
            (Q, 3, D), float32.
        """
        anchors = F.normalize(self.fuser(queries, query_scenes), dim=-1)
        gates, offsets = self.fuser.folded(queries)
        return torch.stack([anchors, gates, offsets], dim=1).float()

    def loss(self, embeddings: Tensor, image_inds: Tensor, person_ids: Tensor,
             scenes: Tensor, image_ids: Sequence[Hashable]) -> dict:
        """NT-Xent loss of the batch's persons against scenes.

        Args:
            embeddings (Tensor): GT persons' embeddings (Q, D).
            image_inds (Tensor): Batch image of each person (Q,).
            person_ids (Tensor): Their ids (Q,), -1 = unlabeled.
            scenes (Tensor): Scene embeddings of the batch (B, D).
            image_ids (Sequence[Hashable]): Dataset ids of the batch
                images (ints or names), keys of the memory.

        Returns:
            dict[str, Tensor]: ``loss_gfn``.
        """
        num_images = len(scenes)
        known = [
            set(person_ids[(image_inds == i) & (person_ids >= 0)].tolist())
            for i in range(num_images)
        ]
        if self.memory is not None and self.training:
            # Read the drawn images before this batch's entries may
            # overwrite them.
            rows = self.memory.sample(image_ids, known)
            mem_embeddings, mem_ids, mem_inds = self.memory.persons(rows)
            mem_scenes = self.memory.scenes[rows]
            self.memory.write(image_ids, scenes.detach(), [
                embeddings[image_inds == i].detach() for i in range(num_images)
            ], [person_ids[image_inds == i] for i in range(num_images)])
            embeddings = torch.cat([embeddings, mem_embeddings.to(embeddings)])
            image_inds = torch.cat([image_inds, num_images + mem_inds])
            person_ids = torch.cat([person_ids, mem_ids])
            scenes = torch.cat([scenes, mem_scenes.to(scenes)])
            known += [
                set(mem_ids[(mem_inds == k) & (mem_ids >= 0)].tolist())
                for k in range(len(rows))
            ]
        if len(embeddings) == 0:
            return dict(loss_gfn=scenes.sum() * 0)
        fused = self.fuser(embeddings[:, None], scenes[None])
        anchors = fused[torch.arange(len(embeddings)), image_inds]
        positives, negatives = self._pairs(image_inds, person_ids, known)
        return dict(
            loss_gfn=self.loss_gfn(anchors, fused, positives, negatives))

    def _pairs(self, image_inds: Tensor, person_ids: Tensor,
               known: List[set]) -> List[Tensor]:
        """Positive and negative (person, image) pairs, bool (Q, I)."""
        num_images = len(known)
        device = image_inds.device
        # holds[i, p]: image i holds labeled id p (ids compared as a set).
        all_ids = sorted(set().union(*known))
        index = {pid: k for k, pid in enumerate(all_ids)}
        holds = torch.zeros(
            num_images, len(all_ids) + 1, dtype=torch.bool, device=device)
        for i, ids in enumerate(known):
            holds[i, [index[pid] for pid in ids]] = True
        labeled = person_ids >= 0
        columns = torch.tensor(
            [index.get(pid, len(all_ids)) for pid in person_ids.tolist()],
            dtype=torch.long,
            device=device)
        own = F.one_hot(image_inds, num_images).bool()
        positives = own | (holds[:, columns].t() & labeled[:, None])
        negatives = ~positives
        if self.filter_negatives:
            shares = (holds[:, None, :-1] & holds[None, :, :-1]).any(-1)
            negatives &= labeled[:, None] | ~shares[image_inds]
        return [positives, negatives]
