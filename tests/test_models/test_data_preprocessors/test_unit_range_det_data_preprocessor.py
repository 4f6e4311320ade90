"""UnitRangeDetDataPreprocessor against a literal torchvision transform."""
import copy
import math

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import HorizontalBoxes, scale_boxes
from mmengine.config import Config
from mmengine.structures import InstanceData

from mmseqnet.testing import REPO_ROOT
from .torchvision_transform import (MEAN, STD, tv_normalize, tv_resize_boxes,
                                    tv_transform)

SEQNET_RESIZE = dict(min_size=900, max_size=1500)


def build(**kwargs):
    return MODELS.build(
        dict(
            dict(
                type='UnitRangeDetDataPreprocessor',
                mean=MEAN,
                std=STD,
                bgr_to_rgb=True,
                pad_size_divisor=32), **kwargs))


def random_bgr(h, w, seed=0):
    return torch.randint(
        0,
        256, (3, h, w),
        dtype=torch.uint8,
        generator=torch.Generator().manual_seed(seed))


def make_sample(h, w, boxes=None, **metainfo):
    sample = DetDataSample(
        metainfo=dict(img_shape=(h, w), ori_shape=(h, w), **metainfo))
    if boxes is not None:
        sample.gt_instances = InstanceData(
            bboxes=HorizontalBoxes(torch.tensor(boxes, dtype=torch.float32)),
            labels=torch.zeros(len(boxes), dtype=torch.long))
    return sample


def test_bit_identical_to_torchvision_normalisation():
    preprocessor = build()
    bgr = random_bgr(30, 50)
    out = preprocessor(dict(inputs=[bgr], data_samples=None))['inputs']
    assert out.shape == (1, 3, 32, 64)
    expected = tv_normalize(bgr)
    assert torch.equal(out[0, :, :30, :50], expected)
    assert out[0, :, 30:].abs().sum() == 0 and out[0, :, :,
                                                   50:].abs().sum() == 0
    # Stacked inputs give the same.
    stacked = preprocessor(dict(inputs=bgr[None], data_samples=None))
    assert torch.equal(stacked['inputs'], out)


@pytest.mark.parametrize('sizes', [
    [(1080, 1920)],
    [(576, 720)],
    [(1080, 1800)],
    [(1080, 1920), (576, 720)],
])
def test_resize_equals_torchvision_transform(sizes):
    bgrs = [random_bgr(h, w, seed=i) for i, (h, w) in enumerate(sizes)]
    samples = [make_sample(h, w) for h, w in sizes]
    out = build(resize=SEQNET_RESIZE)(dict(inputs=bgrs, data_samples=samples))
    expected, new_sizes = tv_transform(bgrs)
    assert torch.equal(out['inputs'], expected)
    for sample, (h, w), (new_h, new_w) in zip(out['data_samples'], sizes,
                                              new_sizes):
        assert sample.img_shape == (new_h, new_w)
        assert sample.ori_shape == (h, w)
        assert sample.scale_factor == (new_w / w, new_h / h)
        assert sample.batch_input_shape == tuple(expected.shape[-2:])
        assert sample.pad_shape == (math.ceil(new_h / 32) * 32,
                                    math.ceil(new_w / 32) * 32)


def test_float32_scale_floors_the_size():
    # torchvision's float32 scale floors 1080 * 1500 / 1920 = 843.75 to
    # 843 where mmdet's Resize rounds to 844; 900 / 1080 in float32 is
    # just under 5 / 6, so 1080x1800 loses a pixel on both sides.
    out = build(resize=SEQNET_RESIZE)(
        dict(
            inputs=[random_bgr(1080, 1920),
                    random_bgr(1080, 1800)],
            data_samples=[make_sample(1080, 1920),
                          make_sample(1080, 1800)]))
    assert [s.img_shape for s in out['data_samples']] == [(843, 1500),
                                                          (899, 1499)]


def test_scale_one_is_the_identity():
    bgr = random_bgr(900, 1500)
    data = dict(inputs=[bgr], data_samples=[make_sample(900, 1500)])
    resized = build(resize=SEQNET_RESIZE)(data)
    plain = build()(dict(inputs=[bgr], data_samples=[make_sample(900, 1500)]))
    assert torch.equal(resized['inputs'], plain['inputs'])
    assert resized['data_samples'][0].img_shape == (900, 1500)
    assert resized['data_samples'][0].scale_factor == (1.0, 1.0)


@pytest.mark.parametrize('training', [True, False])
def test_ground_truth_boxes(training):
    sizes = [(1080, 1920), (576, 720)]
    boxes = [[[10.5, 20.25, 300.0, 900.75], [1000.0, 0.0, 1919.0, 1079.0]],
             [[0.0, 0.0, 719.0, 575.0]]]
    samples = [make_sample(h, w, b) for (h, w), b in zip(sizes, boxes)]
    samples[1].ignored_instances = InstanceData(
        bboxes=HorizontalBoxes(torch.tensor([[5.0, 6.0, 70.0, 80.0]])))
    out = build(resize=SEQNET_RESIZE)(
        dict(
            inputs=[random_bgr(h, w) for h, w in sizes], data_samples=samples),
        training=training)
    _, new_sizes = tv_transform([random_bgr(h, w) for h, w in sizes])
    for sample, size, new_size, gt in zip(out['data_samples'], sizes,
                                          new_sizes, boxes):
        gt = torch.tensor(gt)
        expected = tv_resize_boxes(gt, size, new_size) if training else gt
        # boxtype2tensor: plain tensors after the preprocessor.
        assert torch.equal(sample.gt_instances.bboxes, expected)
    ignored = torch.tensor([[5.0, 6.0, 70.0, 80.0]])
    assert torch.equal(
        out['data_samples'][1].ignored_instances.bboxes,
        tv_resize_boxes(ignored, sizes[1], new_sizes[1])
        if training else ignored)


def test_scale_factor_maps_boxes_as_torchvision():
    """Over many sizes, mmdet's use of ``scale_factor`` (forward for query
    boxes, ``1 / scale_factor`` for predictions) equals torchvision's
    ``resize_boxes`` ratios bit for bit."""
    preprocessor = build(resize=dict(min_size=48, max_size=80))
    generator = torch.Generator().manual_seed(0)
    # 10 batches of 20 sizes: fewer calls, as small tensors go slowly on
    # busy cores.
    sizes = torch.randint(9, 200, (10, 20, 2), generator=generator).tolist()
    boxes = torch.rand(50, 4, generator=generator) * 200
    for batch in sizes:
        samples = preprocessor(
            dict(
                inputs=[
                    torch.zeros(3, h, w, dtype=torch.uint8) for h, w in batch
                ],
                data_samples=[make_sample(h, w)
                              for h, w in batch]))['data_samples']
        for (h, w), sample in zip(batch, samples):
            new = sample.img_shape
            assert torch.equal(
                scale_boxes(boxes, sample.scale_factor),
                tv_resize_boxes(boxes, (h, w), new))
            assert torch.equal(
                scale_boxes(boxes, [1 / s for s in sample.scale_factor]),
                tv_resize_boxes(boxes, new, (h, w)))


def test_pipeline_scale_factor_is_composed():
    sample = make_sample(540, 960, scale_factor=(0.5, 0.5))
    out = build(resize=SEQNET_RESIZE)(
        dict(inputs=[random_bgr(540, 960)], data_samples=[sample]))
    w_scale, h_scale = out['data_samples'][0].scale_factor
    new_h, new_w = out['data_samples'][0].img_shape
    assert (w_scale, h_scale) == (0.5 * new_w / 960, 0.5 * new_h / 540)


@pytest.mark.parametrize('kwargs, match', [
    (dict(resize=dict(min_size=900)), 'resize must be a dict'),
    (dict(resize=(900, 1500)), 'resize must be a dict'),
    (dict(resize=dict(min_size=900, max_size=0)), 'max_size must be'),
    (dict(resize=SEQNET_RESIZE, pad_mask=True), 'pad_mask'),
    (dict(std=None), 'mean and std'),
    (dict(std=[0.2, 0.2]), 'mean and std'),
    (dict(rgb_to_bgr=True), 'bgr_to_rgb and rgb_to_bgr'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        build(**kwargs)


def test_bad_input_shape():
    with pytest.raises(ValueError, match=r'\(C, H, W\)'):
        build()(dict(inputs=[torch.zeros(30, 50, dtype=torch.uint8)]))


def test_detector_rescales_as_torchvision(seqnet_cfg):
    """A SeqNet with the resize returns the boxes it finds on the resized
    image mapped back by torchvision's ratios, and embeds the query box
    resized by them."""
    seqnet_cfg.data_preprocessor.resize = dict(min_size=120, max_size=200)
    seqnet_cfg.test_cfg.query_context = True
    model = MODELS.build(seqnet_cfg).eval()
    h, w = 100, 171
    query_bbox = [20.5, 10.0, 60.0, 90.25]
    samples = [
        make_sample(h, w, sample_type='gallery'),
        make_sample(h, w, sample_type='query', query_bbox=query_bbox)
    ]
    bgr = random_bgr(h, w)
    with torch.no_grad():
        preds = model.test_step(dict(inputs=[bgr, bgr], data_samples=samples))
        # The same on torchvision's transform, in resized pixels.
        inputs, new_sizes = tv_transform([bgr, bgr], 120, 200)
        new = new_sizes[0]
        tv_query = tv_resize_boxes(torch.tensor([query_bbox]), (h, w), new)
        tv_samples = [
            DetDataSample(
                metainfo=dict(
                    img_shape=new,
                    ori_shape=new,
                    scale_factor=(1.0, 1.0),
                    pad_shape=tuple(inputs.shape[-2:]),
                    batch_input_shape=tuple(inputs.shape[-2:]),
                    **extra))
            for extra in (
                dict(sample_type='gallery'),
                dict(sample_type='query', query_bbox=tv_query[0].tolist()))
        ]
        tv_preds = model.predict(inputs, tv_samples, rescale=False)
    for pred, tv_pred in zip(preds, tv_preds):
        assert len(pred.pred_instances) > 1
        assert torch.equal(
            pred.pred_instances.bboxes,
            tv_resize_boxes(tv_pred.pred_instances.bboxes, new, (h, w)))
        assert torch.equal(pred.pred_instances.embeddings,
                           tv_pred.pred_instances.embeddings)
    # The query's forced box: the query box there and back.
    assert torch.equal(preds[1].pred_instances.bboxes[:1],
                       tv_resize_boxes(tv_query, new, (h, w)))


def test_detector_trains_on_torchvision_targets(seqnet_cfg):
    """Training losses with the resize equal those on torchvision's
    transform of the image and its target boxes."""
    seqnet_cfg.data_preprocessor.resize = dict(min_size=120, max_size=200)
    model = MODELS.build(seqnet_cfg)
    twin = copy.deepcopy(model)  # the OIM tables update in the forward
    h, w = 150, 110
    boxes = torch.tensor([[10.0, 20.5, 50.0, 120.0],
                          [60.0, 30.0, 100.0, 140.25]])
    sample = make_sample(h, w, boxes.tolist())
    sample.gt_instances.person_ids = torch.tensor([0, -1])
    bgr = random_bgr(h, w)
    torch.manual_seed(0)
    data = model.data_preprocessor(
        dict(inputs=[bgr], data_samples=[sample]), training=True)
    losses = model.loss(data['inputs'], data['data_samples'])

    inputs, (new, ) = tv_transform([bgr], 120, 200)
    tv_sample = DetDataSample(
        metainfo=dict(
            img_shape=new,
            ori_shape=(h, w),
            scale_factor=(new[1] / w, new[0] / h),
            pad_shape=tuple(inputs.shape[-2:]),
            batch_input_shape=tuple(inputs.shape[-2:])))
    tv_sample.gt_instances = InstanceData(
        bboxes=tv_resize_boxes(boxes, (h, w), new),
        labels=torch.zeros(2, dtype=torch.long),
        person_ids=torch.tensor([0, -1]))
    torch.manual_seed(0)
    tv_losses = twin.loss(inputs, [tv_sample])
    assert losses.keys() == tv_losses.keys()
    for key, value in losses.items():
        # mmdet gives some losses as lists, one per feature level.
        value, tv_value = (
            torch.stack(list(v)) if isinstance(v, list) else v
            for v in (value, tv_losses[key]))
        assert torch.equal(value, tv_value), key


@pytest.mark.parametrize(
    'path', ['configs/seqnet_prw.py', 'configs/seqnet_cuhk.py'] + sorted(
        str(p.relative_to(REPO_ROOT))
        for p in (REPO_ROOT / 'configs' / 'ablations').glob('*.py')) +
    ['configs/seqnet_light_synthetic_prw.py'])
def test_configs_resize_once(path):
    """Real-data configs resize in the preprocessor, the synthetic one in
    the pipeline; never both."""
    cfg = Config.fromfile(str(REPO_ROOT / path))
    resize = cfg.model.data_preprocessor.get('resize')
    for loader in (cfg.train_dataloader, cfg.test_dataloader):
        in_pipeline = [
            t for t in loader.dataset.pipeline if t['type'] == 'Resize'
        ]
        if 'synthetic' in path:
            assert resize is None and len(in_pipeline) == 1
        else:
            assert resize == SEQNET_RESIZE and not in_pipeline
