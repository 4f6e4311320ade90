"""Box head with one person logit (sigmoid) instead of a softmax."""
from typing import Optional

from mmdet.models.roi_heads.bbox_heads import BBoxHead
from mmdet.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class SingleLogitBBoxHead(BBoxHead):
    """mmdet's ``BBoxHead`` scoring persons with a single sigmoid logit.

    SeqNeXt's second head ("RCNN" mode, torchvision's
    ``FastRCNNPredictor(1024, 1)``) has one logit, trained with binary
    cross-entropy against person / background (mean over the sampled RoIs),
    and class-agnostic deltas. mmdet's ``BBoxHead`` always has a background
    column and a softmax; this head keeps everything else of it (targets,
    regression loss, box coder). Use ``loss_cls=dict(type='CrossEntropyLoss',
    use_sigmoid=True)``.

    Args:
        **kwargs: ``BBoxHead`` arguments; ``num_classes`` must be 1.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        if self.num_classes != 1:
            raise ValueError('SingleLogitBBoxHead scores one class, got '
                             f'num_classes={self.num_classes}')
        if self.with_cls:
            self.fc_cls = MODELS.build(
                dict(
                    self.cls_predictor_cfg,
                    in_features=self.fc_cls.in_features,
                    out_features=1))

    def person_scores(self, cls_score: Tensor) -> Tensor:
        """Person probabilities (N,) from the logits (N, 1)."""
        return cls_score.view(-1).sigmoid()

    def loss(self,
             cls_score: Optional[Tensor],
             bbox_pred: Optional[Tensor],
             rois: Tensor,
             labels: Tensor,
             label_weights: Tensor,
             bbox_targets: Tensor,
             bbox_weights: Tensor,
             reduction_override: Optional[str] = None) -> dict:
        """``BBoxHead.loss`` with a binary classification loss.

        Args:
            cls_score (Tensor, optional): Logits (N, 1).
            bbox_pred (Tensor, optional): Deltas (N, 4).
            rois (Tensor): RoIs (N, 5).
            labels (Tensor): 0 for persons, 1 (``num_classes``) for
                background, (N,).
            label_weights (Tensor): Weights of the labels (N,).
            bbox_targets (Tensor): Regression targets (N, 4).
            bbox_weights (Tensor): Regression weights (N, 4).
            reduction_override (str, optional): Loss reduction override.
                Defaults to None.

        Returns:
            dict[str, Tensor]: ``loss_cls`` and ``loss_bbox``.
        """
        losses = super().loss(None, bbox_pred, rois, labels, label_weights,
                              bbox_targets, bbox_weights, reduction_override)
        if cls_score is not None:
            avg_factor = max(float((label_weights > 0).sum()), 1.0)
            losses['loss_cls'] = self.loss_cls(
                cls_score.view(-1), (labels < self.num_classes).float(),
                label_weights,
                avg_factor=avg_factor,
                reduction_override=reduction_override)
        return losses
