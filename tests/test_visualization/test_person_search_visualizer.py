"""PersonSearchVisualizer: the three pictures, in the palette's colours."""
import mmcv
import numpy as np
import pytest
from mmdet.registry import VISUALIZERS

from mmseqnet.datasets import UNLABELED_PERSON_ID
from mmseqnet.visualization import (PALETTE, PersonSearchVisualizer,
                                    person_id_color)


@pytest.fixture(scope='module')
def visualizer():
    return PersonSearchVisualizer(name='test_person_search_visualizer')


def scene(height=300, width=400):
    """A grey RGB frame with a pure red person at (50, 40)-(110, 200)."""
    img = np.full((height, width, 3), 128, np.uint8)
    img[40:200, 50:110] = (255, 0, 0)
    return img


def test_registered_in_mmdet():
    visualizer = VISUALIZERS.build(
        dict(type='PersonSearchVisualizer', name='test_registered'))
    assert isinstance(visualizer, PersonSearchVisualizer)


def test_person_id_color():
    assert person_id_color(7) == person_id_color(7)
    colours = {person_id_color(i) for i in range(20)}
    assert len(colours) == 20
    assert all(0 <= c <= 255 for colour in colours for c in colour)


def test_ranked_matches_colours_and_layout(visualizer):
    img = scene()
    box = [50, 40, 110, 200]
    picture = visualizer.draw_ranked_matches(
        img, box, [img, img, img], [box, box, [0, 0, 40, 80]],
        [0.9, 0.7, 0.1],
        correct=[True, False, True],
        tile_height=64)
    assert picture.dtype == np.uint8
    assert picture.shape[0] == 64 + 12 + 28
    # Tiles left to right, separated by 12 white columns: the frame colour
    # of each tile is its top-left pixel.
    starts = [0]
    white = np.all(picture[:64 + 12] == 255, axis=(0, 2))
    for x in range(1, picture.shape[1]):
        if white[x - 1] and not white[x]:
            starts.append(x)
    frames = [tuple(picture[0, x]) for x in starts]
    assert frames == [
        PALETTE.query, PALETTE.correct, PALETTE.wrong, PALETTE.correct
    ]
    # The crop keeps RGB: the red person stays red inside the query tile.
    assert tuple(picture[6 + 32, 6 + 10]) == (255, 0, 0)


def test_ranked_matches_neutral_file_and_paths(visualizer, tmp_path):
    img = scene()
    path = str(tmp_path / 'frame.jpg')
    mmcv.imwrite(img[..., ::-1], path)  # a file holds BGR
    out_file = str(tmp_path / 'out' / 'matches.png')
    picture = visualizer.draw_ranked_matches(
        path, [50, 40, 110, 200], [path], [[50, 40, 110, 200]], [0.5],
        tile_height=48,
        out_file=out_file)
    np.testing.assert_array_equal(
        mmcv.imread(out_file, channel_order='rgb'), picture)
    assert PALETTE.neutral in {tuple(c) for c in picture[0]}
    red = picture[6 + 24, 6 + 10].astype(int)  # JPEG: nearly pure red
    assert red[0] > 200 and red[1] < 60 and red[2] < 60
    with pytest.raises(ValueError, match='one entry per match'):
        visualizer.draw_ranked_matches(img, [0, 0, 9, 9], [img],
                                       [[0, 0, 9, 9]], [0.5, 0.4])
    with pytest.raises(FileNotFoundError, match='missing.jpg'):
        visualizer.draw_ranked_matches(
            str(tmp_path / 'missing.jpg'), [0, 0, 9, 9], [], [], [])
    (tmp_path / 'notes.jpg').write_text('not an image')
    with pytest.raises(ValueError, match='notes.jpg is not a readable'):
        visualizer.draw_ranked_matches(
            str(tmp_path / 'notes.jpg'), [0, 0, 9, 9], [], [], [])


def test_ranked_matches_caption_widens_narrow_tile(visualizer):
    img = scene()
    picture = visualizer.draw_ranked_matches(
        img, [50, 40, 52, 200], [], [], [],
        query_caption='a long query caption', tile_height=32)
    # The 8-pixel crop and its frame (20 pixels) grow to hold the caption.
    assert picture.shape[1] > 100
    assert tuple(picture[0, 0]) == PALETTE.query


def test_gallery_frame(visualizer):
    img = scene()
    bboxes = np.array([[20, 30, 120, 220], [200, 50, 260, 250]])
    picture = visualizer.draw_gallery_frame(
        img,
        bboxes, [3, UNLABELED_PERSON_ID],
        query_bbox=[300, 60, 360, 260],
        query_caption='query 3',
        title='frame.jpg')
    assert picture.shape == img.shape
    assert tuple(img[100, 20]) == (128, 128, 128)  # the input is kept
    # Left edges, half-way down (tags cover the top-left corners).
    assert tuple(picture[125, 20]) == person_id_color(3)
    assert tuple(picture[150, 200]) == PALETTE.unlabeled

    # On a 300-pixel frame a person's box is 1 pixel wide, the query's
    # thicker (OpenCV's thickness 3).
    def width(row, columns, colour):
        return int(np.all(picture[row, columns] == colour, axis=-1).sum())

    assert width(125, slice(10, 30), person_id_color(3)) == 1
    assert width(150, slice(190, 210), PALETTE.unlabeled) == 1
    assert width(160, slice(290, 310), PALETTE.query) >= 3
    with pytest.raises(ValueError, match='2 boxes but 1 person ids'):
        visualizer.draw_gallery_frame(img, bboxes, [3])


def test_video_frame(visualizer):
    img = scene()
    bboxes = np.array([[20, 30, 120, 220], [200, 50, 260, 250]])
    picture = visualizer.draw_video_frame(
        img, bboxes, [0.8, 0.2], sim_thr=0.5)
    assert picture.shape == img.shape
    assert tuple(picture[125, 21]) == PALETTE.correct  # a match is thick
    assert tuple(picture[150, 200]) == PALETTE.unlabeled
    assert tuple(picture[150, 201]) == (128, 128, 128)
    with pytest.raises(ValueError, match='2 boxes but 3 similarities'):
        visualizer.draw_video_frame(img, bboxes, [0.1, 0.2, 0.3])


def test_video_frame_marks_given_matches_and_title(visualizer):
    img = scene()
    bboxes = np.array([[20, 30, 120, 220], [200, 50, 260, 250]])
    # The matches given (a track), whatever their similarity.
    picture = visualizer.draw_video_frame(
        img, bboxes, [0.8, 0.2], matched=[False, True], title='track 3')
    assert tuple(picture[150, 201]) == PALETTE.correct
    assert tuple(picture[125, 21]) != PALETTE.correct
    assert PALETTE.title in {tuple(c) for c in picture[2, :40]}
    with pytest.raises(ValueError, match='2 similarities but 1 matched'):
        visualizer.draw_video_frame(img, bboxes, [0.8, 0.2], matched=[True])
