import pytest
import torch
from mmdet.registry import MODELS


def build(**kwargs):
    cfg = dict(
        type='NormAwareEmbeddingHead',
        in_channels=(6, 10),
        out_channels=9,
        loss_reid=dict(type='OIMLoss', num_person_ids=4, queue_size=3))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def feats(n=5):
    g = torch.Generator().manual_seed(0)
    return (torch.randn(n, 6, 1, 1, generator=g),
            torch.randn(n, 10, generator=g))


def test_forward_unit_embeddings_and_norm_logits():
    head = build().eval()
    head.rescaler.running_mean.fill_(2.0)
    head.rescaler.running_var.fill_(4.0)
    head.rescaler.weight.data.fill_(3.0)
    head.rescaler.bias.data.fill_(0.5)
    res4, res5 = feats()
    embeddings, logits = head((res4, res5))
    # Remainder of 9 / 2 goes to the last input.
    assert [p[0].out_features for p in head.projectors] == [4, 5]
    assert embeddings.shape == (5, 9) and logits.shape == (5, )
    raw = torch.cat(
        [head.projectors[0](res4.flatten(1)), head.projectors[1](res5)], 1)
    torch.testing.assert_close(embeddings, raw / raw.norm(dim=1,
                                                          keepdim=True))
    norms = raw.norm(dim=1)
    expected = (norms - 2.0) / torch.sqrt(torch.tensor(4.0 + 1e-5)) * 3 + 0.5
    torch.testing.assert_close(logits, expected)
    torch.testing.assert_close(
        head.predict_scores(logits), expected.sigmoid())


def test_init_like_the_original():
    head = build(out_channels=256, in_channels=(1024, 2048))
    torch.manual_seed(0)
    head.init_weights()
    for proj in head.projectors:
        for layer in proj:
            assert layer.weight.std().item() == pytest.approx(0.01, rel=0.3)
            assert layer.bias.abs().sum() == 0
    assert head.rescaler.weight.item() == 1 and head.rescaler.bias.item() == 0


def test_loss_norm_bce_and_oim_on_foreground():
    head = build().train()
    embeddings, logits = head(feats())
    is_fg = torch.tensor([True, False, True, False, False])
    losses = head.loss(embeddings, logits, is_fg, torch.tensor([1, -1]))
    assert set(losses) == {'loss_nae', 'loss_oim'}
    torch.testing.assert_close(
        losses['loss_nae'],
        torch.nn.functional.binary_cross_entropy_with_logits(
            logits, is_fg.float()))
    # The labeled foreground went into the LUT, the unlabeled one into CQ.
    oim = head.loss_reid
    torch.testing.assert_close(oim.lut[1], embeddings[0].detach())
    torch.testing.assert_close(oim.cq[0], embeddings[2].detach())


def test_without_norm_classification():
    head = build(loss_cls=None)
    assert not hasattr(head, 'rescaler')
    embeddings, logits = head(feats())
    assert logits is None
    losses = head.loss(embeddings, logits, torch.ones(5, dtype=torch.bool),
                       torch.tensor([0, 1, 2, 3, -1]))
    assert set(losses) == {'loss_oim'}


def test_bad_inputs():
    with pytest.raises(ValueError, match='expected 2 inputs'):
        build()(feats()[:1])
    with pytest.raises(ValueError, match='out_channels'):
        build(out_channels=1)


class UnnamedReIDLoss(torch.nn.Module):
    """A re-ID loss that declares no ``loss_name``."""

    def __init__(self, num_features, loss_name=None):
        super().__init__()
        if loss_name is not None:
            self.loss_name = loss_name

    def forward(self, embeddings, person_ids):
        return embeddings.sum() * 0


def test_loss_keys_name_the_configured_losses():
    head = build(loss_reid=dict(type=UnnamedReIDLoss))
    embeddings, logits = head(feats())
    losses = head.loss(embeddings, logits, torch.ones(5, dtype=torch.bool),
                       torch.tensor([0, 1, 2, 3, -1]))
    # not OIM: no "loss_oim" key
    assert set(losses) == {'loss_nae', 'loss_reid'}
    head = build(
        loss_reid=dict(
            type='OIMLoss',
            num_person_ids=4,
            queue_size=3,
            loss_name='loss_oim_small'))
    embeddings, logits = head(feats())
    losses = head.loss(embeddings, logits, torch.ones(5, dtype=torch.bool),
                       torch.tensor([0, 1, 2, 3, -1]))
    assert set(losses) == {'loss_nae', 'loss_oim_small'}


def test_loss_names_must_be_trainable_and_distinct():
    with pytest.raises(ValueError, match="must contain \"loss\".*'oim'"):
        build(loss_reid=dict(type=UnnamedReIDLoss, loss_name='oim'))
    with pytest.raises(ValueError, match="both named 'loss_nae'"):
        build(loss_reid=dict(type=UnnamedReIDLoss, loss_name='loss_nae'))
