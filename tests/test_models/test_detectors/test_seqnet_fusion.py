"""SeqNet.fuse_for_inference: the same outputs, and no effect on training."""
import copy

import pytest
import torch
from mmdet.registry import MODELS
from torch import nn

from mmseqnet.models.layers import SparseMatmulRoIAlign

IMG_SHAPE = (128, 160)  # the samples' of conftest.make_sample
QUERY_BOX = (20., 16., 60., 112.)
STEPS = ('fold_bn', 'sparse_roi_align', 'channels_last')


def build(cfg, seed=0):
    """The tiny SeqNet with BatchNorms that are not the identity."""
    torch.manual_seed(seed)
    model = MODELS.build(cfg)
    gen = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            module.running_var.copy_(torch.rand(n, generator=gen) + 0.5)
            module.weight.data.copy_(torch.rand(n, generator=gen) + 0.5)
            module.bias.data.copy_(torch.randn(n, generator=gen) * 0.1)
    return model.eval()


def inputs_and_samples(make_sample):
    inputs = torch.randn(2, 3, *IMG_SHAPE,
                         generator=torch.Generator().manual_seed(1))
    samples = [
        make_sample(sample_type='gallery'),
        make_sample(sample_type='query', query_bbox=QUERY_BOX)
    ]
    return inputs, samples


def predict(model, inputs, samples):
    with torch.no_grad():
        return [
            s.pred_instances
            for s in model.predict(inputs, copy.deepcopy(samples))
        ]


@pytest.mark.parametrize('query_context', [True, False])
@pytest.mark.parametrize('skip', [(), ('channels_last', ),
                                  ('channels_last', 'sparse_roi_align'),
                                  ('fold_bn', )])
def test_outputs_equal_unfused(seqnet_cfg, make_sample, skip,
                               query_context):
    seqnet_cfg.test_cfg.query_context = query_context
    model = build(seqnet_cfg)
    inputs, samples = inputs_and_samples(make_sample)
    expected = predict(model, inputs, samples)
    fused = copy.deepcopy(model).fuse_for_inference(
        **{step: False for step in skip})
    assert fused.fused_for_inference
    assert any(isinstance(m, nn.BatchNorm2d)
               for m in fused.modules()) == ('fold_bn' in skip)
    roi_layer = fused.roi_head.bbox_roi_extractor.roi_layers[0]
    assert isinstance(roi_layer, SparseMatmulRoIAlign) == (
        'sparse_roi_align' not in skip)
    assert fused.backbone.conv1.weight.is_contiguous(
        memory_format=torch.channels_last) == ('channels_last' not in skip)
    outputs = predict(fused, inputs, samples)
    assert len(expected[0]) > 1  # detections to compare
    for out, exp in zip(outputs, expected):
        assert len(out) == len(exp)
        torch.testing.assert_close(out.bboxes, exp.bboxes, rtol=0, atol=1e-3)
        torch.testing.assert_close(out.scores, exp.scores, rtol=0, atol=1e-5)
        torch.testing.assert_close(
            out.embeddings, exp.embeddings, rtol=0, atol=1e-5)


def test_channels_last_needs_sparse_roi_align(seqnet_cfg):
    model = build(seqnet_cfg)
    with pytest.raises(ValueError, match='sparse_roi_align'):
        model.fuse_for_inference(sparse_roi_align=False)
    assert not model.fused_for_inference


def test_fused_model_cannot_train(seqnet_cfg):
    model = build(seqnet_cfg).train()
    with pytest.raises(RuntimeError, match='eval'):
        model.fuse_for_inference()
    model.eval().fuse_for_inference()
    with pytest.raises(RuntimeError, match='cannot train'):
        model.train()
    assert not model.training
    model.eval()  # switching to eval stays allowed


def test_inference_leaves_training_alone(seqnet_cfg, make_sample):
    """Nothing is fused implicitly: after inference in eval mode the model
    trains with its BatchNorms, whose statistics still move."""
    model = build(seqnet_cfg)
    keys = set(model.state_dict())
    inputs, samples = inputs_and_samples(make_sample)
    predict(model, inputs, samples)
    assert set(model.state_dict()) == keys
    bn = model.backbone.layer1[0].bn1
    assert isinstance(bn, nn.BatchNorm2d)
    before = bn.running_mean.clone()
    model.train()
    total, _ = model.parse_losses(
        model.loss(inputs, [make_sample(), make_sample()]))
    assert torch.isfinite(total)
    assert not torch.equal(bn.running_mean, before)
