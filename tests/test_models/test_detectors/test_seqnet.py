import copy

import pytest
import torch
from mmdet.registry import MODELS

IMG_SHAPE = (128, 160)  # the samples' of conftest.make_sample
LOSS_KEYS = {
    'loss_rpn_cls', 'loss_rpn_bbox', 's0.loss_cls', 's0.acc', 's0.loss_bbox',
    's1.loss_bbox', 's1.loss_nae', 's1.loss_oim'
}
QUERY_BOX = (20., 16., 60., 112.)


def build(cfg, seed=0):
    # PyTorch's default init: init_weights is slow and irrelevant here.
    torch.manual_seed(seed)
    return MODELS.build(cfg)


def images(num, seed=0):
    return torch.randn(num, 3, *IMG_SHAPE,
                       generator=torch.Generator().manual_seed(seed))


def finite_losses(model, inputs, samples, backward=False):
    model.train()
    losses = model.loss(inputs, samples)
    assert set(losses) == LOSS_KEYS
    total, _ = model.parse_losses(losses)
    assert torch.isfinite(total)
    if backward:
        total.backward()
        assert model.roi_head.embedding_head.projectors[0][0].weight.grad \
            is not None
    return losses


def test_loss_non_empty_empty_and_unlabeled_only(seqnet_cfg, make_sample):
    model = build(seqnet_cfg)
    samples = [
        make_sample(),
        make_sample(bboxes=torch.zeros(0, 4), person_ids=()),
        make_sample(bboxes=((30, 20, 90, 120), ), person_ids=(-1, ))
    ]
    losses = finite_losses(model, images(3), samples, backward=True)
    assert all(torch.isfinite(v).all() for v in losses.values()
               if isinstance(v, torch.Tensor))
    # Unlabeled persons went into the queue, labeled ones into the LUT.
    oim = model.roi_head.embedding_head.loss_reid
    assert oim.cq_ptr.item() != 0
    assert oim.lut[[0, 3]].norm(dim=1).allclose(torch.ones(2))
    assert oim.lut[[1, 2, 4, 5, 6, 7]].abs().sum() == 0


def test_loss_without_ground_truth(seqnet_cfg, make_sample):
    model = build(seqnet_cfg)
    samples = [make_sample(bboxes=torch.zeros(0, 4), person_ids=())] * 2
    losses = finite_losses(model, images(2), copy.deepcopy(samples))
    assert losses['s0.loss_bbox'].item() == 0
    assert losses['s1.loss_oim'].item() == 0


def test_loss_needs_person_ids(seqnet_cfg, make_sample):
    model = build(seqnet_cfg)
    sample = make_sample(img_path='a.jpg')
    del sample.gt_instances.person_ids
    with pytest.raises(KeyError, match='a.jpg.*person_ids'):
        model.loss(images(1), [sample])


def test_frozen_stem_keeps_bn_statistics_live(seqnet_cfg, make_sample):
    model = build(seqnet_cfg)
    assert not model.backbone.conv1.weight.requires_grad
    assert not model.backbone.bn1.weight.requires_grad
    model.train()
    assert model.backbone.bn1.training
    before = model.backbone.bn1.running_mean.clone()
    model.loss(images(1), [make_sample()])
    assert not torch.equal(before, model.backbone.bn1.running_mean)


def predict(model, inputs, samples):
    model.eval()
    with torch.no_grad():
        return model.predict(inputs, samples)


def test_predict_gallery(seqnet_cfg, make_sample):
    model = build(seqnet_cfg)
    scale = (0.5, 0.25)
    pred = predict(model, images(1),
                   [make_sample(scale_factor=scale)])[0].pred_instances
    n = len(pred)
    assert n > 0
    assert pred.bboxes.shape == (n, 4) and pred.labels.shape == (n, )
    assert pred.embeddings.shape == (n, 32)
    assert (pred.scores[:-1] >= pred.scores[1:]).all()
    # Confidence-weighted embeddings: norm = score.
    torch.testing.assert_close(pred.embeddings.norm(dim=1), pred.scores)
    # Original pixels: the input is a quarter of the original height.
    model.eval()
    with torch.no_grad():
        unscaled = model.predict(
            images(1), [make_sample(scale_factor=scale)],
            rescale=False)[0].pred_instances
    torch.testing.assert_close(
        pred.bboxes, unscaled.bboxes / torch.tensor(scale * 2))


def test_predict_without_weighting_gives_unit_embeddings(
        seqnet_cfg, make_sample):
    seqnet_cfg.test_cfg.rcnn.weight_embeddings = False
    pred = predict(build(seqnet_cfg), images(1),
                   [make_sample()])[0].pred_instances
    torch.testing.assert_close(pred.embeddings.norm(dim=1),
                               torch.ones(len(pred)))


def query_sample(make_sample, scale=(1.0, 1.0)):
    return make_sample(
        scale_factor=scale,
        sample_type='query',
        query_bbox=[c / s for c, s in zip(QUERY_BOX, scale * 2)])


@pytest.mark.parametrize('scale', [(1.0, 1.0), (0.5, 0.8)])
def test_query_path(seqnet_cfg, make_sample, scale):
    seqnet_cfg.test_cfg.query_context = False
    model = build(seqnet_cfg)
    inputs = images(1)
    pred = predict(model, inputs,
                   [query_sample(make_sample, scale)])[0].pred_instances
    assert len(pred) == 1
    torch.testing.assert_close(
        pred.bboxes[0],
        torch.tensor([c / s for c, s in zip(QUERY_BOX, scale * 2)]))
    assert pred.scores.tolist() == [1.0] and pred.labels.tolist() == [0]
    assert pred.embeddings.norm().item() == pytest.approx(1.0, abs=1e-5)
    # The embedding of the box in input pixels, through the re-ID head only.
    x = model.extract_feat(inputs)
    with torch.no_grad():
        expected = model.roi_head.predict_embeddings(
            x, [torch.tensor([QUERY_BOX])])[0]
    torch.testing.assert_close(pred.embeddings, expected)


def test_query_context_path(seqnet_cfg, make_sample):
    # Without the final NMS the context is every gallery detection.
    seqnet_cfg.test_cfg.rcnn.nms = None
    model = build(seqnet_cfg)
    inputs = images(1)
    query = predict(model, inputs,
                    [query_sample(make_sample)])[0].pred_instances
    gallery = predict(model, inputs, [make_sample()])[0].pred_instances
    assert len(query) == len(gallery) + 1
    torch.testing.assert_close(query.bboxes[0], torch.tensor(QUERY_BOX))
    assert query.scores[0] == 1 and query.labels[0] == 0
    # Row 0 carries the query path's embedding.
    model.test_cfg.query_context = False
    alone = predict(model, inputs, [query_sample(make_sample)])
    torch.testing.assert_close(query.embeddings[:1],
                               alone[0].pred_instances.embeddings)
    # The context: gallery detections, first-head scores, unweighted.
    context = query[1:]
    torch.testing.assert_close(context.bboxes, gallery.bboxes)
    torch.testing.assert_close(context.scores, gallery.scores)
    torch.testing.assert_close(context.embeddings,
                               gallery.embeddings / gallery.scores[:, None])


def test_mixed_batch_matches_single_samples(seqnet_cfg, make_sample):
    model = build(seqnet_cfg)
    inputs = images(3, seed=1)
    samples = [
        make_sample(),
        query_sample(make_sample),
        make_sample(bboxes=torch.zeros(0, 4), person_ids=())
    ]
    batch = predict(model, inputs, copy.deepcopy(samples))
    for i, sample in enumerate(samples):
        single = predict(model, inputs[i:i + 1], [copy.deepcopy(sample)])
        for key in ('bboxes', 'scores', 'embeddings', 'labels'):
            torch.testing.assert_close(
                batch[i].pred_instances.get(key),
                single[0].pred_instances.get(key),
                atol=1e-5,
                rtol=1e-5)


def test_query_sample_errors(seqnet_cfg, make_sample):
    model = build(seqnet_cfg)
    with pytest.raises(KeyError, match='x.jpg.*query_bbox'):
        predict(model, images(1),
                [make_sample(img_path='x.jpg', sample_type='query')])
    with pytest.raises(ValueError, match='query_bbox'):
        predict(model, images(1), [
            make_sample(sample_type='query', query_bbox=[10, 10, 5, 20])
        ])
    with pytest.raises(ValueError, match='sample_type'):
        predict(model, images(1), [make_sample(sample_type='probe')])


def test_tensor_mode(seqnet_cfg, make_sample):
    model = build(seqnet_cfg).eval()
    with torch.no_grad():
        outs = model(images(1), [make_sample()], mode='tensor')
    cls_score, bbox_pred, embeddings, logits, reid_deltas = outs[0]
    assert cls_score.shape[1] == 2 and bbox_pred.shape[1] == 4
    assert embeddings.shape == (len(cls_score), 32)
    assert logits.shape == (len(cls_score), )
    assert reid_deltas.shape == (len(cls_score), 4)
