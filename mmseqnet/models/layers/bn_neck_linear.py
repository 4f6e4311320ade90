"""Linear layer followed by BatchNorm ("BN neck")."""
from mmdet.registry import MODELS
from mmdet.utils import OptMultiConfig
from mmengine.model import BaseModule
from torch import Tensor, nn


@MODELS.register_module()
class BNNeckLinear(BaseModule):
    """``Linear`` then ``BatchNorm1d``: SeqNet's second-head box regressor.

    Usable as a ``reg_predictor_cfg`` / ``cls_predictor_cfg`` of mmdet's
    ``BBoxHead``, which passes ``in_features`` and ``out_features``.

    Args:
        in_features (int): Input channels.
        out_features (int): Output channels.
        init_cfg (dict or list[dict], optional): Initialization config.
            Defaults to N(0, 0.01) weights and zero biases for both layers,
            as in the original.
    """

    def __init__(self,
                 in_features: int,
                 out_features: int,
                 init_cfg: OptMultiConfig = dict(
                     type='Normal',
                     std=0.01,
                     layer=['Linear', 'BatchNorm1d'])) -> None:
        super().__init__(init_cfg=init_cfg)
        self.fc = nn.Linear(in_features, out_features)
        self.bn = nn.BatchNorm1d(out_features)

    def forward(self, x: Tensor) -> Tensor:
        """Project and normalise.

        Args:
            x (Tensor): Features (N, in_features).

        Returns:
            Tensor: Outputs (N, out_features).
        """
        return self.bn(self.fc(x))
