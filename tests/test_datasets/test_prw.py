import os
import os.path as osp
from collections import Counter

import numpy as np
import pytest
import scipy.io
from PIL import Image

from mmseqnet.datasets import UNLABELED_PERSON_ID, MatFormatError, PRWDataset
from mmseqnet.datasets.synthetic.prw import UNKNOWN_ID

ANNOTATION_VARIABLES = ('box_new', 'anno_file', 'anno_previous')


def raw_rows(root, frame):
    contents = scipy.io.loadmat(
        osp.join(root, 'annotations', f'{frame}.jpg.mat'))
    (name, ) = [k for k in contents if not k.startswith('__')]
    return name, contents[name]


def test_train_split(synthetic_prw):
    root, summary = synthetic_prw
    dataset = PRWDataset(data_root=root, filter_cfg=dict(filter_empty_gt=True))
    train_ids = summary['train_ids']
    assert dataset.metainfo['protocol'] == 'prw'
    assert dataset.metainfo['num_person_ids'] == len(train_ids)
    assert len(dataset) == len(summary['train_frames'])
    counts = Counter()
    for i in range(len(dataset)):
        item = dataset.get_data_info(i)
        frame = osp.splitext(item['img_name'])[0]
        assert frame == summary['train_frames'][i]
        assert item['cam_id'] == int(frame[1])
        _, rows = raw_rows(root, frame)
        assert len(item['instances']) == len(rows)
        for inst, (pid, x, y, w, h) in zip(item['instances'], rows):
            expected = UNLABELED_PERSON_ID if pid == UNKNOWN_ID else \
                train_ids.index(int(pid))
            assert inst['person_id'] == expected
            np.testing.assert_allclose(
                inst['bbox'], [
                    max(x, 0), max(y, 0),
                    min(x + w, item['width']),
                    min(y + h, item['height'])
                ],
                rtol=1e-6)
            counts[inst['person_id']] += 1
    labeled = {k: v for k, v in counts.items() if k != UNLABELED_PERSON_ID}
    # Non-contiguous PRW ids become rows 0..n-1, every id twice or more.
    assert sorted(labeled) == list(range(len(train_ids)))
    assert min(labeled.values()) >= 2
    assert counts[UNLABELED_PERSON_ID] > 0


def test_test_split(synthetic_prw):
    root, summary = synthetic_prw
    dataset = PRWDataset(data_root=root, test_mode=True)
    queries = dataset.metainfo['queries']
    num_frames = len(summary['test_frames'])
    assert len(queries) == len(summary['queries'])
    assert len(dataset) == num_frames + len(queries)
    items = [dataset.get_data_info(i) for i in range(len(dataset))]
    by_name = {it['img_name']: it for it in items[:num_frames]}
    assert [osp.splitext(n)[0] for n in by_name] == summary['test_frames']
    test_ids = set(summary['test_ids'])
    for it in items[:num_frames]:
        assert it['sample_type'] == 'gallery'
        ids = {inst['person_id'] for inst in it['instances']}
        assert ids <= test_ids | {UNLABELED_PERSON_ID}
    per_camera = Counter()
    for index, (item, query, expected) in enumerate(
            zip(items[num_frames:], queries, summary['queries'])):
        assert item['sample_type'] == 'query'
        assert item['query_index'] == index
        assert query['gallery'] is None
        assert query['person_id'] == expected['pid'] == \
            item['query_person_id']
        assert query['img_name'] == f'{expected["frame"]}.jpg'
        assert query['cam_id'] == int(expected['frame'][1]) == \
            item['cam_id']
        per_camera[(query['person_id'], query['cam_id'])] += 1
        x, y, w, h = expected['box']
        np.testing.assert_allclose(
            query['bbox'], [max(x, 0), y, x + w, y + h], atol=1e-3)
        # The query person is in its frame's ground truth at that box.
        matches = [
            inst for inst in by_name[query['img_name']]['instances']
            if np.abs(np.array(inst['bbox']) - query['bbox']).max() < 1e-3
        ]
        assert [m['person_id'] for m in matches] == [query['person_id']]
    assert max(per_camera.values()) == 1


def test_quirks(synthetic_prw):
    root, summary = synthetic_prw
    quirks = summary['quirks']
    with open(osp.join(root, 'query_info.txt'), 'rb') as f:
        lines = f.read().split(b'\n')
    assert lines[-1] == b''
    assert all(line.endswith(b'\r') for line in lines[:-1])
    pid, frame = quirks['negative_x_query']
    line = next(
        line.decode() for line in lines
        if line.startswith(f'{pid} '.encode()) and frame.encode() in line)
    assert float(line.split()[1]) < 0
    # Identity seen twice by the query camera and once by another one.
    pid, frames = quirks['same_and_cross_camera']
    cams = [int(f[1]) for f in frames]
    query = next(q for q in summary['queries'] if q['pid'] == pid)
    query_cam = int(query['frame'][1])
    assert cams.count(query_cam) >= 2 and len(set(cams)) >= 2
    # PRW ids are not contiguous and unknown persons are -2.
    train_ids = summary['train_ids']
    assert train_ids != list(range(1, len(train_ids) + 1))
    names = Counter()
    unknown = 0
    for frame in summary['train_frames'] + summary['test_frames']:
        name, rows = raw_rows(root, frame)
        names[name] += 1
        assert rows.dtype == np.float64 and rows.shape[1] == 5
        unknown += int((rows[:, 0] == UNKNOWN_ID).sum())
        if len(rows):
            assert not np.allclose(rows[:, 1:], np.round(rows[:, 1:]))
    assert set(names) == set(ANNOTATION_VARIABLES)
    assert unknown > 0
    sizes = {
        int(f[1]): Image.open(osp.join(root, 'frames', f'{f}.jpg')).size
        for f in summary['train_frames'] + summary['test_frames']
    }
    assert 6 in sizes and sizes[6] != sizes[next(c for c in sizes if c != 6)]
    split = scipy.io.loadmat(osp.join(root, 'frame_test.mat'))
    assert split['img_index_test'].shape == (len(summary['test_frames']), 1)
    assert os.listdir(osp.join(root, 'query_box'))


def test_lazy_init(tmp_path):
    dataset = PRWDataset(data_root=str(tmp_path), lazy_init=True)
    assert dataset.metainfo['classes'] == ('person', )
    with pytest.raises(FileNotFoundError, match='ID_train.mat'):
        dataset.full_init()


# ------------------------------------------------------------------ errors
def test_missing_annotation_file(prw_copy, synthetic_prw):
    frame = synthetic_prw[1]['train_frames'][1]
    os.remove(prw_copy / 'annotations' / f'{frame}.jpg.mat')
    with pytest.raises(FileNotFoundError,
                       match=rf'{frame}\.jpg\.mat: file not found'):
        PRWDataset(data_root=str(prw_copy))


def test_missing_variable(prw_copy, synthetic_prw):
    frame = synthetic_prw[1]['train_frames'][0]
    path = prw_copy / 'annotations' / f'{frame}.jpg.mat'
    scipy.io.savemat(str(path), {'boxes': np.zeros((1, 5))})
    with pytest.raises(MatFormatError,
                       match=r"expected a variable named 'box_new' or "
                       r"'anno_file' or 'anno_previous'"):
        PRWDataset(data_root=str(prw_copy))


def test_wrong_shape(prw_copy, synthetic_prw):
    frame = synthetic_prw[1]['test_frames'][0]
    path = prw_copy / 'annotations' / f'{frame}.jpg.mat'
    scipy.io.savemat(str(path), {'box_new': np.zeros((2, 4))})
    with pytest.raises(MatFormatError, match=rf'{frame}.*N x 5'):
        PRWDataset(data_root=str(prw_copy), test_mode=True)


def test_missing_frame(prw_copy, synthetic_prw):
    frame = synthetic_prw[1]['test_frames'][3]
    os.remove(prw_copy / 'frames' / f'{frame}.jpg')
    with pytest.raises(FileNotFoundError,
                       match=rf'{frame}\.jpg\.mat lists image {frame}\.jpg'):
        PRWDataset(data_root=str(prw_copy), test_mode=True)


@pytest.mark.parametrize(
    'edit, message',
    [(lambda f: f.replace(f.split()[1], '1000.0', 1), 'matches no annotation'),
     (lambda f: f.rsplit(' ', 1)[0], 'expected "pid x y w h frame"'),
     (lambda f: f.rsplit(' ', 1)[0] + ' c9s9_000001',
      'is not a test frame')])
def test_bad_query(prw_copy, edit, message):
    path = prw_copy / 'query_info.txt'
    lines = path.read_bytes().decode().split('\r\n')
    lines[1] = edit(lines[1])
    path.write_bytes('\r\n'.join(lines).encode())
    with pytest.raises(ValueError, match=rf'query_info\.txt:2: .*{message}'):
        PRWDataset(data_root=str(prw_copy), test_mode=True)
