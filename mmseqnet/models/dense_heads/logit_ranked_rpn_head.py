"""RPN head that ranks proposals by objectness logit."""
from typing import List

import torch
from mmdet.models.dense_heads import RPNHead
from mmdet.registry import MODELS
from mmdet.structures.bbox import cat_boxes
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor


@MODELS.register_module()
class LogitRankedRPNHead(RPNHead):
    """mmdet's ``RPNHead`` ranking proposals by logit, not by probability.

    In float32 the sigmoid saturates: every logit above about 17 gives a
    probability of exactly 1, so ranking by probability (mmdet) leaves ties
    that the pre-NMS top-k and the NMS order break arbitrarily. torchvision's
    RPN (the original's) takes the top-k of the logits and its NMS keeps
    that order among equal probabilities, i.e. ranks by logit. This head
    does the same; the output ``scores`` are still probabilities. It needs
    ``loss_cls`` with ``use_sigmoid=True``; everything else is
    ``RPNHead``'s.
    """

    def _predict_by_feat_single(self,
                                cls_score_list: List[Tensor],
                                bbox_pred_list: List[Tensor],
                                score_factor_list: List[Tensor],
                                mlvl_priors: List[Tensor],
                                img_meta: dict,
                                cfg: ConfigDict,
                                rescale: bool = False,
                                with_nms: bool = True) -> InstanceData:
        """Proposals of one image.

        Args:
            cls_score_list (list[Tensor]): Objectness logits per level,
                (num_priors, H, W).
            bbox_pred_list (list[Tensor]): Deltas per level,
                (num_priors * 4, H, W).
            score_factor_list (list[Tensor]): Unused (``RPNHead`` API).
            mlvl_priors (list[Tensor]): Anchors per level (H * W * A, 4).
            img_meta (dict): Image meta info (``img_shape`` clips boxes).
            cfg (ConfigDict, optional): ``nms_pre``, ``min_bbox_size``,
                ``nms``, ``max_per_img``; None uses ``test_cfg``.
            rescale (bool): Return boxes in original image pixels.
                Defaults to False.
            with_nms (bool): Must be True (``RPNHead`` API).
                Defaults to True.

        Returns:
            :obj:`InstanceData`: ``bboxes`` (n, 4), ``scores`` (n,)
            probabilities and ``labels`` (n,) zeros, by decreasing logit.
        """
        if not self.use_sigmoid_cls:
            raise ValueError('LogitRankedRPNHead needs a sigmoid loss_cls')
        cfg = self.test_cfg if cfg is None else cfg
        nms_pre = cfg.get('nms_pre', -1)
        logits_list, deltas_list, priors_list, level_ids = [], [], [], []
        for level, (cls_score, bbox_pred, priors) in enumerate(
                zip(cls_score_list, bbox_pred_list, mlvl_priors)):
            logits = cls_score.permute(1, 2, 0).reshape(-1)
            deltas = bbox_pred.permute(1, 2, 0).reshape(
                -1, self.bbox_coder.encode_size)
            if 0 < nms_pre < logits.numel():
                logits, top = logits.topk(nms_pre)
                deltas, priors = deltas[top], priors[top]
            logits_list.append(logits)
            deltas_list.append(deltas)
            priors_list.append(priors)
            level_ids.append(logits.new_full((logits.numel(), ), level,
                                             dtype=torch.long))

        logits = torch.cat(logits_list)
        # The post-processing (size filter, NMS, top-k) ranks by ``scores``
        # with an unstable sort: hand it strictly decreasing ranks in stable
        # logit order, so that equal logits keep their top-k order as in
        # torchvision.
        order = logits.argsort(descending=True, stable=True)
        ranks = torch.empty_like(logits)
        ranks[order] = torch.arange(
            len(order), 0, -1, dtype=logits.dtype, device=logits.device)
        results = InstanceData(
            bboxes=self.bbox_coder.decode(
                cat_boxes(priors_list),
                torch.cat(deltas_list),
                max_shape=img_meta['img_shape']),
            scores=ranks,
            logits=logits,
            level_ids=torch.cat(level_ids))
        results = self._bbox_post_process(
            results=results, cfg=cfg, rescale=rescale, img_meta=img_meta)
        # Empty results come back without ``logits``.
        results.scores = results.pop('logits',
                                     results.scores.new_zeros(0)).sigmoid()
        return results
