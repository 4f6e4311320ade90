"""Broken image files in a dataset: a clear error naming the file (dataset
construction or LoadCheckedImageFromFile), or a logged skip in training
when asked for."""
import shutil

import cv2
import numpy as np
import pytest
from mmcv.transforms import LoadImageFromFile
from PIL import Image

from mmseqnet.datasets import PRWDataset
from mmseqnet.datasets.transforms.loading import LoadCheckedImageFromFile

TRAIN_PIPELINE = [
    dict(type='LoadCheckedImageFromFile'),
    dict(type='LoadPersonSearchAnnotations'),
    dict(type='PackPersonSearchInputs')
]


def frame_path(root, summary, split, index):
    frame = summary[f'{split}_frames'][index]
    return root / 'frames' / f'{frame}.jpg'


def truncate(path, fraction=0.6):
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * fraction)])


@pytest.mark.parametrize('test_mode', [False, True])
def test_random_bytes_stop_the_dataset(prw_copy, synthetic_prw, test_mode):
    split = 'test' if test_mode else 'train'
    path = frame_path(prw_copy, synthetic_prw[1], split, 2)
    path.write_bytes(np.random.default_rng(0).bytes(5000))
    with pytest.raises(
            ValueError,
            match=rf'{path.name}\.mat lists image {path.name} but {path} is '
            'not a readable image'):
        PRWDataset(data_root=str(prw_copy), test_mode=test_mode)


def item_of(dataset, path):
    return next(
        i for i in range(len(dataset))
        if dataset.get_data_info(i)['img_path'] == str(path))


@pytest.mark.parametrize('test_mode', [False, True])
def test_truncated_jpeg_stops_the_pipeline(prw_copy, synthetic_prw, test_mode):
    path = frame_path(prw_copy, synthetic_prw[1],
                      'test' if test_mode else 'train', 1)
    truncate(path)
    dataset = PRWDataset(
        data_root=str(prw_copy), test_mode=test_mode, pipeline=TRAIN_PIPELINE)
    with pytest.raises(
            ValueError,
            match=rf'{path}: not a complete image file \(image file is '
            r'truncated'):
        dataset[item_of(dataset, path)]


def test_truncated_jpeg_skipped_in_training_when_asked(prw_copy, synthetic_prw,
                                                       logged):
    path = frame_path(prw_copy, synthetic_prw[1], 'train', 1)
    truncate(path)
    pipeline = [dict(TRAIN_PIPELINE[0], skip_unreadable=True)]
    pipeline += TRAIN_PIPELINE[1:]
    dataset = PRWDataset(data_root=str(prw_copy), pipeline=pipeline)
    index = item_of(dataset, path)
    packed = dataset[index]
    # mmengine's BaseDataset fetched another image instead
    assert packed['data_samples'].img_path != str(path)
    assert len(packed['inputs'].shape) == 3
    skips = [m for m in logged if m.startswith('Skipped a broken image')]
    assert len(skips) == 1 and f'{path}: not a complete image file' in skips[0]
    # good images are not skipped
    assert dataset[index + 1]['data_samples'].img_path == \
        dataset.get_data_info(index + 1)['img_path']
    assert len(skips) == 1


def load(path, **kwargs):
    return LoadCheckedImageFromFile(**kwargs).transform(
        dict(img_path=str(path)))


def test_loader_checks(tmp_path):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (30, 40, 3), dtype=np.uint8)
    for name in ('ok.jpg', 'ok.png'):
        cv2.imwrite(str(tmp_path / name), image)
        # the same pixels as mmcv's loader
        ours = load(tmp_path / name)
        theirs = LoadImageFromFile().transform(
            dict(img_path=str(tmp_path / name)))
        assert np.array_equal(ours['img'], theirs['img'])
        assert ours['img_shape'] == ours['ori_shape'] == (30, 40)
    assert load(tmp_path / 'ok.jpg', to_float32=True)['img'].dtype == \
        np.float32

    (tmp_path / 'empty.jpg').write_bytes(b'')
    with pytest.raises(ValueError, match='empty.jpg: the image file is empty'):
        load(tmp_path / 'empty.jpg')
    (tmp_path / 'noise.jpg').write_bytes(rng.bytes(3000))
    with pytest.raises(
            ValueError,
            match=r'noise.jpg: not a complete image file \(cannot identify'):
        load(tmp_path / 'noise.jpg')
    shutil.copy(tmp_path / 'ok.png', tmp_path / 'cut.png')
    truncate(tmp_path / 'cut.png')
    with pytest.raises(ValueError, match='cut.png: not a complete image'):
        load(tmp_path / 'cut.png')
    with pytest.raises(FileNotFoundError):
        load(tmp_path / 'missing.jpg')
    # without Pillow's check, the decoder's own failure is reported
    with pytest.raises(
            ValueError, match='noise.jpg: the cv2 backend cannot decode'):
        load(tmp_path / 'noise.jpg', verify=False)
    assert load(tmp_path / 'empty.jpg', skip_unreadable=True) is None


def test_exif_rotation_against_recorded_size(prw_copy, synthetic_prw):
    """OpenCV applies an EXIF rotation, the dataset's boxes and size are in
    the stored pixels: every box would be misplaced."""
    path = frame_path(prw_copy, synthetic_prw[1], 'train', 0)
    with Image.open(path) as img:
        exif = img.getexif()
        exif[0x0112] = 6  # rotated 90 degrees clockwise
        img.save(path, exif=exif, quality=95)
    dataset = PRWDataset(data_root=str(prw_copy), pipeline=TRAIN_PIPELINE[:1])
    index = item_of(dataset, path)
    width, height = (
        dataset.get_data_info(index)[k] for k in ('width', 'height'))
    with pytest.raises(
            ValueError,
            match=rf'{path}: decoded as {height}x{width} pixels but the '
            rf"dataset recorded {width}x{height} .*color_ignore_orientation"):
        dataset[index]
    dataset = PRWDataset(
        data_root=str(prw_copy),
        pipeline=[
            dict(
                type='LoadCheckedImageFromFile',
                color_type='color_ignore_orientation')
        ])
    assert dataset[index]['img'].shape[:2] == (height, width)
