"""SeqNet's sequential RoI head."""
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmdet.models.roi_heads import BaseRoIHead
from mmdet.models.task_modules.samplers import SamplingResult
from mmdet.models.utils import unpack_gt_instances
from mmdet.registry import MODELS, TASK_UTILS
from mmdet.structures import SampleList
from mmdet.structures.bbox import bbox2roi, get_box_wh, scale_boxes
from mmdet.utils import ConfigType, InstanceList, OptConfigType, OptMultiConfig
from mmengine.model import BaseModule
from mmengine.structures import InstanceData
from torch import Tensor

from ..utils import stable_batched_nms


@MODELS.register_module()
class SequentialRoIHead(BaseRoIHead):
    """SeqNet's RoI head: a Faster R-CNN head followed by a re-ID head.

    Stage 0, the first head: RoI features of the proposals go through
    ``box_head`` (a res5 stage) and ``bbox_head`` (mmdet's ``BBoxHead``:
    person/background softmax and box deltas). Stage 1, the re-ID ("baseline")
    head, works on the boxes stage 0 regressed: ``reid_head`` (a separate res5
    stage), ``reid_bbox_head`` (box deltas again, BN neck) and
    ``embedding_head`` (norm-aware embedding, its norm classification, OIM).
    Both stages read the same ``bbox_roi_extractor``.

    Training: each stage assigns and samples its own RoIs (GT boxes added as
    proposals); stage 1 samples around ALL of stage 0's sampled boxes, GT
    included, decoded with their person deltas, clipped and detached.

    Inference, per image: stage 0 keeps persons with score > ``score_thr`` and
    sides >= ``min_bbox_size``, ``inter_stage_nms``, at most ``max_per_img``;
    stage 1 regresses these boxes again and embeds them. The score is stage
    0's (First Classification Score, ``use_fcs``), the embeddings are
    multiplied by it (confidence-weighted similarity, ``weight_embeddings``),
    then the same filters with ``nms``. Boxes stay in input pixels until the
    end (``rescale``).

    Without ``box_head`` and ``bbox_head`` the head is the parallel baseline
    (NAE, or OIM): one re-ID head on the proposals, scored by its own
    classifier.

    Losses are prefixed with their stage (``s0.loss_cls``, ``s1.loss_oim``);
    the re-ID stage's keys come from ``embedding_head.loss_keys``.

    Args:
        bbox_roi_extractor (dict): RoI feature extractor of both stages.
        reid_head (dict): res5 stage of the re-ID head, returning pooled
            input and output vectors (``PooledResLayer``).
        embedding_head (dict): Embedding head on those two vectors
            (``NormAwareEmbeddingHead``), owner of the re-ID loss.
        reid_bbox_head (dict, optional): mmdet ``BBoxHead`` on the re-ID
            stage's pooled res5 vector (regression, and classification for
            an OIM-style head). Defaults to None (no regression in stage 1).
        box_head (dict, optional): res5 stage of the first head. Defaults to
            None (parallel baseline).
        bbox_head (dict, optional): mmdet ``BBoxHead`` of the first head on
            ``box_head``'s pooled res5 vector. Defaults to None.
        train_cfg (list[dict], optional): One dict per stage with
            ``assigner``, ``sampler`` and ``pos_weight``. Defaults to None.
        gfn_head (dict, optional): Gallery Filter Network
            (``GalleryFilterHead``) on the res4 map; trained on the re-ID
            stage's embeddings of the GT boxes (loss ``gfn.loss_gfn``).
            Defaults to None.
        test_cfg (dict, optional): ``score_thr``, ``min_bbox_size``,
            ``inter_stage_nms`` (None: no NMS between the stages), ``nms``,
            ``max_per_img``, ``use_fcs``, ``weight_embeddings``.
            Defaults to None.
        init_cfg (dict or list[dict], optional): Initialization config.
            Defaults to None.
    """

    def __init__(self,
                 bbox_roi_extractor: ConfigType,
                 reid_head: ConfigType,
                 embedding_head: ConfigType,
                 reid_bbox_head: OptConfigType = None,
                 box_head: OptConfigType = None,
                 bbox_head: OptConfigType = None,
                 gfn_head: OptConfigType = None,
                 train_cfg: Optional[List[ConfigType]] = None,
                 test_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        if (box_head is None) != (bbox_head is None):
            raise ValueError('SequentialRoIHead: give both box_head and '
                             'bbox_head (SeqNet) or neither (parallel '
                             'baseline)')
        self.num_stages = 1 if bbox_head is None else 2
        super().__init__(train_cfg=train_cfg, test_cfg=test_cfg,
                         init_cfg=init_cfg)
        self.init_bbox_head(bbox_roi_extractor, bbox_head)
        self.box_head = None if box_head is None else MODELS.build(box_head)
        self.reid_head = MODELS.build(reid_head)
        self.reid_bbox_head = None if reid_bbox_head is None else \
            MODELS.build(reid_bbox_head)
        self.embedding_head = MODELS.build(embedding_head)
        self.gfn_head = None if gfn_head is None else MODELS.build(gfn_head)
        self._check_heads()

    @property
    def with_first_stage(self) -> bool:
        """bool: Whether the Faster R-CNN head precedes the re-ID head."""
        return self.bbox_head is not None

    @property
    def with_gfn(self) -> bool:
        """bool: Whether the Gallery Filter Network scores scenes."""
        return self.gfn_head is not None

    @property
    def with_reid_reg(self) -> bool:
        """bool: Whether the re-ID stage regresses its boxes."""
        return self.reid_bbox_head is not None and self.reid_bbox_head.with_reg

    def init_bbox_head(self, bbox_roi_extractor: ConfigType,
                       bbox_head: OptConfigType) -> None:
        """Build the shared RoI extractor and the first head's predictor.

        Args:
            bbox_roi_extractor (dict): RoI feature extractor config.
            bbox_head (dict, optional): First head's ``BBoxHead`` config,
                None for the parallel baseline.
        """
        self.bbox_roi_extractor = MODELS.build(bbox_roi_extractor)
        self.bbox_head = None if bbox_head is None else MODELS.build(bbox_head)

    def init_mask_head(self, mask_roi_extractor: ConfigType,
                       mask_head: ConfigType) -> None:
        """SeqNet has no mask branch."""
        raise NotImplementedError('SequentialRoIHead has no mask head')

    def init_assigner_sampler(self) -> None:
        """Build one assigner and one sampler per stage from ``train_cfg``."""
        self.bbox_assigner = []
        self.bbox_sampler = []
        if self.train_cfg is None:
            return
        if len(self.train_cfg) != self.num_stages:
            raise ValueError(
                f'SequentialRoIHead: train_cfg (model.train_cfg.rcnn) needs '
                f'one dict per stage ({self.num_stages}), got '
                f'{len(self.train_cfg)}')
        for stage_cfg in self.train_cfg:
            self.bbox_assigner.append(TASK_UTILS.build(stage_cfg['assigner']))
            self.bbox_sampler.append(
                TASK_UTILS.build(
                    stage_cfg['sampler'], default_args=dict(context=self)))

    def _check_heads(self) -> None:
        """Reject head combinations the forward passes cannot serve."""
        for name in ('bbox_head', 'reid_bbox_head'):
            head = getattr(self, name)
            if head is not None and head.num_classes != 1:
                raise ValueError(f'SequentialRoIHead: {name}.num_classes '
                                 f'must be 1 (person), got {head.num_classes}')
        if self.test_cfg is None:
            return
        needs_reid_scores = not (self.with_first_stage
                                 and self.test_cfg['use_fcs'])
        if needs_reid_scores and not self._has_reid_scores():
            raise ValueError(
                'SequentialRoIHead: the re-ID stage must score its boxes '
                '(embedding_head.loss_cls or reid_bbox_head.with_cls) when '
                'there is no first head or test_cfg.use_fcs is False')

    def _has_reid_scores(self) -> bool:
        """Whether the re-ID stage has a classifier of its own."""
        return self.embedding_head.with_cls or (
            self.reid_bbox_head is not None and self.reid_bbox_head.with_cls)

    def _first_stage_forward(self, x: Tuple[Tensor],
                             rois: Tensor) -> Tuple[Tensor, Tensor]:
        """Person scores (N, 2) and deltas (N, 4) of the first head."""
        feats = self.bbox_roi_extractor(
            x[:self.bbox_roi_extractor.num_inputs], rois)
        _, res5 = self.box_head(feats)
        return self.bbox_head(res5)

    def _reid_features(self, x: Tuple[Tensor],
                       rois: Tensor) -> Tuple[Tensor, Tensor]:
        """Pooled res4 (N, C4) and res5 (N, C5) vectors of the re-ID head."""
        feats = self.bbox_roi_extractor(
            x[:self.bbox_roi_extractor.num_inputs], rois)
        return self.reid_head(feats)

    def _reid_forward(self, x: Tuple[Tensor],
                      rois: Tensor) -> Dict[str, Optional[Tensor]]:
        """All outputs of the re-ID stage for ``rois`` (n, 5).

        Returns:
            dict: ``embeddings`` (n, D) unit vectors, ``logits`` (n,) norm
            logits or None, ``cls_score`` (n, 2) or None and ``bbox_pred``
            (n, 4) or None from ``reid_bbox_head``.
        """
        res4, res5 = self._reid_features(x, rois)
        embeddings, logits = self.embedding_head((res4, res5))
        cls_score, bbox_pred = (None, None) if self.reid_bbox_head is None \
            else self.reid_bbox_head(res5)
        return dict(
            embeddings=embeddings,
            logits=logits,
            cls_score=cls_score,
            bbox_pred=bbox_pred)

    def _reid_scores(self, logits: Optional[Tensor],
                     cls_score: Optional[Tensor]) -> Tensor:
        """Person scores (n,) of the re-ID stage's own classifier."""
        if self.embedding_head.with_cls:
            return self.embedding_head.predict_scores(logits)
        if hasattr(self.reid_bbox_head, 'person_scores'):
            # One sigmoid logit (SeqNeXt's second-head score, SCS).
            return self.reid_bbox_head.person_scores(cls_score)
        # mmdet's BBoxHead puts the person first, background last.
        return F.softmax(cls_score, dim=-1)[:, 0]

    @staticmethod
    def _decode(bbox_head: BaseModule, boxes: Tensor, deltas: Tensor,
                img_meta: dict) -> Tensor:
        """Apply person deltas (n, 4) to boxes (n, 4), clipped to the image.
        """
        return bbox_head.bbox_coder.decode(
            boxes, deltas, max_shape=img_meta['img_shape'])

    def _sample(self, stage: int, proposals: List[Tensor],
                batch_gt_instances: InstanceList,
                batch_gt_instances_ignore: InstanceList
                ) -> List[SamplingResult]:
        """Assign and sample one stage's training RoIs, image by image."""
        sampling_results = []
        for priors, gt_instances, gt_ignore in zip(
                proposals, batch_gt_instances, batch_gt_instances_ignore):
            pred_instances = InstanceData(priors=priors)
            assign_result = self.bbox_assigner[stage].assign(
                pred_instances, gt_instances, gt_ignore)
            sampling_results.append(self.bbox_sampler[stage].sample(
                assign_result, pred_instances, gt_instances))
        return sampling_results

    def loss(self, x: Tuple[Tensor], rpn_results_list: InstanceList,
             batch_data_samples: SampleList) -> Dict[str, Tensor]:
        """Losses of both stages.

        Args:
            x (tuple[Tensor]): Backbone features, each (B, C, H, W).
            rpn_results_list (list[:obj:`InstanceData`]): Proposals
                (``bboxes``) of each image, input pixels.
            batch_data_samples (list[:obj:`DetDataSample`]): Samples with
                ``gt_instances`` (``bboxes``, ``labels``, ``person_ids``).

        Returns:
            dict[str, Tensor]: ``s0.loss_cls``, ``s0.acc``, ``s0.loss_bbox``
            (first head), ``s1.loss_bbox`` and the embedding head's losses
            (``s1.loss_nae``, ``s1.loss_oim`` by default; ``s0.`` for the
            parallel baseline).
        """
        batch_gt_instances, batch_gt_instances_ignore, batch_img_metas = \
            unpack_gt_instances(batch_data_samples)
        for gt_instances, img_meta in zip(batch_gt_instances,
                                          batch_img_metas):
            if 'person_ids' not in gt_instances:
                raise KeyError(
                    f'{img_meta.get("img_path", "a training sample")}: '
                    'gt_instances has no person_ids; pack training samples '
                    'with PackPersonSearchInputs')

        losses = dict()
        proposals = [res.bboxes for res in rpn_results_list]
        if self.with_first_stage:
            sampling_results = self._sample(0, proposals, batch_gt_instances,
                                            batch_gt_instances_ignore)
            rois = bbox2roi([res.priors for res in sampling_results])
            cls_score, bbox_pred = self._first_stage_forward(x, rois)
            stage_losses = self.bbox_head.loss_and_target(
                cls_score, bbox_pred, rois, sampling_results,
                self.train_cfg[0])['loss_bbox']
            losses.update({f's0.{k}': v for k, v in stage_losses.items()})
            # As in the original, stage 1 samples around every regressed
            # stage-0 sample (GT boxes included) and no gradient flows back.
            with torch.no_grad():
                img_ids = rois[:, 0].long()
                proposals = [
                    self._decode(self.bbox_head, rois[img_ids == i, 1:],
                                 bbox_pred[img_ids == i], img_meta)
                    for i, img_meta in enumerate(batch_img_metas)
                ]

        stage = self.num_stages - 1
        sampling_results = self._sample(stage, proposals, batch_gt_instances,
                                        batch_gt_instances_ignore)
        rois = bbox2roi([res.priors for res in sampling_results])
        reid = self._reid_forward(x, rois)
        stage_losses = dict()
        if self.reid_bbox_head is not None:
            stage_losses.update(
                self.reid_bbox_head.loss_and_target(
                    reid['cls_score'], reid['bbox_pred'], rois,
                    sampling_results, self.train_cfg[stage])['loss_bbox'])
        # mmdet samples put the positives first.
        is_fg = torch.cat([
            torch.arange(len(res.priors), device=rois.device) <
            len(res.pos_priors) for res in sampling_results
        ])
        fg_person_ids = torch.cat([
            gt.person_ids.to(rois.device).long()[res.pos_assigned_gt_inds]
            for res, gt in zip(sampling_results, batch_gt_instances)
        ])
        embedding_losses = self.embedding_head.loss(
            reid['embeddings'], reid['logits'], is_fg, fg_person_ids)
        clashes = sorted(set(embedding_losses) & set(stage_losses))
        if clashes:
            raise ValueError(
                f'SequentialRoIHead: embedding_head loss keys {clashes} are '
                'also reid_bbox_head losses; give the embedding losses '
                'another loss_name')
        stage_losses.update(embedding_losses)
        losses.update({f's{stage}.{k}': v for k, v in stage_losses.items()})
        if self.with_gfn:
            losses.update({
                f'gfn.{k}': v
                for k, v in self._gfn_loss(x, batch_gt_instances,
                                           batch_img_metas).items()
            })
        return losses

    def _gfn_loss(self, x: Tuple[Tensor], batch_gt_instances: InstanceList,
                  batch_img_metas: List[dict]) -> Dict[str, Tensor]:
        """GFN loss on the re-ID stage's embeddings of the GT boxes."""
        gt_bboxes = [gt.bboxes for gt in batch_gt_instances]
        embeddings, _ = self.embedding_head(
            self._reid_features(x, bbox2roi(gt_bboxes)))
        device = embeddings.device
        image_inds = torch.cat([
            torch.full((len(b), ), i, dtype=torch.long, device=device)
            for i, b in enumerate(gt_bboxes)
        ])
        person_ids = torch.cat([
            gt.person_ids.to(device).long() for gt in batch_gt_instances
        ])
        image_ids = [
            img_meta.get('img_id', img_meta.get('img_path'))
            for img_meta in batch_img_metas
        ]
        return self.gfn_head.loss(embeddings, image_inds, person_ids,
                                  self.gfn_head.scene_embeddings(x[0]),
                                  image_ids)

    def predict_gallery_filter(self, x: Tuple[Tensor],
                               query_embeddings: Dict[int, Tensor]
                               ) -> Tuple[Tensor, Dict[int, Tensor]]:
        """Scene embeddings of the batch and GFN filters of its queries.

        Args:
            x (tuple[Tensor]): Backbone features, each (B, C, H, W).
            query_embeddings (dict[int, Tensor]): Batch index -> query
                embedding (1, D) of the query samples.

        Returns:
            tuple: Scene embeddings (B, D) and, per query sample, its
            filter (3, D) (``GalleryFilterHead.query_filters``).
        """
        scenes = self.gfn_head.scene_embeddings(x[0])
        filters = {
            i: self.gfn_head.query_filters(emb[:1], scenes[i:i + 1])[0]
            for i, emb in query_embeddings.items()
        }
        return scenes, filters

    def predict(self,
                x: Tuple[Tensor],
                rpn_results_list: InstanceList,
                batch_data_samples: SampleList,
                rescale: bool = False,
                forced_instances: Optional[List[Optional[InstanceData]]] = None
                ) -> InstanceList:
        """Detect and embed the persons of gallery images.

        Args:
            x (tuple[Tensor]): Backbone features, each (B, C, H, W).
            rpn_results_list (list[:obj:`InstanceData`]): Proposals
                (``bboxes``) of each image, input pixels.
            batch_data_samples (list[:obj:`DetDataSample`]): Samples (their
                ``img_shape`` and ``scale_factor`` are used).
            rescale (bool): Return boxes in original image pixels.
                Defaults to False.
            forced_instances (list[:obj:`InstanceData`, optional], optional):
                Per image, boxes to force into the final NMS (input pixels,
                with ``bboxes``, ``scores`` of 1 and ``embeddings``): the
                CBGM query-image path. They enter the NMS ahead of the
                detections, so they are kept, come first and suppress the
                detections they overlap; the image's embeddings are not
                weighted. Defaults to None.

        Returns:
            list[:obj:`InstanceData`]: Per image ``bboxes`` (n, 4),
            ``scores`` (n,), ``labels`` (n,) zeros and ``embeddings``
            (n, D), sorted by score.
        """
        batch_img_metas = [ds.metainfo for ds in batch_data_samples]
        if forced_instances is None:
            forced_instances = [None] * len(batch_img_metas)
        cfg = self.test_cfg
        boxes = [res.bboxes for res in rpn_results_list]
        first_scores = None
        if self.with_first_stage:
            cls_score, bbox_pred = self._first_stage_forward(
                x, bbox2roi(boxes))
            num_boxes = [len(b) for b in boxes]
            detections = [
                self._postprocess(
                    InstanceData(
                        bboxes=self._decode(self.bbox_head, props, deltas,
                                            img_meta),
                        # mmdet's BBoxHead puts the person first.
                        scores=F.softmax(scores, dim=-1)[:, 0]),
                    cfg['inter_stage_nms'])
                for props, scores, deltas, img_meta in zip(
                    boxes, cls_score.split(num_boxes),
                    bbox_pred.split(num_boxes), batch_img_metas)
            ]
            boxes = [det.bboxes for det in detections]
            first_scores = [det.scores for det in detections]

        reid = self._reid_forward(x, bbox2roi(boxes))
        num_boxes = [len(b) for b in boxes]
        reid = {
            k: [None] * len(boxes) if v is None else v.split(num_boxes)
            for k, v in reid.items()
        }
        results_list = []
        for i, img_meta in enumerate(batch_img_metas):
            bboxes = boxes[i]
            if self.with_reid_reg:
                bboxes = self._decode(self.reid_bbox_head, bboxes,
                                      reid['bbox_pred'][i], img_meta)
            if first_scores is not None and cfg['use_fcs']:
                scores = first_scores[i]
            else:
                scores = self._reid_scores(reid['logits'][i],
                                           reid['cls_score'][i])
            embeddings = reid['embeddings'][i]
            # The CBGM context of a query image is compared unweighted.
            if cfg['weight_embeddings'] and forced_instances[i] is None:
                embeddings = embeddings * scores[:, None]
            results = self._postprocess(
                InstanceData(
                    bboxes=bboxes, scores=scores, embeddings=embeddings),
                cfg['nms'], forced_instances[i])
            if rescale:
                results.bboxes = scale_boxes(
                    results.bboxes, [1 / s for s in img_meta['scale_factor']])
            results.labels = results.scores.new_zeros(
                len(results), dtype=torch.long)
            results_list.append(results)
        return results_list

    def _postprocess(self,
                     results: InstanceData,
                     nms_cfg: OptConfigType,
                     forced: Optional[InstanceData] = None) -> InstanceData:
        """Score and size filters, NMS and top-k of one image's boxes.

        Args:
            results (:obj:`InstanceData`): ``bboxes`` (n, 4), ``scores`` (n,)
                and any per-box fields.
            nms_cfg (dict, optional): NMS config; None sorts by score only.
            forced (:obj:`InstanceData`, optional): Boxes with score 1 added
                after the filters, ahead of the others. Defaults to None.

        Returns:
            :obj:`InstanceData`: The kept boxes by decreasing score, forced
            ones first.
        """
        cfg = self.test_cfg
        results = results[results.scores > cfg['score_thr']]
        widths, heights = get_box_wh(results.bboxes)
        results = results[(widths >= cfg['min_bbox_size'])
                          & (heights >= cfg['min_bbox_size'])]
        if forced is not None:
            # The original appends the query box (score 1) before the NMS;
            # put first, it also wins ties, so it always leads the output.
            results = InstanceData.cat([forced, results])
        if nms_cfg is not None and len(results) > 0:
            # Label 1 for every person, as the original: batched NMS offsets
            # boxes by their label, which moves the float32 IoU rounding.
            keep = stable_batched_nms(
                results.bboxes, results.scores,
                results.scores.new_ones(len(results), dtype=torch.long),
                nms_cfg)
        else:
            keep = results.scores.argsort(descending=True, stable=True)
        results = results[keep]
        return results[:cfg['max_per_img']]

    def predict_embeddings(self, x: Tuple[Tensor],
                           bboxes: List[Tensor]) -> List[Tensor]:
        """Unit embeddings of given boxes (the query path): no regression,
        no score.

        Args:
            x (tuple[Tensor]): Backbone features, each (B, C, H, W).
            bboxes (list[Tensor]): Per image, boxes (n_i, 4) in input pixels.

        Returns:
            list[Tensor]: Per image, embeddings (n_i, D).
        """
        embeddings, _ = self.embedding_head(
            self._reid_features(x, bbox2roi(bboxes)))
        return list(embeddings.split([len(b) for b in bboxes]))

    def forward(self, x: Tuple[Tensor], rpn_results_list: InstanceList,
                batch_data_samples: SampleList) -> tuple:
        """Raw outputs without post-processing (``mode='tensor'``).

        The re-ID stage runs on every proposal regressed by the first head.

        Returns:
            tuple: First head ``cls_score`` and ``bbox_pred`` (with a first
            head), then the re-ID stage's outputs that exist, in the order
            ``embeddings``, ``logits``, ``cls_score``, ``bbox_pred``.
        """
        boxes = [res.bboxes for res in rpn_results_list]
        outs = ()
        if self.with_first_stage:
            cls_score, bbox_pred = self._first_stage_forward(
                x, bbox2roi(boxes))
            outs += (cls_score, bbox_pred)
            boxes = [
                self._decode(self.bbox_head, props, deltas, ds.metainfo)
                for props, deltas, ds in zip(
                    boxes, bbox_pred.split([len(b) for b in boxes]),
                    batch_data_samples)
            ]
        reid = self._reid_forward(x, bbox2roi(boxes))
        return outs + tuple(v for v in reid.values() if v is not None)
