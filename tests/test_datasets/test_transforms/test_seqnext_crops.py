"""GFN's training crops: centred padding, focused crop, bbox-safe crop."""
import random

import numpy as np
import pytest
from mmdet.structures.bbox import HorizontalBoxes

from mmseqnet.datasets.transforms import (CentredPad, RandomFocusedCrop,
                                          RandomSizedBBoxSafeCrop)


def sample(h, w, boxes, person_ids):
    return dict(
        img=np.full((h, w, 3), 7, dtype=np.uint8),
        img_shape=(h, w),
        gt_bboxes=HorizontalBoxes(np.array(boxes, dtype=np.float32)),
        gt_bboxes_labels=np.zeros(len(boxes), dtype=np.int64),
        gt_ignore_flags=np.zeros(len(boxes), dtype=bool),
        gt_person_ids=np.array(person_ids, dtype=np.int64))


def test_centred_pad():
    out = CentredPad(size=(300, 200))(sample(100, 200, [[0, 0, 10, 10]], [1]))
    assert out['img'].shape == (200, 300, 3)
    assert out['img_shape'] == (200, 300)
    # 100 columns and 100 rows of padding, half before.
    assert (out['img'][:50] == 0).all() and (out['img'][50:150, 50:250]
                                             == 7).all()
    np.testing.assert_allclose(out['gt_bboxes'].numpy(), [[50, 50, 60, 60]])


@pytest.mark.parametrize('seed', range(5))
def test_focused_crop_holds_the_labeled_person(seed):
    random.seed(seed)
    results = sample(1920, 1920, [[900, 900, 1000, 1200], [10, 10, 60, 110]],
                     [3, -1])
    out = RandomFocusedCrop(size=640)(results)
    assert out['img'].shape == (640, 640, 3)
    # A 640 square holding the whole box, not resized; the far unlabeled
    # person is dropped with its id.
    boxes = out['gt_bboxes'].numpy()
    assert out['gt_person_ids'].tolist() == [3]
    np.testing.assert_allclose(boxes[0, 2:] - boxes[0, :2], [100, 300])
    assert (boxes >= 0).all() and (boxes <= 640).all()


def test_focused_crop_of_a_tall_person_is_resized():
    random.seed(0)
    out = RandomFocusedCrop(size=640)(
        sample(1920, 1920, [[900, 500, 1000, 1300]], [3]))
    # Side 800 -> 640: scale 0.8.
    np.testing.assert_allclose(
        out['gt_bboxes'].numpy()[0, 2:] - out['gt_bboxes'].numpy()[0, :2],
        [80, 640],
        rtol=1e-5)


def test_focused_crop_without_labeled_person_and_too_small_image():
    random.seed(0)
    out = RandomFocusedCrop(size=64)(sample(100, 100, [[0, 0, 10, 10]], [-1]))
    assert out['img'].shape == (64, 64, 3)
    with pytest.raises(ValueError, match='CentredPad'):
        RandomFocusedCrop(size=640)(sample(100, 100, [[0, 0, 10, 10]], [1]))


@pytest.mark.parametrize('seed', range(5))
def test_bbox_safe_crop_keeps_every_box(seed):
    random.seed(seed)
    boxes = [[100, 200, 150, 400], [600, 100, 700, 300], [300, 600, 340, 700]]
    out = RandomSizedBBoxSafeCrop(size=64)(
        sample(800, 1000, boxes, [1, -1, 2]))
    assert out['img'].shape == (64, 64, 3)
    # Eroded by 10 % a side, every box keeps >= 64 % of its area.
    assert out['gt_person_ids'].tolist() == [1, -1, 2]
    assert len(out['gt_bboxes']) == 3 == len(out['gt_ignore_flags'])


def test_bbox_safe_crop_without_boxes():
    random.seed(0)
    results = sample(100, 200, [[0, 0, 1, 1]], [1])
    results['gt_bboxes'] = results['gt_bboxes'][:0]
    results['gt_person_ids'] = results['gt_person_ids'][:0]
    out = RandomSizedBBoxSafeCrop(size=32)(results)
    assert out['img'].shape == (32, 32, 3)
