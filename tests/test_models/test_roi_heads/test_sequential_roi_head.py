import copy

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox2roi, bbox_overlaps
from mmengine.structures import InstanceData

IMG_SHAPE = (128, 160)  # the samples' of conftest.make_sample


def build(cfg, **roi_head):
    """The RoI head of a tiny SeqNet config, with overrides."""
    cfg = copy.deepcopy(cfg)
    roi_cfg = cfg.roi_head
    roi_cfg.update(roi_head)
    roi_cfg.update(train_cfg=cfg.train_cfg.rcnn, test_cfg=cfg.test_cfg.rcnn)
    torch.manual_seed(0)
    return MODELS.build(roi_cfg)


def features(num_imgs=2):
    g = torch.Generator().manual_seed(0)
    return (torch.randn(num_imgs, 256, 8, 10, generator=g), )


def proposals(num_imgs=2, num=40):
    g = torch.Generator().manual_seed(1)
    results = []
    for _ in range(num_imgs):
        xy = torch.rand(num, 2, generator=g) * torch.tensor([120., 90.])
        wh = 8 + torch.rand(num, 2, generator=g) * 40
        results.append(InstanceData(bboxes=torch.cat([xy, xy + wh], 1)))
    return results


def test_stage1_samples_around_regressed_stage0_samples(
        seqnet_cfg, make_sample):
    head = build(seqnet_cfg)
    head.train()
    calls = []
    sample = head._sample

    def record(stage, boxes, *args):
        results = sample(stage, boxes, *args)
        calls.append((boxes, results))
        return results

    head._sample = record
    samples = [make_sample(), make_sample()]
    losses = head.loss(features(), proposals(), samples)
    assert len(calls) == 2
    (_, first), (second_boxes, _) = calls
    # All stage-0 samples, GT boxes included, regressed and detached.
    assert [len(b) for b in second_boxes] == [len(r.priors) for r in first]
    assert not any(b.requires_grad for b in second_boxes)
    assert all(first_res.pos_is_gt.any() for first_res in first)
    assert set(losses) == {
        's0.loss_cls', 's0.acc', 's0.loss_bbox', 's1.loss_bbox',
        's1.loss_nae', 's1.loss_oim'
    }


@pytest.mark.parametrize(
    'variant, keys', [
        (dict(reid_bbox_head=None), {'s1.loss_nae', 's1.loss_oim'}),
        (dict(embedding_head=dict(loss_cls=None)),
         {'s1.loss_bbox', 's1.loss_oim'}),
        (dict(reid_bbox_head=None, embedding_head=dict(loss_cls=None)),
         {'s1.loss_oim'}),
        (dict(
            reid_bbox_head=dict(with_cls=True),
            embedding_head=dict(loss_cls=None)),
         {'s1.loss_cls', 's1.acc', 's1.loss_bbox', 's1.loss_oim'}),
    ])
def test_second_head_task_variants(seqnet_cfg, make_sample, variant, keys):
    for name, override in variant.items():
        if override is None:
            seqnet_cfg.roi_head[name] = None
        else:
            seqnet_cfg.roi_head[name].update(override)
    head = build(seqnet_cfg)
    head.train()
    losses = head.loss(features(), proposals(), [make_sample()] * 2)
    assert set(losses) == {'s0.loss_cls', 's0.acc', 's0.loss_bbox'} | keys
    assert all(torch.isfinite(v).all() for v in losses.values())
    head.eval()
    with torch.no_grad():
        results = head.predict(features(), proposals(), [make_sample()] * 2)
    assert all(len(r) > 0 for r in results)


def test_embedding_loss_keys_must_not_hide_box_losses(seqnet_cfg,
                                                      make_sample):
    seqnet_cfg.roi_head.embedding_head.loss_reid.loss_name = 'loss_bbox'
    head = build(seqnet_cfg)
    head.train()
    with pytest.raises(ValueError, match=r"\['loss_bbox'\] are also"):
        head.loss(features(), proposals(), [make_sample()] * 2)


def test_parallel_baseline(seqnet_cfg, make_sample):
    seqnet_cfg.train_cfg.rcnn = seqnet_cfg.train_cfg.rcnn[:1]
    seqnet_cfg.test_cfg.rcnn.use_fcs = False
    head = build(seqnet_cfg, box_head=None, bbox_head=None)
    assert head.num_stages == 1 and not head.with_first_stage
    head.train()
    losses = head.loss(features(), proposals(), [make_sample()] * 2)
    assert set(losses) == {'s0.loss_bbox', 's0.loss_nae', 's0.loss_oim'}
    head.eval()
    with torch.no_grad():
        results = head.predict(features(), proposals(), [make_sample()] * 2)
    for res in results:
        # Scored by the embedding norm, embeddings weighted by the score.
        assert ((res.scores > 0) & (res.scores < 1)).all()
        torch.testing.assert_close(res.embeddings.norm(dim=1), res.scores)


def count_reid_rois(head, samples):
    counts = []
    forward = head._reid_forward

    def record(x, rois):
        counts.append(len(rois))
        return forward(x, rois)

    head._reid_forward = record
    head.eval()
    with torch.no_grad():
        head.predict(features(1), proposals(1), samples)
    return counts[0]


def test_inter_stage_nms_switch(seqnet_cfg, make_sample):
    with_nms = count_reid_rois(build(seqnet_cfg), [make_sample()])
    seqnet_cfg.test_cfg.rcnn.inter_stage_nms = None
    without = count_reid_rois(build(seqnet_cfg), [make_sample()])
    # Score threshold 0: without NMS every proposal reaches stage 1.
    assert without == 40 > with_nms


def test_forced_boxes_come_first_and_suppress(seqnet_cfg, make_sample):
    head = build(seqnet_cfg)
    head.eval()
    with torch.no_grad():
        plain = head.predict(features(1), proposals(1), [make_sample()])[0]
        forced_box = plain.bboxes[:1] + 1.0
        forced = InstanceData(
            bboxes=forced_box,
            scores=torch.ones(1),
            embeddings=torch.full((1, 32), 0.5))
        results = head.predict(
            features(1),
            proposals(1), [make_sample()],
            forced_instances=[forced])[0]
    assert results.bboxes[0].tolist() == forced_box[0].tolist()
    assert results.scores[0] == 1
    assert (results.embeddings[0] == 0.5).all()
    # The forced box suppresses the detection it overlaps.
    assert (bbox_overlaps(forced_box, results.bboxes[1:]) <= 0.5).all()
    # The image's other embeddings are not weighted.
    torch.testing.assert_close(results.embeddings[1:].norm(dim=1),
                               torch.ones(len(results) - 1))


def test_forced_box_wins_ties(seqnet_cfg):
    head = build(seqnet_cfg)
    candidates = InstanceData(
        bboxes=torch.tensor([[10., 10., 50., 90.]]),
        scores=torch.ones(1),
        embeddings=torch.zeros(1, 4))
    forced = InstanceData(
        bboxes=torch.tensor([[11., 10., 50., 90.]]),
        scores=torch.ones(1),
        embeddings=torch.ones(1, 4))
    results = head._postprocess(candidates, head.test_cfg.nms, forced)
    assert len(results) == 1 and (results.embeddings == 1).all()


def test_rescale(seqnet_cfg, make_sample):
    head = build(seqnet_cfg)
    head.eval()
    sample = make_sample(scale_factor=(0.5, 2.0))
    with torch.no_grad():
        scaled = head.predict(features(1), proposals(1), [sample], True)[0]
        raw = head.predict(features(1), proposals(1), [sample], False)[0]
    torch.testing.assert_close(scaled.bboxes,
                               raw.bboxes / torch.tensor([.5, 2., .5, 2.]))


def test_predict_embeddings(seqnet_cfg):
    head = build(seqnet_cfg)
    head.eval()
    boxes = [torch.tensor([[10., 10., 50., 90.]]), torch.zeros(0, 4)]
    with torch.no_grad():
        embeddings = head.predict_embeddings(features(), boxes)
        expected, _ = head.embedding_head(
            head._reid_features(features(), bbox2roi(boxes)))
    assert [e.shape for e in embeddings] == [(1, 32), (0, 32)]
    torch.testing.assert_close(embeddings[0], expected)


def test_invalid_configurations(seqnet_cfg):
    with pytest.raises(ValueError, match='both box_head and bbox_head'):
        build(seqnet_cfg, box_head=None)
    with pytest.raises(ValueError, match='one dict per stage'):
        build(seqnet_cfg, box_head=None, bbox_head=None)
    no_score = copy.deepcopy(seqnet_cfg)
    no_score.test_cfg.rcnn.use_fcs = False
    no_score.roi_head.embedding_head.loss_cls = None
    with pytest.raises(ValueError, match='must score'):
        build(no_score)
    with pytest.raises(ValueError, match='num_classes'):
        build(seqnet_cfg, bbox_head=dict(seqnet_cfg.roi_head.bbox_head,
                                         num_classes=2))
