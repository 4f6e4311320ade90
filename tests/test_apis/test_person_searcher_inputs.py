"""Hostile inputs to the person-search API: empty galleries, galleries
without detections, bad query boxes and unreadable images."""
import cv2
import numpy as np
import pytest

from mmseqnet.apis import Gallery
from mmseqnet.testing import tiny_person_searcher


@pytest.fixture
def searcher():
    """The tiny detector (detects nobody; embeds queries) behind the API,
    images loaded by LoadCheckedImageFromFile."""
    return tiny_person_searcher(batch_size=2)


@pytest.fixture
def image_dir(tmp_path):
    """Three 400x300 JPEGs."""
    folder = tmp_path / 'gallery'
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        cv2.imwrite(
            str(folder / f'{i}.jpg'),
            rng.integers(0, 255, (300, 400, 3), dtype=np.uint8))
    return folder


def test_empty_folder(searcher, tmp_path):
    (tmp_path / 'empty').mkdir()
    (tmp_path / 'empty' / 'notes.txt').write_text('not an image')
    with pytest.raises(ValueError, match='No gallery images found in'):
        searcher.index(str(tmp_path / 'empty'), show_progress=False)


def test_gallery_without_detections(searcher, image_dir, tmp_path):
    gallery = searcher.index(str(image_dir), show_progress=False)
    assert len(gallery) == 0 and len(gallery.sources) == 3
    assert gallery.embeddings.shape == (0, 4)
    gallery.save(str(tmp_path / 'empty.npz'))
    gallery = Gallery.load(str(tmp_path / 'empty.npz'))
    assert len(gallery) == 0 and len(gallery.sources) == 3
    query = str(image_dir / '0.jpg')
    assert searcher.search(gallery, query, [10, 20, 60, 140]) == []
    assert searcher.search(
        gallery, query, [10, 20, 60, 140], use_cbgm=True) == []


@pytest.mark.parametrize('bbox', [
    [410, 20, 460, 140],
    [60, 20, 10, 140],
    [10, 20, 10, 140],
    [-50, 20, -5, 140],
    [10, float('nan'), 60, 140],
])
def test_query_box_outside_or_empty(searcher, image_dir, bbox):
    gallery = searcher.index(str(image_dir), show_progress=False)
    shown = str(np.float32(bbox).tolist()).replace('[',
                                                   r'\[').replace(']', r'\]')
    with pytest.raises(
            ValueError,
            match=rf'Query box {shown} is empty or outside its image of '
            r'400x300 pixels\.'):
        searcher.search(gallery, str(image_dir / '0.jpg'), bbox)


@pytest.mark.parametrize('bbox', [[380, 20, 420, 140], [-5, 20, 60, 140]])
def test_query_box_over_the_border_is_clipped(searcher, image_dir, bbox):
    query, context = searcher.embed_query(str(image_dir / '0.jpg'), bbox)
    inside = np.clip(bbox, 0, [400, 300, 400, 300])
    expected, _ = searcher.embed_query(str(image_dir / '0.jpg'), inside)
    np.testing.assert_allclose(query, expected)


def test_query_box_of_wrong_length(searcher, image_dir):
    with pytest.raises(ValueError, match=r'A query box is \[x1, y1, x2, y2\]'):
        searcher.embed_query(str(image_dir / '0.jpg'), [1, 2, 3])


def test_unreadable_images(searcher, image_dir):
    broken = image_dir / '1.jpg'
    broken.write_bytes(broken.read_bytes()[:2000])
    with pytest.raises(
            ValueError, match=rf'{broken}: not a complete image file'):
        searcher.index(str(image_dir), show_progress=False)
    with pytest.raises(
            ValueError, match=rf'{broken}: not a complete image file'):
        searcher.embed_query(str(broken), [10, 20, 60, 140])
