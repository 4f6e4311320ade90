"""Hostile annotations: boxes outside their image or without area (clipped
or dropped, and counted in the log), images without persons (filtered in
training, kept and evaluated in testing), query boxes outside their image
(an error)."""
import re

import numpy as np
import pytest
import scipy.io
import torch
from mmengine.evaluator import Evaluator
from mmengine.structures import InstanceData
from PIL import Image

from mmseqnet.datasets import UNLABELED_PERSON_ID, PRWDataset
from mmseqnet.evaluation import PersonSearchMetric

# The synthetic PRW marks persons of unknown identity with -2, as PRW.
UNKNOWN = -2
ANNOTATIONS_ONLY = [
    dict(type='LoadPersonSearchAnnotations'),
    dict(type='PackPersonSearchInputs')
]


def edit_annotation(root, frame, edit):
    """Rewrite a frame's [pid, x, y, w, h] rows, keeping the variable."""
    path = root / 'annotations' / f'{frame}.jpg.mat'
    contents = scipy.io.loadmat(str(path))
    (name, ) = [k for k in contents if not k.startswith('__')]
    scipy.io.savemat(str(path), {name: edit(contents[name])})


def image_size(root, frame):
    with Image.open(root / 'frames' / f'{frame}.jpg') as img:
        return img.size


def box_counts(dataset, messages):
    """(boxes, clipped, dropped) of the dataset's log line; without one,
    nothing was clipped or dropped."""
    for message in messages:
        found = re.search(
            r'of (\d+) annotation boxes, (\d+) clipped to their image '
            r'\(they extend beyond it\), (\d+) dropped \(no area', message)
        if found:
            return tuple(int(n) for n in found.groups())
    return sum(
        len(dataset.get_data_info(i)['instances'])
        for i in range(len(dataset))), 0, 0


def instances_of(dataset, frame):
    (item, ) = [
        dataset.get_data_info(i) for i in range(len(dataset))
        if dataset.get_data_info(i)['img_name'] == f'{frame}.jpg'
    ]
    return item['instances']


def test_boxes_outside_or_without_area(prw_copy, synthetic_prw, logged):
    frame = synthetic_prw[1]['train_frames'][0]
    before = PRWDataset(data_root=str(prw_copy))
    counts_before = box_counts(before, logged)
    kept_before = instances_of(before, frame)
    width, height = image_size(prw_copy, frame)
    extra = np.array([
        [UNKNOWN, -20.5, 10, 50, 100],  # over the left edge: clipped
        [UNKNOWN, width - 30, height - 40, 60, 80],  # over a corner: clipped
        [UNKNOWN, width + 10, 10, 20, 20],  # right of the image: dropped
        [UNKNOWN, 10, 10, -5, 20],  # negative width: dropped
        [UNKNOWN, 10, 10, 30, 0],  # zero height: dropped
        [UNKNOWN, np.nan, 10, 30, 40],  # NaN: dropped
    ])
    edit_annotation(prw_copy, frame, lambda rows: np.vstack([rows, extra]))
    logged.clear()
    after = PRWDataset(data_root=str(prw_copy))
    boxes, clipped, dropped = box_counts(after, logged)
    assert (boxes, clipped,
            dropped) == (counts_before[0] + 6, counts_before[1] + 2,
                         counts_before[2] + 4)
    assert any(
        m.startswith(f'PRWDataset ({prw_copy}, train split): of {boxes} '
                     'annotation boxes') for m in logged)
    instances = instances_of(after, frame)
    assert instances[:len(kept_before)] == kept_before
    assert [inst['bbox'] for inst in instances[len(kept_before):]] == [
        [0, 10, 29.5, 110],
        [width - 30, height - 40, width, height],
    ]
    assert [inst['person_id'] for inst in instances[len(kept_before):]
            ] == [UNLABELED_PERSON_ID] * 2


def test_training_image_without_persons(prw_copy, synthetic_prw):
    frame = synthetic_prw[1]['train_frames'][3]
    edit_annotation(prw_copy, frame, lambda rows: np.zeros((0, 5)))
    filtered = PRWDataset(
        data_root=str(prw_copy), filter_cfg=dict(filter_empty_gt=True))
    names = [
        filtered.get_data_info(i)['img_name'] for i in range(len(filtered))
    ]
    assert f'{frame}.jpg' not in names
    assert len(names) == len(synthetic_prw[1]['train_frames']) - 1
    unfiltered = PRWDataset(data_root=str(prw_copy))
    assert instances_of(unfiltered, frame) == []


def predict(dataset, false_positive_in):
    """Perfect detections (the ground truth, one-hot identity features) and
    a confident false detection in the image ``false_positive_in``."""
    items = [dataset[i]['data_samples'] for i in range(len(dataset))]
    ids = sorted({
        int(p)
        for item in items
        for p in item.gt_instances.person_ids if p >= 0
    })
    dim = len(ids) + 1

    def embed(pids):
        out = np.zeros((len(pids), dim), np.float32)
        for row, pid in enumerate(pids):
            # unlabeled persons and the false detection: the spare axis
            out[row, ids.index(pid) if pid >= 0 else dim - 1] = 1
        return out

    for item in items:
        if item.sample_type == 'query':
            boxes = item.query_bbox[None]
            feats = embed([item.query_person_id])
            scores = np.ones(1)
        else:
            boxes = item.gt_instances.bboxes.tensor.numpy()
            feats = embed(item.gt_instances.person_ids.tolist())
            scores = np.full(len(boxes), 0.9)
            if item.img_name == false_positive_in:
                boxes = np.vstack([boxes, [[5, 5, 40, 100]]])
                feats = np.vstack([feats, embed([-1])])
                scores = np.append(scores, 0.95)
        item.pred_instances = InstanceData(
            bboxes=torch.tensor(boxes, dtype=torch.float32),
            scores=torch.tensor(scores, dtype=torch.float32),
            labels=torch.zeros(len(boxes), dtype=torch.long),
            embeddings=torch.tensor(feats))
    return items


def test_test_image_without_persons(prw_copy, synthetic_prw):
    summary = synthetic_prw[1]
    query_frames = {q['frame'] for q in summary['queries']}
    frame = next(f for f in summary['test_frames'] if f not in query_frames)
    edit_annotation(prw_copy, frame, lambda rows: np.zeros((0, 5)))
    dataset = PRWDataset(
        data_root=str(prw_copy), test_mode=True, pipeline=ANNOTATIONS_ONLY)
    assert instances_of(dataset, frame) == []
    evaluator = Evaluator([PersonSearchMetric(cbgm=False)])
    evaluator.dataset_meta = dataset.metainfo
    items = predict(dataset, false_positive_in=f'{frame}.jpg')
    evaluator.process(items)
    results = {
        k.split('/')[1]: v
        for k, v in evaluator.evaluate(len(items)).items()
    }
    # the empty image's confident detection is a false positive, the
    # persons of the other images are all found
    assert results['det_recall'] == pytest.approx(1)
    assert results['det_AP'] < 1
    assert results['mAP'] == pytest.approx(1)
    assert results['num_queries'] == len(summary['queries'])


def test_query_box_outside_its_image(prw_copy):
    path = prw_copy / 'query_info.txt'
    lines = path.read_bytes().decode().split('\r\n')
    pid, x, y, w, h, frame = lines[0].split()
    width, height = image_size(prw_copy, frame)

    def move_out(rows):
        match = (rows[:, 0] == int(pid)) & (
            np.abs(rows[:, 1:] - [float(
                x), float(y), float(w), float(h)]).max(1) < 1e-3)
        rows[match, 1] = width + 5
        return rows

    edit_annotation(prw_copy, frame, move_out)
    lines[0] = ' '.join([pid, f'{width + 5:.4f}', y, w, h, frame])
    path.write_bytes('\r\n'.join(lines).encode())
    with pytest.raises(
            ValueError,
            match=rf'query 0 \({prw_copy}\): the box \[{width + 5}\.0, .*\] '
            rf'\[x, y, w, h\] of person {pid} has no area inside its image '
            rf'{frame}\.jpg of {width}x{height} pixels'):
        PRWDataset(data_root=str(prw_copy), test_mode=True)
