import os
import os.path as osp
import shutil
from collections import Counter

import cv2
import numpy as np
import pytest
import scipy.io

from mmseqnet.datasets import (UNLABELED_PERSON_ID, CUHKSYSUDataset,
                               MatFormatError, read_cuhk_sysu_protocol)
from mmseqnet.testing import reference_path

REAL_TESTG100 = reference_path('cuhk_sysu', 'TestG100.mat')
ANN = 'annotation'
TRAIN_TEST = osp.join(ANN, 'test', 'train_test')


def needs_real_testg100():
    if not REAL_TESTG100.is_file():
        pytest.skip(f'reference file {REAL_TESTG100} is absent')


def raw_boxes(root):
    """{image name: int32 (K, 4)} straight from Images.mat."""
    img = scipy.io.loadmat(osp.join(root, ANN, 'Images.mat'))['Img'][0]
    return {
        str(item['imname'][0]): np.array(
            [b['idlocate'].astype(np.int32)[0] for b in item['box'][0]])
        for item in img
    }


def positives_first(bboxes):
    has_box = ~np.isnan(bboxes[:, 0])
    return not np.any(np.diff(has_box.astype(int)) > 0)


# ----------------------------------------------------------------- real file
def test_real_testg100_protocol():
    needs_real_testg100()
    queries = read_cuhk_sysu_protocol(
        str(REAL_TESTG100), 'TestG100', all_test_images=False)
    raw = scipy.io.loadmat(str(REAL_TESTG100))['TestG100'][0]
    assert len(queries) == 2900
    num_positives = Counter()
    for q in queries:
        bboxes = q.gallery['bboxes']
        assert bboxes.dtype == np.float32 and bboxes.shape == (100, 4)
        assert len(q.gallery['img_names']) == 100
        assert positives_first(bboxes)
        num_positives[int((~np.isnan(bboxes[:, 0])).sum())] += 1
    assert min(num_positives) == 1 and max(num_positives) == 13
    # xyxy from int32 x + w, also where the file stores uint8.
    for i in (0, 1250, 2132):
        entry = raw[i]['Gallery'][0][0]
        x, y, w, h = entry['idlocate'].astype(np.int32)[0]
        np.testing.assert_array_equal(queries[i].gallery['bboxes'][0],
                                      [x, y, x + w, y + h])
    assert queries[0].img_name == 's15538.jpg'
    assert queries[0].person_id == 10581
    # q1250 lists a gallery image twice (kept, both with their box);
    # q1633 with two different boxes.
    for i in (1250, 1633, 1997, 2561):
        names = queries[i].gallery['img_names']
        assert len(set(names)) == len(names) - 1
    names = queries[1250].gallery['img_names']
    dup = [j for j, n in enumerate(names) if names.count(n) == 2]
    np.testing.assert_array_equal(*queries[1250].gallery['bboxes'][dup])
    # q493 and q2132 list their own image.
    for i in (493, 2132):
        assert queries[i].img_name in queries[i].gallery['img_names']
    # Several queries share a query image.
    assert len({q.img_name for q in queries}) < 2900


def test_real_testg100_through_dataset(tmp_path):
    """The dataset reads the real protocol file, on a root whose
    Images.mat / pool.mat are rebuilt from the protocol's boxes."""
    needs_real_testg100()
    queries = read_cuhk_sysu_protocol(
        str(REAL_TESTG100), 'TestG100', all_test_images=False)
    boxes = {}
    for q in queries:
        entries = [(q.img_name, q.box)] + [
            (n, np.concatenate([b[:2], b[2:] - b[:2]]).astype(np.int64))
            for n, b in zip(q.gallery['img_names'], q.gallery['bboxes'])
            if not np.isnan(b[0])
        ]
        for name, box in entries:
            boxes.setdefault(name, set()).add(tuple(int(v) for v in box))
        for name in q.gallery['img_names']:
            boxes.setdefault(name, set())
    # A shared 1x1 black image: sizes are read from the image header
    # only, and 800 x 800 holds every protocol box.
    image = tmp_path / 'black.jpg'
    cv2.imwrite(str(image), np.zeros((800, 800, 3), np.uint8))
    (tmp_path / 'Image' / 'SSM').mkdir(parents=True)
    names = sorted(boxes)
    for name in names:
        os.link(image, tmp_path / 'Image' / 'SSM' / name)
    ann = tmp_path / ANN
    (ann / 'test' / 'train_test').mkdir(parents=True)
    img = np.empty((1, len(names)), dtype=[('imname', 'O'), ('box', 'O')])
    for i, name in enumerate(names):
        box = np.empty((1, len(boxes[name])), dtype=[('idlocate', 'O')])
        for j, b in enumerate(sorted(boxes[name])):
            box[0, j] = (np.array([b], np.uint16), )
        img[0, i] = (name, box)
    scipy.io.savemat(str(ann / 'Images.mat'), {'Img': img})
    pool = np.empty((len(names), 1), dtype=object)
    pool[:, 0] = names
    scipy.io.savemat(str(ann / 'pool.mat'), {'pool': pool})
    shutil.copy(REAL_TESTG100, ann / 'test' / 'train_test')

    dataset = CUHKSYSUDataset(data_root=str(tmp_path), test_mode=True)
    meta = dataset.metainfo
    assert meta['protocol'] == 'cuhk_sysu'
    assert len(meta['queries']) == 2900
    assert len(dataset) == len(names) + 2900
    first_query = dataset.get_data_info(len(names))
    assert first_query['sample_type'] == 'query'
    assert first_query['query_index'] == 0
    assert first_query['query_person_id'] == 10581
    np.testing.assert_array_equal(first_query['query_bbox'],
                                  [488, 90, 576, 340])
    # The query person carries its identity in the query image's ground
    # truth and in its positives' images.
    gallery = {dataset.get_data_info(i)['img_name']: dataset.get_data_info(i)
               for i in range(len(names))}
    for q in meta['queries'][:50]:
        listed = ~np.isnan(q['gallery']['bboxes'][:, 0])
        for name, bbox in zip(
                [q['img_name']] + list(
                    np.array(q['gallery']['img_names'])[listed]),
                [q['bbox']] + list(q['gallery']['bboxes'][listed])):
            instances = gallery[name]['instances']
            match = [inst['person_id'] for inst in instances
                     if np.allclose(inst['bbox'], bbox)]
            assert match == [q['person_id']]


# --------------------------------------------------------------- synthetic
def test_generated_testg_has_real_layout(synthetic_cuhk_root):
    needs_real_testg100()
    real = scipy.io.loadmat(str(REAL_TESTG100))['TestG100']
    ours = scipy.io.loadmat(
        osp.join(synthetic_cuhk_root, TRAIN_TEST, 'TestG50.mat'))['TestG50']

    def layout(protocol, gallery_size):
        assert protocol.ndim == 2 and protocol.shape[0] == 1
        item = protocol[0, 0]
        query = item['Query']
        gallery = item['Gallery']
        assert query.shape == (1, 1)
        assert gallery.shape == (1, gallery_size)
        negative = next(g for g in gallery[0] if g['idlocate'].size == 0)
        return dict(
            top=protocol.dtype.names,
            query=query.dtype.names,
            gallery=gallery.dtype.names,
            query_fields={
                f: (query[0, 0][f].dtype.kind, query[0, 0][f].shape)
                for f in query.dtype.names
            },
            positive={
                f: (gallery[0, 0][f].dtype.kind, gallery[0, 0][f].shape)
                for f in gallery.dtype.names
            },
            negative={
                f: (negative[f].dtype.kind if negative[f].dtype.kind == 'U'
                    else negative[f].dtype.str, negative[f].shape)
                for f in gallery.dtype.names
            })

    assert layout(ours, 50) == layout(real, 100)

    def box_dtypes(protocol):
        return {
            e['idlocate'].dtype.str
            for item in protocol[0] for e in item['Gallery'][0]
            if e['idlocate'].size
        } | {e['ishard'].dtype.str
             for item in protocol[0] for e in item['Gallery'][0]
             if e['ishard'].size}

    assert box_dtypes(ours) <= box_dtypes(real)


def test_train_split(synthetic_cuhk):
    root, summary = synthetic_cuhk
    dataset = CUHKSYSUDataset(
        data_root=root, filter_cfg=dict(filter_empty_gt=True))
    raw = raw_boxes(root)
    assert len(dataset) == len(summary['train_images'])
    assert dataset.metainfo['num_person_ids'] == \
        summary['num_train_identities']
    assert [dataset.get_data_info(i)['img_name']
            for i in range(len(dataset))] == summary['train_images']
    appearances = Counter()
    for i in range(len(dataset)):
        item = dataset.get_data_info(i)
        assert item['sample_type'] == 'gallery' and item['cam_id'] == -1
        boxes = raw[item['img_name']]
        nonzero = boxes[(boxes[:, 2] > 0) & (boxes[:, 3] > 0)]
        assert len(item['instances']) == len(nonzero)
        for inst, (x, y, w, h) in zip(item['instances'], nonzero):
            assert inst['bbox'] == [x, y, x + w, y + h]
            assert inst['bbox_label'] == 0 and inst['ignore_flag'] == 0
            appearances[inst['person_id']] += 1
    labeled = {k: v for k, v in appearances.items()
               if k != UNLABELED_PERSON_ID}
    assert sorted(labeled) == list(range(summary['num_train_identities']))
    assert min(labeled.values()) >= 2
    assert appearances[UNLABELED_PERSON_ID] > 0


def test_train_quirks(synthetic_cuhk):
    root, summary = synthetic_cuhk
    dataset = CUHKSYSUDataset(data_root=root)
    items = {dataset.get_data_info(i)['img_name']: dataset.get_data_info(i)
             for i in range(len(dataset))}
    raw = raw_boxes(root)
    zero = [(n, b) for n, b in summary['quirks']['zero_width']
            if n in items]
    assert zero, 'a training image has a zero-width box'
    for name, box in zero:
        assert box in raw[name].tolist()
        assert all(inst['bbox'][2] > inst['bbox'][0]
                   for inst in items[name]['instances'])
    overflow = [(n, b) for n, b in summary['quirks']['uint8_overflow']
                if n in items]
    assert overflow
    for name, (x, y, w, h) in overflow:
        assert max(x, y, w, h) < 256 and x + w > 255
        match = [inst for inst in items[name]['instances']
                 if inst['bbox'] == [x, y, x + w, y + h]]
        assert len(match) == 1 and match[0]['person_id'] >= 0


def test_test_split(synthetic_cuhk):
    root, summary = synthetic_cuhk
    dataset = CUHKSYSUDataset(data_root=root, test_mode=True, gallery_size=50)
    queries = dataset.metainfo['queries']
    num_images = len(summary['test_images'])
    assert len(queries) == len(summary['queries'])
    assert len(dataset) == num_images + len(queries)
    items = [dataset.get_data_info(i) for i in range(len(dataset))]
    assert {it['sample_type'] for it in items[:num_images]} == {'gallery'}
    assert [it['img_name'] for it in items[:num_images]] == \
        summary['test_images']
    by_name = {it['img_name']: it for it in items[:num_images]}
    for index, (item, query, expected) in enumerate(
            zip(items[num_images:], queries, summary['queries'])):
        assert item['sample_type'] == 'query'
        assert item['query_index'] == index
        x, y, w, h = expected['box']
        np.testing.assert_array_equal(query['bbox'], [x, y, x + w, y + h])
        assert query['bbox'].dtype == np.float32
        np.testing.assert_array_equal(item['query_bbox'], query['bbox'])
        assert query['person_id'] == int(expected['idname'][1:]) == \
            item['query_person_id']
        assert query['img_name'] == expected['img_name'] == item['img_name']
        assert item['instances'] == by_name[item['img_name']]['instances']
        gallery = query['gallery']
        assert gallery['all_test_images'] is False
        assert len(gallery['img_names']) == 50
        assert positives_first(gallery['bboxes'])
        listed = [(n, b) for n, b in zip(gallery['img_names'],
                                         gallery['bboxes'])
                  if not np.isnan(b[0])]
        assert [n for n, _ in listed] == \
            [n for n, _, _ in expected['positives']]
        # The test ground truth names the query person where the protocol
        # does.
        for name, bbox in listed + [(query['img_name'], query['bbox'])]:
            ids = [inst['person_id'] for inst in by_name[name]['instances']
                   if inst['bbox'] == bbox.tolist()]
            assert ids == [query['person_id']]
    quirks = summary['quirks']
    assert queries[0]['img_name'] == queries[1]['img_name'] == \
        quirks['shared_query_image']
    dup = queries[quirks['duplicate_entry_query']]['gallery']['img_names']
    assert len(set(dup)) == len(dup) - 1
    own = queries[quirks['own_image_query']]
    assert own['img_name'] in own['gallery']['img_names']
    assert any(
        inst['person_id'] == UNLABELED_PERSON_ID
        for it in items[:num_images] for inst in it['instances'])


def test_all_test_images_and_subsets(synthetic_cuhk):
    root, summary = synthetic_cuhk
    g50 = CUHKSYSUDataset(data_root=root, test_mode=True, gallery_size=50)
    everything = CUHKSYSUDataset(
        data_root=root, test_mode=True, gallery_size=-1)
    for a, b in zip(g50.metainfo['queries'], everything.metainfo['queries']):
        assert b['gallery']['all_test_images'] is True
        assert a['gallery']['img_names'] == b['gallery']['img_names']
    for subset, var in (('occlusion', 'Occlusion1'),
                        ('resolution', 'Test_Size')):
        dataset = CUHKSYSUDataset(
            data_root=root, test_mode=True, query_subset=subset)
        expected = [summary['queries'][i]['idname']
                    for i in summary['subsets'][var]]
        got = [f'p{q["person_id"]}' for q in dataset.metainfo['queries']]
        assert got == expected


def test_arguments_and_lazy_init(tmp_path):
    with pytest.raises(ValueError, match='gallery_size'):
        CUHKSYSUDataset(data_root=str(tmp_path), gallery_size=30)
    with pytest.raises(ValueError, match='query_subset'):
        CUHKSYSUDataset(data_root=str(tmp_path), query_subset='blur')
    with pytest.raises(ValueError, match='gallery_size must be None'):
        CUHKSYSUDataset(
            data_root=str(tmp_path), query_subset='occlusion',
            gallery_size=100)
    # mmdet's inference API builds the dataset lazily for its metainfo.
    dataset = CUHKSYSUDataset(data_root=str(tmp_path), lazy_init=True)
    assert dataset.metainfo['classes'] == ('person', )
    assert dataset.metainfo['palette']
    with pytest.raises(FileNotFoundError, match='Images.mat'):
        dataset.full_init()


# ------------------------------------------------------------------ errors
@pytest.fixture
def cuhk_copy(synthetic_cuhk_root, tmp_path):
    root = tmp_path / 'cuhk'
    shutil.copytree(synthetic_cuhk_root, root)
    return root


def test_missing_file(cuhk_copy):
    os.remove(cuhk_copy / TRAIN_TEST / 'Train.mat')
    with pytest.raises(FileNotFoundError, match=r'Train\.mat.*not found'):
        CUHKSYSUDataset(data_root=str(cuhk_copy))
    with pytest.raises(FileNotFoundError, match=r'TestG100\.mat'):
        CUHKSYSUDataset(data_root=str(cuhk_copy), test_mode=True)


def test_missing_variable(cuhk_copy):
    path = cuhk_copy / ANN / 'pool.mat'
    scipy.io.savemat(str(path), {'test_images': np.zeros((1, 1))})
    with pytest.raises(MatFormatError,
                       match=r"pool\.mat: expected a variable named 'pool'"):
        CUHKSYSUDataset(data_root=str(cuhk_copy))


def test_wrong_box_shape(cuhk_copy):
    path = cuhk_copy / ANN / 'Images.mat'
    img = scipy.io.loadmat(str(path))['Img']
    img[0, 3]['box'][0, 0]['idlocate'] = np.array([[1, 2, 3]], np.uint8)
    scipy.io.savemat(str(path), {'Img': img})
    with pytest.raises(MatFormatError,
                       match=r'Images\.mat: Img\[3\]\.box\[0\]\.idlocate: '
                       r'expected a 1x4 box'):
        CUHKSYSUDataset(data_root=str(cuhk_copy), test_mode=True)


def test_wrong_struct_fields(cuhk_copy):
    path = cuhk_copy / TRAIN_TEST / 'TestG50.mat'
    protocol = scipy.io.loadmat(str(path))['TestG50']
    renamed = np.empty(protocol.shape, dtype=[('Probe', 'O'),
                                              ('Gallery', 'O')])
    renamed['Probe'] = protocol['Query']
    renamed['Gallery'] = protocol['Gallery']
    scipy.io.savemat(str(path), {'TestG50': renamed})
    with pytest.raises(MatFormatError, match=r"TestG50.*lacks fields "
                       r"\['Query'\]"):
        CUHKSYSUDataset(
            data_root=str(cuhk_copy), test_mode=True, gallery_size=50)


def test_box_not_in_images_mat(cuhk_copy):
    path = cuhk_copy / TRAIN_TEST / 'Train.mat'
    train = scipy.io.loadmat(str(path))['Train']
    train[0, 0][0, 0]['scene'][0, 0]['idlocate'] = np.array(
        [[1, 1, 1, 1]], np.uint8)
    scipy.io.savemat(str(path), {'Train': train})
    with pytest.raises(MatFormatError,
                       match=r'Train\.mat: Train\{0\}\.scene\[0\]: box'):
        CUHKSYSUDataset(data_root=str(cuhk_copy))


def test_missing_image(cuhk_copy, synthetic_cuhk):
    name = synthetic_cuhk[1]['train_images'][2]
    os.remove(cuhk_copy / 'Image' / 'SSM' / name)
    with pytest.raises(FileNotFoundError,
                       match=rf'Images\.mat lists image {name} but'):
        CUHKSYSUDataset(data_root=str(cuhk_copy))
