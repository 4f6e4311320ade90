"""RoIAlign computed as one sparse matrix product, for channels-last CPU
models."""
import warnings
from typing import Tuple, Union

import torch
from torch import Tensor, nn
from torch.nn.modules.utils import _pair


class SparseMatmulRoIAlign(nn.Module):
    """mmcv's average ``RoIAlign`` as a sparse-times-dense matrix product.

    Every output value of RoIAlign is a weighted sum of at most
    ``4 * sampling_ratio**2`` feature map positions, with the same weights
    for every channel. The weights of all RoIs form one sparse matrix
    (RoI bins x map positions) that multiplies the feature map viewed as
    (positions x channels). mmcv's CPU kernel instead walks each channel
    plane separately for every RoI, scalar by scalar; the product reads each
    needed position as one contiguous row of channels when the map is
    channels-last, and it returns channels-last RoI features, as the
    convolutions that follow want them on CPU.

    The sample points, the bilinear weights and the border rules are
    mmcv's (Caffe2's); only the order of the additions differs, so results
    agree with mmcv's to float32 rounding (relative ~1e-7), and so does the
    gradient with respect to the map (autograd's transposed product). It
    takes mmcv's place in channels-last models: ``SeqNet(channels_last=True)``
    in training and inference, and :meth:`SeqNet.fuse_for_inference`.

    Args:
        output_size (int | tuple[int, int]): Output height and width.
        spatial_scale (float): Feature map scale of the RoI coordinates.
            Defaults to 1.0.
        sampling_ratio (int): Sample points per bin along each axis; must
            be positive (mmcv's adaptive 0 varies per RoI). Defaults to 2.
        aligned (bool): Shift the boxes by -0.5 pixel (mmcv's
            ``aligned=True``); False keeps the legacy behaviour where RoIs
            are at least one cell wide. Defaults to True.
    """

    def __init__(self,
                 output_size: Union[int, Tuple[int, int]],
                 spatial_scale: float = 1.0,
                 sampling_ratio: int = 2,
                 aligned: bool = True) -> None:
        super().__init__()
        if sampling_ratio <= 0:
            raise ValueError('SparseMatmulRoIAlign: sampling_ratio must be '
                             f'positive, got {sampling_ratio}')
        self.output_size = _pair(output_size)
        self.spatial_scale = float(spatial_scale)
        self.sampling_ratio = int(sampling_ratio)
        self.aligned = aligned

    @classmethod
    def from_mmcv(cls, layer: nn.Module) -> 'SparseMatmulRoIAlign':
        """The equivalent of an mmcv ``RoIAlign`` layer.

        Raises:
            ValueError: If the layer max-pools, samples adaptively or uses
                torchvision's kernel.
        """
        if (layer.pool_mode != 'avg' or layer.sampling_ratio <= 0
                or getattr(layer, 'use_torchvision', False)):
            raise ValueError(
                'SparseMatmulRoIAlign replaces average RoIAlign with a fixed '
                f'sampling ratio only, got pool_mode={layer.pool_mode!r}, '
                f'sampling_ratio={layer.sampling_ratio}')
        return cls(layer.output_size, layer.spatial_scale,
                   layer.sampling_ratio, layer.aligned)

    def _axis(self, start: Tensor, end: Tensor, pooled: int,
              size: int) -> Tuple[Tensor, Tensor]:
        """Map cells and weights of the samples along one axis.

        Args:
            start (Tensor): RoI starts (N,) in map cells.
            end (Tensor): RoI ends (N,) in map cells.
            pooled (int): Output bins along the axis.
            size (int): Map size along the axis.

        Returns:
            tuple[Tensor, Tensor]: Cells (N, pooled, ratio, 2), the lower
            and upper neighbour of each sample, and their weights, zero for
            samples outside the map.
        """
        length = end - start
        if self.aligned:
            if (length < 0).any():
                raise ValueError('SparseMatmulRoIAlign: RoIs with x2 < x1 '
                                 'or y2 < y1')
        else:
            length = length.clamp(min=1.)
        bin_size = (length / pooled)[:, None, None]
        ratio = self.sampling_ratio
        bins = torch.arange(pooled, device=start.device)[:, None]
        steps = torch.arange(ratio, device=start.device) + .5
        # mmcv's expression, in its order: start + p * bin + (i + .5) * bin
        # / ratio, so that the sample points are bit for bit the same.
        coord = (start[:, None, None] + bins * bin_size +
                 steps * bin_size / ratio)
        inside = (coord >= -1.0) & (coord <= size)
        coord = coord.clamp(min=0)
        low = coord.long()
        at_edge = low >= size - 1
        low = low.clamp(max=size - 1)
        high = torch.where(at_edge, low, low + 1)
        coord = torch.where(at_edge, low.to(coord.dtype), coord)
        frac = coord - low
        weights = torch.stack([1. - frac, frac], dim=-1) * inside[..., None]
        return torch.stack([low, high], dim=-1), weights

    @staticmethod
    def _csr_matrix(index: Tensor, weight: Tensor,
                    num_positions: int) -> Tensor:
        """The (bins x positions) matrix in canonical CSR form.

        Args:
            index (Tensor): Map positions (N, out_h, out_w, T) of the T terms
                of each bin.
            weight (Tensor): Their weights (N, out_h, out_w, T).
            num_positions (int): Positions of all maps (B * H * W).

        Returns:
            Tensor: Sparse CSR (N * out_h * out_w, num_positions), columns
            sorted and distinct per row: the terms that hit the same
            position (samples in one cell, neighbours clamped at the
            border) are added.
        """
        terms = index.shape[-1]
        index, order = index.reshape(-1, terms).sort(dim=1)
        weight = weight.reshape(-1, terms).gather(1, order)
        num_rows = len(index)
        rows = torch.arange(num_rows, device=index.device)[:, None]
        # Sorted within rows and rows in order: the keys are sorted.
        keys, inverse = torch.unique_consecutive(
            (rows * num_positions + index).flatten(), return_inverse=True)
        values = weight.new_zeros(len(keys)).index_add_(
            0, inverse, weight.flatten())
        counts = torch.bincount(keys // num_positions, minlength=num_rows)
        crow = torch.cat([counts.new_zeros(1), counts.cumsum(0)])
        with warnings.catch_warnings():
            # Only the CSR constructor and product are used, both stable
            # since torch 1.13; the "beta" notice is noise to the user.
            warnings.filterwarnings('ignore', message='Sparse CSR tensor')
            return torch.sparse_csr_tensor(
                crow, keys % num_positions, values,
                (num_rows, num_positions), check_invariants=False)

    def forward(self, input: Tensor, rois: Tensor) -> Tensor:
        """Pool the RoIs.

        Args:
            input (Tensor): Feature maps (B, C, H, W), any memory format.
            rois (Tensor): RoIs (N, 5): image index, x1, y1, x2, y2 in
                input pixels.

        Returns:
            Tensor: RoI features (N, C, out_h, out_w), channels-last.
        """
        batch, channels, height, width = input.shape
        out_h, out_w = self.output_size
        num_rois = len(rois)
        if num_rois == 0:
            return input.new_zeros(0, channels, out_h, out_w)
        # No gradient to the boxes, as mmcv's kernel.
        rois = rois.detach().to(input.dtype)
        offset = 0.5 if self.aligned else 0.0
        x1, y1, x2, y2 = (rois[:, i] * self.spatial_scale - offset
                          for i in range(1, 5))
        rows, row_w = self._axis(y1, y2, out_h, height)
        cols, col_w = self._axis(x1, x2, out_w, width)
        # Entry (n, ph, pw) x (iy, a, ix, b): sample (iy, ix) of bin
        # (ph, pw), neighbour a along y and b along x.
        images = rois[:, 0].long()[:, None, None, None, None, None, None]
        index = ((images * height + rows[:, :, None, :, :, None, None]) *
                 width + cols[:, None, :, None, None, :, :])
        weight = (row_w[:, :, None, :, :, None, None] *
                  col_w[:, None, :, None, None, :, :])
        weight = weight / self.sampling_ratio**2
        matrix = self._csr_matrix(
            index.flatten(3), weight.flatten(3).to(input.dtype),
            batch * height * width)
        # A view for a channels-last map, one copy otherwise.
        features = input.permute(0, 2, 3, 1).reshape(-1, channels)
        out = torch.sparse.mm(matrix, features)
        return out.view(num_rois, out_h, out_w,
                        channels).permute(0, 3, 1, 2)

    def extra_repr(self) -> str:
        return (f'output_size={self.output_size}, '
                f'spatial_scale={self.spatial_scale}, '
                f'sampling_ratio={self.sampling_ratio}, '
                f'aligned={self.aligned}')
