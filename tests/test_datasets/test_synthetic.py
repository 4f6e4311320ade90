import os
import os.path as osp
from collections import Counter

import numpy as np
import pytest
import scipy.io

from mmseqnet.datasets.synthetic import (draw_person, generate_cuhk_sysu,
                                         generate_prw, sample_identities)

ANN = 'annotation'


def test_identities_are_distinct_but_alike():
    rng = np.random.default_rng(0)
    identities = sample_identities(rng, 60)
    keys = [p.key() for p in identities]
    assert len(set(keys)) == len(keys)
    # Many identities share their main colours and differ in details.
    colours = Counter((p.top_colour, p.bottom_colour) for p in identities)
    assert sum(n for n in colours.values() if n > 1) >= 10


def test_draw_person_size_and_mask():
    rng = np.random.default_rng(1)
    person = sample_identities(rng, 1)[0]
    for height in (40, 90, 140):
        patch, mask = draw_person(person, height, 'front', 0.3)
        assert patch.dtype == np.uint8 and patch.shape[:2] == mask.shape
        assert abs(mask.shape[0] - height) <= 0.05 * height + 2
        # Tight crop: every border row / column holds body pixels.
        assert mask[0].any() and mask[-1].any()
        assert mask[:, 0].any() and mask[:, -1].any()


def read_tree(root):
    """{relative path: bytes} of every non-MAT file, and the MAT data."""
    files, mats = {}, {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = osp.join(folder, name)
            rel = osp.relpath(path, root)
            if name.endswith('.mat'):
                mats[rel] = {
                    k: v for k, v in scipy.io.loadmat(path).items()
                    if not k.startswith('__')
                }
            else:
                with open(path, 'rb') as f:
                    files[rel] = f.read()
    return files, mats


@pytest.mark.parametrize('generate, num_test_images',
                         [(generate_prw, 6), (generate_cuhk_sysu, 52)])
def test_deterministic_per_seed(tmp_path, generate, num_test_images):
    args = dict(
        num_train_images=6,
        num_test_images=num_test_images,
        num_identities=10)
    for name, seed in (('a', 3), ('b', 3), ('c', 4)):
        generate(str(tmp_path / name), seed=seed, **args)
    files_a, mats_a = read_tree(tmp_path / 'a')
    files_b, mats_b = read_tree(tmp_path / 'b')
    files_c, _ = read_tree(tmp_path / 'c')
    assert files_a == files_b
    assert mats_a.keys() == mats_b.keys()
    for rel in mats_a:
        # Struct arrays compare element-wise through their string form.
        assert repr(mats_a[rel]) == repr(mats_b[rel]), rel
    assert files_a != files_c


def test_cuhk_sysu_raw_quirks(synthetic_cuhk):
    root, summary = synthetic_cuhk
    img = scipy.io.loadmat(osp.join(root, ANN, 'Images.mat'))['Img'][0]
    dtypes = Counter()
    zero_width = overflow = 0
    for item in img:
        for box in item['box'][0]:
            locate = box['idlocate']
            dtypes[locate.dtype] += 1
            x, y, w, h = locate.astype(np.int32)[0]
            zero_width += w == 0
            if locate.dtype == np.uint8 and x + w > 255:
                overflow += 1
                # The uint8 sum wraps around: why loaders cast first.
                assert int(locate[0, 0] + locate[0, 2]) != x + w
    assert set(dtypes) == {np.dtype(np.uint8), np.dtype(np.uint16)}
    assert zero_width >= 1 and overflow >= 1
    train = scipy.io.loadmat(
        osp.join(root, ANN, 'test', 'train_test', 'Train.mat'))['Train']
    assert train.dtype == object
    assert train.size == summary['num_train_identities']
    referenced = Counter()
    for cell in train.reshape(-1):
        scenes = cell[0, 0]['scene'][0]
        assert len(scenes) >= 2
        for scene in scenes:
            referenced[str(scene['imname'][0])] += 1
    total = sum(len(item['box'][0]) for item in img)
    test_names = {str(n[0]) for n in scipy.io.loadmat(
        osp.join(root, ANN, 'pool.mat'))['pool'][:, 0]}
    train_boxes = sum(len(item['box'][0]) for item in img
                      if str(item['imname'][0]) not in test_names)
    assert sum(referenced.values()) < train_boxes < total
    assert len(summary['queries']) >= 2
    for var, path in (('Occlusion1', 'Occlusion.mat'),
                      ('Test_Size', 'Resolution.mat')):
        subset = scipy.io.loadmat(osp.join(root, ANN, 'test', 'subset',
                                           path))[var]
        assert subset.shape == (1, len(summary['subsets'][var]))


def test_cuhk_sysu_gallery_sizes(tmp_path):
    with pytest.raises(ValueError, match='need at least 51'):
        generate_cuhk_sysu(str(tmp_path / 'a'), num_test_images=40)
    with pytest.raises(ValueError, match='gallery_sizes'):
        generate_cuhk_sysu(
            str(tmp_path / 'b'), num_test_images=60, gallery_sizes=[100])
    summary = generate_cuhk_sysu(
        str(tmp_path / 'c'), num_train_images=8, num_test_images=102,
        num_identities=12)
    assert summary['gallery_sizes'] == [50, 100]
    for size in (50, 100):
        protocol = scipy.io.loadmat(
            str(tmp_path / 'c' / ANN / 'test' / 'train_test' /
                f'TestG{size}.mat'))[f'TestG{size}']
        assert {item['Gallery'].shape for item in protocol[0]} == \
            {(1, size)}


def test_prw_arguments(tmp_path):
    with pytest.raises(ValueError, match='num_identities'):
        generate_prw(str(tmp_path), num_identities=2)
    with pytest.raises(ValueError, match='num_test_identities=1'):
        generate_prw(str(tmp_path), num_identities=10, num_test_identities=1)
    with pytest.raises(ValueError, match='cannot hold'):
        generate_prw(
            str(tmp_path), num_train_images=2, num_test_images=5,
            num_identities=40)


def test_prw_uneven_identity_split(tmp_path):
    summary = generate_prw(
        str(tmp_path), seed=3, num_train_images=20, num_test_images=12,
        num_identities=20, num_test_identities=6)
    assert len(summary['train_ids']) == 14
    assert len(summary['test_ids']) == 6
    assert {q['pid'] for q in summary['queries']} == set(summary['test_ids'])
