"""Gallery Filter Network (Jaffe & Zakhor, WACV 2023)."""
from typing import Hashable, List, Sequence, Tuple

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
    embedding, taken from image A) for gallery image G, by ``mode`` (GFN's
    ``gfn_mode``):

    - ``'combined'`` (GFN's final model): ``sigmoid(cos(z(q, s_A), z(q,
      s_G)))`` with ``z`` the ``fuser``; in [0.269, 0.731], sigmoid(1) for
      G = A.
    - ``'separate'``: ``sigmoid(cos(q, s_G))``, the query against the scene,
      no fuser.
    - ``'image'``: ``sigmoid(cos(s_A, s_G))``, the query's own scene against
      the scene; the person plays no part.

    At test time each gallery image's similarities are multiplied by it.

    Training (``loss``) pairs the GT persons of the batch (labeled or not)
    with the images of the batch and those drawn from ``memory`` (whose
    stored persons count too). A person and image ``i`` are positive when
    ``i`` holds the person (an unlabeled person: only its own image);
    negative when not, except, for an unlabeled person with
    ``filter_negatives``, when ``i`` shares a labeled id with the person's
    image. ``loss_gfn`` (NT-Xent, temperature 0.1) over, by ``mode``:

    - ``'combined'``: per person the anchor ``z(q, s_own)``, references
      ``z(q, s_i)`` for every image ``i``, the person-image pairs.
    - ``'separate'``: per image the anchor ``s_i``, references the persons'
      ``q``, the same person-image pairs seen from the image.
    - ``'image'``: per image the anchor ``s_i``, references the scenes
      ``s_j``; positive when ``j = i`` or the two share a labeled id,
      negative otherwise (``filter_negatives`` plays no part).

    Args:
        scene_reid_head (dict): res5 copy for scenes
            (``PooledConvNeXtStage``).
        scene_embedding_head (dict): Embedding head for scenes
            (``NormAwareEmbeddingHead`` without losses).
        fuser (dict): Query-scene fuser of the ``'combined'`` mode (the
            other modes fuse nothing and, as GFN, build none). Defaults to
            ``QuerySceneFuser`` (temperature 0.2).
        loss_gfn (dict): Loss. Defaults to ``NTXentLoss`` (temperature 0.1).
        memory (dict, optional): ``SceneMemory`` config; None: the batch
            alone. Defaults to None.
        scene_pool_size (int): Side of the pooled scene map. Defaults to 56.
        filter_negatives (bool): Drop, for unlabeled persons, the
            negatives sharing a labeled id with their image.
            Defaults to True.
        mode (str): Score and loss: ``'combined'``, ``'separate'`` or
            ``'image'`` (GFN's ``gfn_mode``; see above). Defaults to
            ``'combined'``.
        init_cfg (dict or list[dict], optional): Initialization config.
            Defaults to None.
    """

    MODES = ('combined', 'separate', 'image')

    def __init__(self,
                 scene_reid_head: ConfigType,
                 scene_embedding_head: ConfigType,
                 fuser: ConfigType = dict(type='QuerySceneFuser'),
                 loss_gfn: ConfigType = dict(type='NTXentLoss'),
                 memory: OptConfigType = None,
                 scene_pool_size: int = 56,
                 filter_negatives: bool = True,
                 mode: str = 'combined',
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if mode not in self.MODES:
            raise ValueError(f'GalleryFilterHead: mode must be one of '
                             f'{self.MODES}, got {mode!r}')
        self.mode = mode
        self.scene_reid_head = MODELS.build(scene_reid_head)
        self.scene_embedding_head = MODELS.build(scene_embedding_head)
        if self.scene_embedding_head.with_cls or \
                self.scene_embedding_head.loss_reid is not None:
            raise ValueError('GalleryFilterHead: scene_embedding_head must '
                             'have no losses (loss_cls=None, '
                             'loss_reid=None)')
        self.fuser = MODELS.build(fuser) if mode == 'combined' else None
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
        if self.mode != 'combined':
            return torch.sigmoid(
                self._unfused_anchors(queries, query_scenes).float()
                @ F.normalize(scenes.float(), dim=-1).t())
        anchors = self.fuser(queries, query_scenes).float()
        fused = self.fuser(queries[:, None], scenes[None]).float()
        return torch.sigmoid(
            torch.einsum('qd,qgd->qg', F.normalize(anchors, dim=-1),
                         F.normalize(fused, dim=-1)))

    def query_filters(self, queries: Tensor, query_scenes: Tensor) -> Tensor:
        """Each query's filter, to score scenes without the model.

        The score of a unit scene ``s`` is ``sigmoid(cos(anchor, gate * s
        + offset))`` (see ``QuerySceneFuser.folded`` and
        ``mmseqnet.evaluation.functional.gfn_scores``). Without a fuser
        (modes ``'separate'`` and ``'image'``) the gate is 1 and the offset
        0: ``sigmoid(cos(anchor, s))``.

        Args:
            queries (Tensor): Query embeddings (Q, D).
            query_scenes (Tensor): Scene embedding of each query's image
                (Q, D).

        Returns:
            Tensor: Rows ``anchor``, ``gate``, ``offset`` per query
            (Q, 3, D), float32.
        """
        if self.mode == 'combined':
            anchors = F.normalize(self.fuser(queries, query_scenes), dim=-1)
            gates, offsets = self.fuser.folded(queries)
        else:
            anchors = self._unfused_anchors(queries, query_scenes)
            gates = torch.ones_like(anchors)
            offsets = torch.zeros_like(anchors)
        return torch.stack([anchors, gates, offsets], dim=1).float()

    def _unfused_anchors(self, queries: Tensor,
                         query_scenes: Tensor) -> Tensor:
        """Unit anchors (Q, D) of the modes without a fuser: the query
        (``'separate'``) or its image's scene (``'image'``)."""
        return F.normalize(
            queries if self.mode == 'separate' else query_scenes, dim=-1)

    def loss(self, embeddings: Tensor, image_inds: Tensor, person_ids: Tensor,
             scenes: Tensor, image_ids: Sequence[Hashable]) -> dict:
        """NT-Xent loss of the batch's persons and scenes (pairs by mode).

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
        if self.mode == 'combined':
            references = self.fuser(embeddings[:, None], scenes[None])
            anchors = references[torch.arange(len(embeddings)), image_inds]
            positives, negatives = self._pairs(image_inds, person_ids, known)
        elif self.mode == 'separate':
            # The scenes are GFN's anchors here: each positive pair's
            # negatives are the persons its image is negative for.
            anchors = scenes
            references = embeddings.expand(len(scenes), -1, -1)
            positives, negatives = (
                pairs.t()
                for pairs in self._pairs(image_inds, person_ids, known))
        else:
            anchors = scenes
            references = scenes.expand(len(scenes), -1, -1)
            holds, _ = self._holds(known, scenes.device)
            # Each scene is also its own positive, as in GFN.
            positives = self._sharing(holds) | torch.eye(
                len(scenes), dtype=torch.bool, device=scenes.device)
            negatives = ~positives
        return dict(
            loss_gfn=self.loss_gfn(anchors, references, positives, negatives))

    @staticmethod
    def _holds(known: List[set], device: torch.device) -> Tuple[Tensor, dict]:
        """Which image holds which labeled id.

        Returns:
            tuple: ``holds`` bool (I, P + 1), image ``i`` holds the ``k``-th
            labeled id (ids compared as a set; the last column, held by
            none, stands for unlabeled persons), and the column of each id.
        """
        all_ids = sorted(set().union(*known))
        index = {pid: k for k, pid in enumerate(all_ids)}
        holds = torch.zeros(
            len(known), len(all_ids) + 1, dtype=torch.bool, device=device)
        for i, ids in enumerate(known):
            holds[i, [index[pid] for pid in ids]] = True
        return holds, index

    @staticmethod
    def _sharing(holds: Tensor) -> Tensor:
        """Pairs of images (I, I) sharing a labeled id, of ``_holds``."""
        return (holds[:, None, :-1] & holds[None, :, :-1]).any(-1)

    def _pairs(self, image_inds: Tensor, person_ids: Tensor,
               known: List[set]) -> List[Tensor]:
        """Positive and negative (person, image) pairs, bool (Q, I)."""
        num_images = len(known)
        device = image_inds.device
        holds, index = self._holds(known, device)
        labeled = person_ids >= 0
        columns = torch.tensor(
            [index.get(pid, len(index)) for pid in person_ids.tolist()],
            dtype=torch.long,
            device=device)
        own = F.one_hot(image_inds, num_images).bool()
        positives = own | (holds[:, columns].t() & labeled[:, None])
        negatives = ~positives
        if self.filter_negatives:
            negatives &= labeled[:, None] | ~self._sharing(holds)[image_inds]
        return [positives, negatives]
