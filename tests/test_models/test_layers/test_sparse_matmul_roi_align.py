import pytest
import torch
from mmcv.ops import RoIAlign

from mmseqnet.models.layers import SparseMatmulRoIAlign


def rois_and_maps(seed=0):
    """Two 40x56 maps (stride 8: 320x448 images) and RoIs of every kind:
    inside, crossing or beyond each border, thinner than a cell, inverted,
    degenerate, whole-image."""
    gen = torch.Generator().manual_seed(seed)
    maps = torch.randn(2, 24, 40, 56, generator=gen)
    n = 60
    xy = torch.rand(n, 2, generator=gen) * torch.tensor([470., 340.]) - 10
    wh = torch.rand(n, 2, generator=gen) * torch.tensor([200., 260.]) + 0.5
    boxes = torch.cat([xy, xy + wh], 1)
    special = torch.tensor([
        [0., 0., 448., 320.],  # the whole image
        [-30., -20., 500., 400.],  # over every border
        [440., 312., 448., 320.],  # the last cells
        [446., 318., 460., 330.],  # past the last cell
        [-40., -40., -12., -12.],  # entirely outside (zero rows)
        [100., 100., 100., 100.],  # a point
        [100., 100., 100.3, 180.],  # thinner than a cell
        [200., 150., 190., 140.],  # inverted: x2 < x1
    ])
    boxes = torch.cat([boxes, special])
    images = (torch.arange(len(boxes)) % 2).float()[:, None]
    return maps, torch.cat([images, boxes], 1)


@pytest.mark.parametrize('aligned', [False, True])
@pytest.mark.parametrize('sampling_ratio', [1, 2, 3])
@pytest.mark.parametrize('channels_last', [False, True])
def test_equals_mmcv(aligned, sampling_ratio, channels_last):
    maps, rois = rois_and_maps()
    if aligned:  # mmcv rejects inverted boxes when aligned
        rois = rois[:-1]
    mmcv_layer = RoIAlign((7, 5), 1 / 8, sampling_ratio, aligned=aligned)
    layer = SparseMatmulRoIAlign.from_mmcv(mmcv_layer)
    expected = mmcv_layer(maps, rois)
    if channels_last:
        maps = maps.contiguous(memory_format=torch.channels_last)
    out = layer(maps, rois)
    assert out.shape == expected.shape == (len(rois), 24, 7, 5)
    # The layout the convolutions after it want on CPU.
    assert out.is_contiguous(memory_format=torch.channels_last)
    # Same samples and weights, another order of additions.
    torch.testing.assert_close(out, expected, rtol=1e-6, atol=1e-6)
    # The RoIs outside the image pool nothing, as mmcv.
    assert out[-3 if aligned else -4].abs().max() == 0


def test_no_rois():
    maps, _ = rois_and_maps()
    out = SparseMatmulRoIAlign(7, 1 / 8)(maps, torch.zeros(0, 5))
    assert out.shape == (0, 24, 7, 7)


def test_aligned_rejects_inverted_boxes():
    maps, rois = rois_and_maps()
    with pytest.raises(ValueError, match='x2 < x1'):
        SparseMatmulRoIAlign(7, 1 / 8, aligned=True)(maps, rois)


@pytest.mark.parametrize('kwargs', [
    dict(sampling_ratio=0),
    dict(sampling_ratio=2, pool_mode='max'),
])
def test_rejects_what_it_cannot_replace(kwargs):
    with pytest.raises(ValueError, match='fixed sampling ratio'):
        SparseMatmulRoIAlign.from_mmcv(RoIAlign(7, 1 / 8, **kwargs))
    if kwargs['sampling_ratio'] == 0:
        with pytest.raises(ValueError, match='positive'):
            SparseMatmulRoIAlign(7, 1 / 8, sampling_ratio=0)


def test_csr_matrix_is_canonical():
    """Repeated positions in a row are added into one entry, so that the
    matrix meets torch's CSR invariants (sorted, distinct columns)."""
    gen = torch.Generator().manual_seed(0)
    index = torch.randint(0, 6, (3, 2, 2, 8), generator=gen)
    weight = torch.rand(3, 2, 2, 8, generator=gen)
    matrix = SparseMatmulRoIAlign._csr_matrix(index, weight, 6)
    checked = torch.sparse_csr_tensor(
        matrix.crow_indices(), matrix.col_indices(), matrix.values(),
        matrix.shape, check_invariants=True)
    dense = torch.zeros(12, 6).index_put_(
        (torch.arange(12)[:, None].expand(12, 8), index.reshape(12, 8)),
        weight.reshape(12, 8), accumulate=True)
    torch.testing.assert_close(checked.to_dense(), dense)


@pytest.mark.parametrize('aligned', [False, True])
def test_gradient_equals_mmcv(aligned):
    """Training through it: the map's gradient is mmcv's backward, and the
    boxes get none (as from mmcv's kernel)."""
    maps, rois = rois_and_maps()
    if aligned:
        rois = rois[:-1]
    mmcv_layer = RoIAlign(7, 1 / 8, 2, aligned=aligned)
    layer = SparseMatmulRoIAlign.from_mmcv(mmcv_layer)
    upstream = torch.randn(
        len(rois), 24, 7, 7, generator=torch.Generator().manual_seed(1))
    grads = []
    for roi_layer, memory_format in ((mmcv_layer, torch.contiguous_format),
                                     (layer, torch.channels_last)):
        leaf = maps.clone(memory_format=memory_format).requires_grad_()
        boxes = rois.clone().requires_grad_()
        (roi_layer(leaf, boxes) * upstream).sum().backward()
        assert boxes.grad is None
        grads.append(leaf.grad)
    assert grads[0].abs().max() > 0
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-5, atol=1e-5)
