import torch
from mmdet.registry import MODELS

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def test_bit_identical_to_torchvision_normalisation():
    preprocessor = MODELS.build(
        dict(
            type='UnitRangeDetDataPreprocessor',
            mean=MEAN,
            std=STD,
            bgr_to_rgb=True,
            pad_size_divisor=32))
    bgr = torch.randint(0, 256, (3, 30, 50), dtype=torch.uint8,
                        generator=torch.Generator().manual_seed(0))
    out = preprocessor(dict(inputs=[bgr], data_samples=None))['inputs']
    assert out.shape == (1, 3, 32, 64)
    # torchvision: to_tensor (x / 255) then (x - mean) / std, RGB.
    rgb = bgr[[2, 1, 0]].float() / 255
    expected = (rgb - torch.tensor(MEAN)[:, None, None]) / torch.tensor(
        STD)[:, None, None]
    assert torch.equal(out[0, :, :30, :50], expected)
    assert out[0, :, 30:].abs().sum() == 0 and out[0, :, :, 50:].abs().sum(
    ) == 0
    # Stacked inputs give the same.
    stacked = preprocessor(dict(inputs=bgr[None], data_samples=None))
    assert torch.equal(stacked['inputs'][0, :, :30, :50], expected)
