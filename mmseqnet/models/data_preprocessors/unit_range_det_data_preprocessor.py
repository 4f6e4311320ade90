"""Detection data preprocessor normalising in the [0, 1] pixel range."""
import torch
from mmdet.models.data_preprocessors import DetDataPreprocessor
from mmdet.registry import MODELS


@MODELS.register_module()
class UnitRangeDetDataPreprocessor(DetDataPreprocessor):
    """mmdet's ``DetDataPreprocessor`` that first divides pixels by 255.

    torchvision's detection transform, which the original SeqNet uses,
    standardises ``x / 255`` with mean and std in the [0, 1] range; mmdet
    standardises ``x`` with them scaled by 255. Mathematically the same, the
    two differ in the last float32 bit, and a detector's box deltas can
    amplify that (deltas of tens on 500-pixel anchors turn 1e-7 into
    hundredths of a pixel). Dividing first makes the inputs bit-identical to
    the original's. ``mean`` and ``std`` are therefore given in [0, 1] units;
    every other argument is ``DetDataPreprocessor``'s.
    """

    def forward(self, data: dict, training: bool = False) -> dict:
        """Scale to [0, 1], then normalise, pad and convert channels.

        Args:
            data (dict): Data from the dataloader: ``inputs`` (a list of
                (3, H, W) uint8 tensors, or one (B, 3, H, W) tensor) and
                ``data_samples``.
            training (bool): Whether to apply training augmentations.
                Defaults to False.

        Returns:
            dict: ``inputs`` (B, 3, H', W') float and ``data_samples``.
        """
        # On the target device first: a smaller copy, a faster division.
        data = self.cast_data(data)
        inputs = data['inputs']
        if isinstance(inputs, torch.Tensor):
            data['inputs'] = inputs.float() / 255
        else:
            data['inputs'] = [img.float() / 255 for img in inputs]
        return super().forward(data, training=training)
