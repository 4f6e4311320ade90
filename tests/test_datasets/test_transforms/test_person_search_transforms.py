import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmdet.structures import DetDataSample

import mmseqnet  # noqa: F401  (registers the transforms)
from mmseqnet.datasets import PRWDataset

TRAIN_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadPersonSearchAnnotations'),
    dict(type='Resize', scale=(300, 200), keep_ratio=True),
    dict(type='RandomFlip', prob=1.0),
    dict(type='PackPersonSearchInputs'),
]
TEST_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(300, 200), keep_ratio=True),
    dict(type='LoadPersonSearchAnnotations'),
    dict(type='PackPersonSearchInputs'),
]


def person_results(num_boxes: int = 6, size: int = 100, seed: int = 0):
    """A loaded-annotation dict with random boxes and distinct ids."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, size * 0.8, size=(num_boxes, 2))
    wh = rng.uniform(3, size * 0.15, size=(num_boxes, 2))
    instances = [
        dict(bbox=[*p, *(p + s)], bbox_label=0, ignore_flag=0, person_id=pid)
        for p, s, pid in zip(xy, wh, rng.permutation(100)[:num_boxes] - 1)
    ]
    results = dict(
        img=rng.integers(0, 255, (size, size, 3), dtype=np.uint8),
        img_shape=(size, size),
        ori_shape=(size, size),
        instances=instances)
    return Compose([dict(type='LoadPersonSearchAnnotations')])(results)


def test_load_annotations():
    results = person_results()
    ids = [inst['person_id'] for inst in results['instances']]
    assert results['gt_person_ids'].dtype == np.int64
    np.testing.assert_array_equal(results['gt_person_ids'], ids)
    assert len(results['gt_bboxes']) == len(ids)
    with pytest.raises(KeyError, match='person_id'):
        Compose([dict(type='LoadPersonSearchAnnotations')])(
            dict(instances=[dict(bbox=[0, 0, 1, 1], bbox_label=0,
                                 ignore_flag=0)]))


def test_train_pipeline_keeps_ids_aligned(synthetic_prw_root):
    dataset = PRWDataset(
        data_root=synthetic_prw_root, pipeline=TRAIN_PIPELINE)
    for index in range(3):
        info = dataset.get_data_info(index)
        packed = dataset[index]
        sample = packed['data_samples']
        assert isinstance(sample, DetDataSample)
        gt = sample.gt_instances
        scale = np.array(sample.scale_factor * 2)
        width = sample.img_shape[1]
        boxes = np.array([inst['bbox'] for inst in info['instances']]) * scale
        # Horizontal flip: x -> width - x.
        expected = np.stack([width - boxes[:, 2], boxes[:, 1],
                             width - boxes[:, 0], boxes[:, 3]], 1)
        np.testing.assert_allclose(gt.bboxes.numpy(), expected, atol=1e-3)
        assert gt.person_ids.dtype == torch.int64
        assert gt.person_ids.tolist() == [
            inst['person_id'] for inst in info['instances']
        ]
        assert sample.flip is True and sample.sample_type == 'gallery'
        assert sample.cam_id == info['cam_id']
        assert 'query_bbox' not in sample


def test_test_pipeline_query_item(synthetic_prw_root):
    dataset = PRWDataset(
        data_root=synthetic_prw_root, test_mode=True, pipeline=TEST_PIPELINE)
    query_index = len(dataset) - 1
    info = dataset.get_data_info(query_index)
    sample = dataset[query_index]['data_samples']
    assert sample.sample_type == 'query'
    np.testing.assert_array_equal(sample.query_bbox, info['query_bbox'])
    assert sample.query_person_id == info['query_person_id']
    assert sample.query_index == info['query_index']
    assert sample.img_name == info['img_name']
    # Annotations loaded after Resize stay in original pixels.
    np.testing.assert_allclose(
        sample.gt_instances.bboxes.numpy(),
        [inst['bbox'] for inst in info['instances']])
    assert sample.gt_instances.person_ids.tolist() == [
        inst['person_id'] for inst in info['instances']
    ]


@pytest.mark.parametrize('inner', [
    dict(type='RandomCrop', crop_size=(60, 60)),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(6, 6)),
    dict(type='MinIoURandomCrop', min_ious=(0.1, 0.3), min_crop_size=0.5),
])
def test_filtering_transforms_keep_ids_aligned(inner):
    dropped = whole = 0
    for seed in range(10):
        results = person_results(num_boxes=8, seed=seed)
        box_of = dict(
            zip(results['gt_person_ids'].tolist(),
                results['gt_bboxes'].tensor.numpy()))
        np.random.seed(seed)  # mmdet's crops draw from numpy's global RNG
        out = Compose([
            dict(type='KeepPersonIdsAligned', transforms=[inner]),
            dict(type='PackPersonSearchInputs')
        ])(results)
        if out is None:
            continue
        gt = out['data_samples'].gt_instances
        dropped += len(box_of) - len(gt)
        assert gt.labels.tolist() == [0] * len(gt)
        # Crops translate every box by the same offset (then clip): the
        # boxes that kept their size must all show that one offset with
        # the original box of their id.
        offsets = []
        for box, pid in zip(gt.bboxes.numpy(), gt.person_ids.tolist()):
            original = box_of[pid]
            size, original_size = box[2:] - box[:2], \
                original[2:] - original[:2]
            assert np.all(size <= original_size + 1e-3)
            if np.allclose(size, original_size, atol=1e-3):
                offsets.append(original[:2] - box[:2])
        whole += len(offsets)
        np.testing.assert_allclose(offsets, offsets[:1] * len(offsets),
                                   atol=1e-3)
    assert dropped > 0, 'the transform dropped boxes in some cases'
    assert whole > 10, 'enough boxes survive whole to compare offsets'


def test_unwrapped_filter_is_caught():
    results = person_results(num_boxes=8)
    results['gt_bboxes'].tensor[0, 2:] = results['gt_bboxes'].tensor[0, :2]
    pipeline = Compose([
        dict(type='FilterAnnotations', min_gt_bbox_wh=(1, 1)),
        dict(type='PackPersonSearchInputs')
    ])
    with pytest.raises(ValueError, match='KeepPersonIdsAligned'):
        pipeline(results)
    results = person_results(num_boxes=8)
    results['gt_bboxes'].tensor[0, 2:] = results['gt_bboxes'].tensor[0, :2]
    ids = results['gt_person_ids'].tolist()
    wrapped = Compose([
        dict(
            type='KeepPersonIdsAligned',
            transforms=[dict(type='FilterAnnotations',
                             min_gt_bbox_wh=(1, 1))]),
        dict(type='PackPersonSearchInputs')
    ])(results)
    assert wrapped['data_samples'].gt_instances.person_ids.tolist() == \
        ids[1:]
