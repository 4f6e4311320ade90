"""SeqNet(channels_last=True): the same model, losses, gradients and outputs
in another memory layout."""
import copy

import torch
from mmdet.registry import MODELS

from mmseqnet.models.layers import SparseMatmulRoIAlign
from .test_seqnet_fusion import build, inputs_and_samples, predict


def build_pair(cfg):
    plain = build(cfg)
    cfg = copy.deepcopy(cfg)
    cfg.channels_last = True
    nhwc = build(cfg)
    return plain, nhwc


def test_same_parameters_other_layout(seqnet_cfg):
    plain, nhwc = build_pair(seqnet_cfg)
    expected = plain.state_dict()
    state = nhwc.state_dict()
    assert state.keys() == expected.keys()
    for key, value in expected.items():
        torch.testing.assert_close(state[key], value, rtol=0, atol=0)
    assert nhwc.backbone.conv1.weight.is_contiguous(
        memory_format=torch.channels_last)
    assert all(
        isinstance(layer, SparseMatmulRoIAlign)
        for layer in nhwc.roi_head.bbox_roi_extractor.roi_layers)
    # Checkpoints move between the two.
    reloaded = MODELS.build(seqnet_cfg)
    reloaded.load_state_dict(state)
    torch.testing.assert_close(reloaded.state_dict(), expected)


def test_training_step_equals_plain(seqnet_cfg, make_sample):
    plain, nhwc = build_pair(seqnet_cfg)
    inputs = torch.randn(
        2, 3, 128, 160, generator=torch.Generator().manual_seed(1))
    losses, grads = [], []
    for model in (plain, nhwc):
        model.train()
        torch.manual_seed(0)  # the same RoI samples
        total, log_vars = model.parse_losses(
            model.loss(inputs, [make_sample(), make_sample()]))
        total.backward()
        losses.append(log_vars)
        grads.append({
            name: param.grad
            for name, param in model.named_parameters()
            if param.grad is not None
        })
    assert losses[1].keys() == losses[0].keys()
    for key, value in losses[0].items():
        assert abs(losses[1][key] - value) <= 1e-4 * max(1., abs(value)), key
    assert grads[1].keys() == grads[0].keys()
    for name, grad in grads[0].items():
        # The layouts round differently, so a few ReLU inputs near zero
        # fall on the other side: single entries move, not the direction.
        diff = (grads[1][name] - grad).norm()
        assert diff <= 0.05 * grad.norm() + 1e-6, name


def test_outputs_equal_plain_and_fuse(seqnet_cfg, make_sample):
    plain, nhwc = build_pair(seqnet_cfg)
    inputs, samples = inputs_and_samples(make_sample)
    expected = predict(plain, inputs, samples)
    for model in (nhwc, nhwc.fuse_for_inference(sparse_roi_align=False)):
        outputs = predict(model, inputs, samples)
        for out, exp in zip(outputs, expected):
            assert len(out) == len(exp) > 0
            torch.testing.assert_close(
                out.bboxes, exp.bboxes, rtol=0, atol=1e-3)
            torch.testing.assert_close(
                out.scores, exp.scores, rtol=0, atol=1e-5)
            torch.testing.assert_close(
                out.embeddings, exp.embeddings, rtol=0, atol=1e-5)
