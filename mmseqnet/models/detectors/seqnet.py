"""SeqNet person search detector (Li & Miao, AAAI 2021)."""
from typing import List, Optional, Sequence, Tuple

import torch
from mmcv.cnn import fuse_conv_bn
from mmdet.models.detectors import TwoStageDetector
from mmdet.models.roi_heads.roi_extractors import BaseRoIExtractor
from mmdet.registry import MODELS
from mmdet.structures import SampleList
from mmdet.utils import ConfigType, OptConfigType, OptMultiConfig
from mmengine.structures import InstanceData
from torch import Tensor, nn

from ..layers import SparseMatmulRoIAlign

SAMPLE_TYPES = ('gallery', 'query')


@MODELS.register_module()
class SeqNet(TwoStageDetector):
    """SeqNet: a two-stage detector that also embeds every person.

    Training is mmdet's two-stage ``loss``: RPN, then the RoI head
    (``SequentialRoIHead``), whose samples need ``gt_instances.person_ids``.

    ``predict`` serves both kinds of test sample of docs/data_flow.md, mixed
    freely in a batch, as told by ``metainfo['sample_type']``:

    - ``'gallery'`` (the default): RPN and RoI head; ``pred_instances`` holds
      the detections with ``bboxes``, ``scores`` (first head), ``labels`` and
      confidence-weighted ``embeddings``.
    - ``'query'``: ``metainfo['query_bbox']`` (xyxy, original pixels) is
      embedded directly (no RPN, no regression, no weighting); row 0 of
      ``pred_instances`` is that box with score 1. With
      ``test_cfg.query_context`` the query image also runs the gallery path
      with the query box forced in and weighting off; those detections
      follow, the forced query box being row 0 (the CBGM context).

    With a Gallery Filter Network (``roi_head.gfn_head``) every sample also
    gets ``scene_embedding`` (D,) and every query ``gfn_filter`` (3, D),
    which scores gallery scenes (``evaluation.functional.gfn_scores``).

    Args:
        backbone (dict): Backbone config.
        rpn_head (dict): RPN head config.
        roi_head (dict): RoI head config (``SequentialRoIHead``).
        train_cfg (dict, optional): ``rpn``, ``rpn_proposal`` and ``rcnn``
            (a list, one dict per RoI stage). Defaults to None.
        test_cfg (dict, optional): ``rpn``, ``rcnn`` and ``query_context``
            (bool, default False). Defaults to None.
        neck (dict, optional): Neck config. Defaults to None.
        data_preprocessor (dict, optional): Data preprocessor config.
            Defaults to None.
        init_cfg (dict or list[dict], optional): Initialization config.
            Defaults to None.
        channels_last (bool): Keep convolution weights, hence feature maps,
            channels-last (NHWC) in training and inference: oneDNN's CPU
            convolutions compute in that layout and reorder NCHW maps at
            every layer. The RoIAlign layers become
            :class:`~mmseqnet.models.layers.SparseMatmulRoIAlign` (mmcv's CPU
            kernel reads NCHW memory whatever the strides). Parameters and
            checkpoints are the same as without it. Defaults to False.
    """

    def __init__(self,
                 backbone: ConfigType,
                 rpn_head: ConfigType,
                 roi_head: ConfigType,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 neck: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None,
                 channels_last: bool = False) -> None:
        super().__init__(
            backbone=backbone,
            neck=neck,
            rpn_head=rpn_head,
            roi_head=roi_head,
            train_cfg=train_cfg,
            test_cfg=test_cfg,
            data_preprocessor=data_preprocessor,
            init_cfg=init_cfg)
        self.fused_for_inference = False
        self.channels_last = channels_last
        if channels_last:
            self._use_sparse_roi_align()
            self.to(memory_format=torch.channels_last)

    def extract_feat(self, batch_inputs: Tensor) -> Tuple[Tensor]:
        """Backbone (and neck) features, channels-last if the model is."""
        if self.channels_last:
            batch_inputs = batch_inputs.contiguous(
                memory_format=torch.channels_last)
        return super().extract_feat(batch_inputs)

    def _use_sparse_roi_align(self) -> None:
        """Put SparseMatmulRoIAlign in place of mmcv's RoIAlign layers."""
        for module in self.modules():
            if isinstance(module, BaseRoIExtractor):
                module.roi_layers = nn.ModuleList(
                    layer if isinstance(layer, SparseMatmulRoIAlign) else
                    SparseMatmulRoIAlign.from_mmcv(layer)
                    for layer in module.roi_layers)

    @property
    def query_context(self) -> bool:
        """bool: Whether query images also run the CBGM gallery path."""
        return bool(self.test_cfg.get('query_context', False))

    def fuse_for_inference(self,
                           fold_bn: bool = True,
                           sparse_roi_align: bool = True,
                           channels_last: bool = True) -> 'SeqNet':
        """Rewrite the model, in place, for faster CPU inference.

        Each step drops work that only training needs and changes nothing
        but the float32 rounding: outputs stay within the reference
        equivalence tolerances (tests/test_models/test_seqnet_equivalence.py;
        measured end to end on the reference SeqNet with 2 threads: scores
        and embeddings move by < 6e-5, by ~1e-6 with ``sparse_roi_align``
        alone, boxes by < 0.3 px):

        - ``fold_bn``: every BatchNorm that follows a convolution is folded
          into it (mmcv's ``fuse_conv_bn``): in eval mode BN is a fixed
          affine map per channel, a separate pass over each feature map.
        - ``sparse_roi_align``: mmcv's RoIAlign layers become
          :class:`~mmseqnet.models.layers.SparseMatmulRoIAlign`, one sparse
          matrix product instead of a scalar loop per channel.
        - ``channels_last``: convolution weights, hence all feature maps,
          become NHWC, the layout oneDNN's CPU convolutions compute in
          (NCHW maps are reordered to and from it at every convolution).
          Needs ``sparse_roi_align``: mmcv's CPU RoIAlign reads its input
          as NCHW memory whatever its strides.

        A model built with ``channels_last=True`` has both of the last two
        already, whatever the arguments say.

        The change is one-way: the model must be in eval mode and cannot
        train afterwards (:meth:`train` raises), and its state dict loses
        the folded BatchNorms (save checkpoints before fusing).

        Args:
            fold_bn (bool): Fold BatchNorm into convolutions. Defaults to
                True.
            sparse_roi_align (bool): Replace mmcv's RoIAlign. Defaults to
                True.
            channels_last (bool): Use channels-last feature maps. Defaults
                to True.

        Returns:
            SeqNet: The model itself.
        """
        if self.training:
            raise RuntimeError('SeqNet.fuse_for_inference: call eval() '
                               'first; a fused model cannot train')
        if channels_last and not (sparse_roi_align or self.channels_last):
            raise ValueError(
                'SeqNet.fuse_for_inference: channels_last needs '
                'sparse_roi_align (mmcv\'s CPU RoIAlign reads NCHW memory)')
        if fold_bn:
            fuse_conv_bn(self)
        if sparse_roi_align:
            self._use_sparse_roi_align()
        if channels_last:
            self.to(memory_format=torch.channels_last)
        self.fused_for_inference = True
        return self

    def train(self, mode: bool = True) -> 'SeqNet':
        """Set the training mode; a model fused for inference cannot train.
        """
        if mode and self.fused_for_inference:
            raise RuntimeError(
                'SeqNet was fused for inference (fuse_for_inference) and '
                'cannot train: build it again from its config and weights')
        return super().train(mode)

    def predict(self,
                batch_inputs: Tensor,
                batch_data_samples: SampleList,
                rescale: bool = True) -> SampleList:
        """Detect and embed gallery persons, embed queries.

        Args:
            batch_inputs (Tensor): Images (B, 3, H, W).
            batch_data_samples (list[:obj:`DetDataSample`]): Samples; a
                query carries ``sample_type='query'`` and ``query_bbox``.
            rescale (bool): Return boxes in original image pixels.
                Defaults to True.

        Returns:
            list[:obj:`DetDataSample`]: The samples with ``pred_instances``
            (``bboxes``, ``scores``, ``labels``, ``embeddings``).
        """
        x = self.extract_feat(batch_inputs)
        batch_img_metas = [ds.metainfo for ds in batch_data_samples]
        query_inds = [
            i for i, img_meta in enumerate(batch_img_metas)
            if self._sample_type(img_meta) == 'query'
        ]
        query_bboxes = {
            i: self._query_bbox(batch_img_metas[i], batch_inputs)
            for i in query_inds
        }
        query_embeddings = {}
        if query_inds:
            query_embeddings = dict(
                zip(
                    query_inds,
                    self.roi_head.predict_embeddings(
                        _select(x, query_inds, len(batch_img_metas)),
                        [query_bboxes[i] for i in query_inds])))

        results_list: List[Optional[InstanceData]] = [None] * len(
            batch_img_metas)
        det_inds = [
            i for i in range(len(batch_img_metas))
            if i not in query_bboxes or self.query_context
        ]
        if det_inds:
            det_x = _select(x, det_inds, len(batch_img_metas))
            det_samples = [batch_data_samples[i] for i in det_inds]
            rpn_results_list = self.rpn_head.predict(
                det_x, det_samples, rescale=False)
            forced = [
                self._query_instances(query_bboxes[i], query_embeddings[i])
                if i in query_bboxes else None for i in det_inds
            ]
            det_results = self.roi_head.predict(
                det_x, rpn_results_list, det_samples, rescale=rescale,
                forced_instances=forced)
            for i, results in zip(det_inds, det_results):
                results_list[i] = results

        for i in query_inds:
            if results_list[i] is None:
                bboxes = batch_img_metas[i]['query_bbox'] if rescale \
                    else query_bboxes[i]
                results = self._query_instances(
                    query_bboxes[i].new_tensor(bboxes).view(1, 4),
                    query_embeddings[i])
                results.labels = results.scores.new_zeros(
                    1, dtype=torch.long)
                results_list[i] = results
        samples = self.add_pred_to_datasample(batch_data_samples,
                                              results_list)
        if getattr(self.roi_head, 'with_gfn', False):
            scenes, filters = self.roi_head.predict_gallery_filter(
                x, query_embeddings)
            for i, sample in enumerate(samples):
                sample.scene_embedding = scenes[i]
                if i in filters:
                    sample.gfn_filter = filters[i]
        return samples

    @staticmethod
    def _sample_type(img_meta: dict) -> str:
        """``sample_type`` of a sample, checked; ``'gallery'`` if absent."""
        sample_type = img_meta.get('sample_type', 'gallery')
        if sample_type not in SAMPLE_TYPES:
            raise ValueError(
                f'{img_meta.get("img_path")}: metainfo sample_type must be '
                f'one of {SAMPLE_TYPES}, got {sample_type!r}')
        return sample_type

    @staticmethod
    def _query_bbox(img_meta: dict, batch_inputs: Tensor) -> Tensor:
        """The query box of a query sample in input pixels, (1, 4)."""
        if 'query_bbox' not in img_meta:
            raise KeyError(
                f'{img_meta.get("img_path")}: a query sample needs '
                'metainfo query_bbox (xyxy, original image pixels)')
        bbox = batch_inputs.new_tensor(img_meta['query_bbox']).view(-1)
        if bbox.numel() != 4 or not (bbox[2] > bbox[0]
                                     and bbox[3] > bbox[1]):
            raise ValueError(
                f'{img_meta.get("img_path")}: query_bbox must be one xyxy '
                f'box with x2 > x1 and y2 > y1, got {img_meta["query_bbox"]}')
        w_scale, h_scale = img_meta['scale_factor']
        return (bbox * bbox.new_tensor([w_scale, h_scale, w_scale, h_scale
                                        ])).view(1, 4)

    @staticmethod
    def _query_instances(bboxes: Tensor, embeddings: Tensor) -> InstanceData:
        """The query box as a detection with score 1."""
        return InstanceData(
            bboxes=bboxes,
            scores=bboxes.new_ones(len(bboxes)),
            embeddings=embeddings)


def _select(x: Tuple[Tensor], inds: Sequence[int],
            batch_size: int) -> Tuple[Tensor]:
    """The features of the images ``inds`` of the batch."""
    if list(inds) == list(range(batch_size)):
        return x
    return tuple(feat[list(inds)] for feat in x)
