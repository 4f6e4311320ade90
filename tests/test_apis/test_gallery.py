"""Gallery files and directories, and the sources they list."""
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest

from mmseqnet.apis import Gallery, list_sources, read_source


def random_gallery(num_sources=5, per_source=3, dim=8, scenes=True,
                   tracks=True, seed=0) -> Gallery:
    rng = np.random.default_rng(seed)
    n = num_sources * per_source
    return Gallery(
        sources=[f'cam{i % 2}/frame_{i:03d}.jpg' for i in range(num_sources)],
        image_ids=np.repeat(np.arange(num_sources), per_source),
        bboxes=rng.uniform(0, 100, (n, 4)).astype(np.float32),
        scores=rng.uniform(0, 1, n).astype(np.float32),
        embeddings=rng.normal(size=(n, dim)).astype(np.float32),
        scene_embeddings=rng.normal(size=(num_sources, dim)).astype(
            np.float32) if scenes else None,
        track_ids=rng.integers(-1, 3, n) if tracks else None)


def assert_same(loaded: Gallery, gallery: Gallery) -> None:
    assert loaded.sources == gallery.sources
    assert loaded.arrays().keys() == gallery.arrays().keys()
    for name, array in gallery.arrays().items():
        assert getattr(loaded, name).dtype == array.dtype, name
        np.testing.assert_array_equal(getattr(loaded, name), array)


@pytest.mark.parametrize('optional', [True, False])
def test_directory_round_trip_is_memory_mapped(tmp_path, optional):
    gallery = random_gallery(scenes=optional, tracks=optional)
    path = str(tmp_path / 'gallery')
    gallery.save(path)
    loaded = Gallery.load(path)
    assert_same(loaded, gallery)
    for name in loaded.arrays():
        assert isinstance(getattr(loaded, name), np.memmap), name
    assert not loaded.embeddings.flags.writeable
    query = gallery.embeddings[4]
    np.testing.assert_allclose(loaded.embeddings @ query,
                               gallery.embeddings @ query)
    manifest = json.loads((tmp_path / 'gallery' / 'manifest.json').read_text())
    assert manifest['status'] == 'complete'
    assert manifest['num_detections'] == len(gallery)
    assert manifest['embedding_dim'] == 8


def test_npz_round_trip_keeps_track_ids(tmp_path):
    gallery = random_gallery()
    path = str(tmp_path / 'gallery.npz')
    gallery.save(path)
    assert osp.isfile(path)
    loaded = Gallery.load(path)
    assert_same(loaded, gallery)
    assert not isinstance(loaded.embeddings, np.memmap)


def test_saving_into_the_loaded_directory(tmp_path):
    """Adding track ids to a memory-mapped gallery and saving it in place:
    the open maps stay readable, the reloaded gallery has the tracks."""
    path = str(tmp_path / 'gallery')
    random_gallery(tracks=False).save(path)
    loaded = Gallery.load(path)
    before = np.array(loaded.embeddings)
    loaded.track_ids = np.arange(len(loaded))
    loaded.save(path)
    np.testing.assert_array_equal(loaded.embeddings, before)
    np.testing.assert_array_equal(
        Gallery.load(path).track_ids, np.arange(len(loaded)))


def test_save_converts_dtypes_and_checks_shapes(tmp_path):
    gallery = random_gallery()
    gallery.bboxes = gallery.bboxes.astype(np.float64)
    gallery.image_ids = gallery.image_ids.astype(np.int32)
    gallery.save(str(tmp_path / 'converted'))
    loaded = Gallery.load(str(tmp_path / 'converted'))
    assert loaded.bboxes.dtype == np.float32
    assert loaded.image_ids.dtype == np.int64

    gallery.track_ids = gallery.track_ids[:-1]
    with pytest.raises(ValueError, match=r'track_ids is int64 \(14,\)'):
        gallery.save(str(tmp_path / 'bad.npz'))
    gallery = random_gallery()
    gallery.scene_embeddings = gallery.scene_embeddings[:3]
    with pytest.raises(ValueError, match='scene_embeddings .* 5 sources'):
        gallery.save(str(tmp_path / 'bad'))


def test_directory_errors_name_the_file(tmp_path):
    path = tmp_path / 'gallery'
    random_gallery().save(str(path))
    manifest_file = path / 'manifest.json'
    manifest = json.loads(manifest_file.read_text())

    def load_with(changed):
        manifest_file.write_text(json.dumps(changed))
        return Gallery.load(str(path))

    with pytest.raises(ValueError, match='manifest.json is not a gallery'):
        load_with(dict(manifest, format='other'))
    with pytest.raises(ValueError, match='format version 99'):
        load_with(dict(manifest, version=99))
    with pytest.raises(ValueError, match=r"lacks the entries \['arrays'\]"):
        load_with({k: v for k, v in manifest.items() if k != 'arrays'})
    with pytest.raises(ValueError, match='still being indexed'):
        load_with(dict(manifest, status='indexing'))
    wrong_shape = json.loads(json.dumps(manifest))
    wrong_shape['arrays']['embeddings']['shape'] = [15, 16]
    with pytest.raises(ValueError,
                       match=r'embeddings.npy holds float32 \(15, 8\)'):
        load_with(wrong_shape)
    manifest_file.write_text('{"format": ')
    with pytest.raises(ValueError, match='manifest.json is not valid JSON'):
        Gallery.load(str(path))

    manifest_file.write_text(json.dumps(manifest))
    (path / 'scores.npy').write_bytes(b'not an array')
    with pytest.raises(ValueError, match='scores.npy is not a .npy array'):
        Gallery.load(str(path))
    os.remove(path / 'scores.npy')
    with pytest.raises(FileNotFoundError, match='scores.npy is missing'):
        Gallery.load(str(path))
    os.remove(manifest_file)
    with pytest.raises(FileNotFoundError,
                       match='manifest.json does not exist'):
        Gallery.load(str(path))
    with pytest.raises(FileNotFoundError, match='does not exist'):
        Gallery.load(str(tmp_path / 'nothing.npz'))
    (tmp_path / 'file').write_text('')
    with pytest.raises(FileExistsError, match='is a file'):
        random_gallery().save(str(tmp_path / 'file'))


def test_image_lists(synthetic_prw_root, tmp_path):
    frames = sorted(os.listdir(osp.join(synthetic_prw_root, 'frames')))[:3]
    image_list = tmp_path / 'list.txt'
    image_list.write_text(
        '# two frames, one by an absolute path\n\n'
        f"{osp.join(synthetic_prw_root, 'frames', frames[0])}\n"
        f"  {osp.join(synthetic_prw_root, 'frames', frames[1])}  \n")
    (tmp_path / 'local.jpg').write_bytes(b'')
    relative = tmp_path / 'relative.txt'
    relative.write_text('local.jpg\n')
    assert list_sources([str(image_list), str(relative)]) == [
        osp.join(synthetic_prw_root, 'frames', frames[0]),
        osp.join(synthetic_prw_root, 'frames', frames[1]),
        str(tmp_path / 'local.jpg')
    ]
    image_list.write_text('missing.jpg\n')
    with pytest.raises(FileNotFoundError, match=r'list.txt, line 1: image'):
        list_sources(str(image_list))
    with pytest.raises(FileNotFoundError, match='Image list .* not exist'):
        list_sources(str(tmp_path / 'absent.txt'))


def write_video(path, frames):
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), 5,
                             frames[0].shape[1::-1])
    for frame in frames:
        writer.write(frame)
    writer.release()


def test_video_frames_read_in_any_order_and_after_a_rewrite(tmp_path):
    """Frames come from one open reader per video; a video written anew at
    the same path is opened anew."""
    video = str(tmp_path / 'camera.mp4')
    shades = [np.full((48, 64, 3), 40 * (i + 1), np.uint8) for i in range(4)]
    write_video(video, shades)
    sources = list_sources(video, frame_step=1)
    assert sources == [f'{video}#frame={i}' for i in range(4)]
    for i in (0, 1, 3, 2, 0):
        assert abs(int(read_source(sources[i]).mean()) - 40 * (i + 1)) <= 3
    write_video(video, shades[::-1][:3])
    assert abs(int(read_source(sources[0]).mean()) - 160) <= 3
    assert list_sources(video, frame_step=2) == [sources[0], sources[2]]
    with pytest.raises(FileNotFoundError, match='Video .* does not exist'):
        read_source(str(tmp_path / 'gone.mp4#frame=0'))
