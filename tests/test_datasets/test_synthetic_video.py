"""Synthetic camera videos: people walking across the view, ground truth."""
import json
import os.path as osp
import re
import sys

import mmcv
import numpy as np
import pytest

from mmseqnet.datasets import UNLABELED_PERSON_ID
from mmseqnet.datasets.synthetic import generate_videos
from mmseqnet.testing import load_tool

SIZE = (256, 144)
ARGS = dict(
    num_videos=2,
    num_identities=2,
    num_passersby=1,
    num_frames=50,
    fps=8.0,
    frame_size=SIZE)


@pytest.fixture(scope='module')
def videos(tmp_path_factory):
    root = tmp_path_factory.mktemp('synthetic_video')
    return generate_videos(str(root), seed=3, **ARGS)['videos']


def walk_boxes(truth, walk):
    """(frames, (F, 4) boxes, visible) of one walk."""
    rows = [(frame['frame'], person['box'], person['visible'])
            for frame in truth['frames'] for person in frame['people']
            if person['walk'] == walk]
    frames, boxes, visible = zip(*rows)
    return np.array(frames), np.array(boxes), np.array(visible)


def test_files_and_ground_truth(videos):
    assert [osp.basename(v['video']) for v in videos] == ['cam1.mp4',
                                                          'cam2.mp4']
    for video in videos:
        reader = mmcv.VideoReader(video['video'])
        assert len(reader) == ARGS['num_frames']
        assert (reader.width, reader.height) == SIZE
        assert reader.fps == pytest.approx(ARGS['fps'])
        with open(video['annotations']) as f:
            truth = json.load(f)
        assert truth == video['ground_truth']
        assert truth['video'] == osp.basename(video['video'])
        assert [f['frame'] for f in truth['frames']] == list(
            range(ARGS['num_frames']))
        # The identities walk through every camera, among passers-by.
        persons = sorted(w['person_id'] for w in truth['walks'])
        assert persons == [UNLABELED_PERSON_ID, 0, 1]
        for frame in truth['frames']:
            for person in frame['people']:
                x1, y1, x2, y2 = person['box']
                assert 0 <= x1 < x2 <= SIZE[0] and 0 <= y1 < y2 <= SIZE[1]
                assert 0 < person['visible'] <= 1


def test_walks_are_smooth_and_enter_and_leave(videos):
    width = SIZE[0]
    entering = leaving = 0
    for video in videos:
        truth = video['ground_truth']
        for walk in truth['walks']:
            frames, boxes, _ = walk_boxes(truth, walk['walk'])
            assert (frames[0], frames[-1]) == (walk['start_frame'],
                                               walk['end_frame'])
            # Seen in every frame from its first to its last one.
            assert np.array_equal(frames, np.arange(frames[0],
                                                    frames[-1] + 1))
            # Steady pace in one direction while the whole body is in view.
            inside = (boxes[:, 0] > 0) & (boxes[:, 2] < width)
            centres = boxes[inside][:, [0, 2]].mean(1)
            steps = np.diff(centres)
            assert len(steps) >= 10
            assert (np.sign(steps) == np.sign(np.median(steps))).all()
            assert np.abs(steps - np.median(steps)).max() <= 2
            entering += frames[0] > 0 and (boxes[0, 0] == 0
                                           or boxes[0, 2] == width)
            leaving += frames[-1] < ARGS['num_frames'] - 1 and (
                boxes[-1, 0] == 0 or boxes[-1, 2] == width)
    assert entering >= 2 and leaving >= 2


def test_crossing_people_occlude(videos):
    width = SIZE[0]
    for video in videos:
        truth = video['ground_truth']
        hidden = [
            person['visible'] for frame in truth['frames']
            for person in frame['people']
            if 0 < person['box'][0] and person['box'][2] < width
        ]
        # Someone in full view of the camera is partly hidden by another
        # person for a while.
        assert min(hidden) < 0.7


def test_people_are_where_the_ground_truth_says(videos):
    video = videos[0]
    truth = video['ground_truth']
    reader = mmcv.VideoReader(video['video'])
    frames, boxes, visible = walk_boxes(truth, truth['walks'][0]['walk'])
    # A frame where the person is in full view.
    shown = np.flatnonzero((visible > 0.95) & (boxes[:, 0] > 0)
                           & (boxes[:, 2] < SIZE[0]))
    frame, box = frames[shown[0]], boxes[shown[0]].astype(int)

    def overlaps(f):
        return any(
            p['box'][0] < box[2] and box[0] < p['box'][2]
            and p['box'][1] < box[3] and box[1] < p['box'][3]
            for p in truth['frames'][f]['people'])

    # The same pixels in a frame where nobody walks there: the background.
    empty = next(f for f in range(len(reader)) if not overlaps(f))
    x1, y1, x2, y2 = box
    person = reader[int(frame)][y1:y2, x1:x2].astype(float)
    background = reader[empty][y1:y2, x1:x2].astype(float)
    assert np.abs(person - background).mean() > 20
    # Where nobody walks in either frame, the two frames agree up to noise.
    sky = (slice(0, 8), slice(0, SIZE[0]))
    assert np.abs(reader[int(frame)][sky].astype(float) -
                  reader[empty][sky].astype(float)).mean() < 10


def test_deterministic_per_seed(tmp_path):
    args = dict(ARGS, num_videos=1, num_frames=6)
    first = generate_videos(str(tmp_path / 'a'), seed=5, **args)['videos']
    second = generate_videos(str(tmp_path / 'b'), seed=5, **args)['videos']
    other = generate_videos(str(tmp_path / 'c'), seed=6, **args)['videos']
    assert first[0]['ground_truth'] == second[0]['ground_truth']
    assert first[0]['ground_truth'] != other[0]['ground_truth']
    for a, b in zip(mmcv.VideoReader(first[0]['video']),
                    mmcv.VideoReader(second[0]['video'])):
        assert np.array_equal(a, b)


def test_rejects_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match='>= 2 people walking'):
        generate_videos(str(tmp_path), num_identities=1, num_passersby=0)
    with pytest.raises(ValueError, match='height must be >= 100'):
        generate_videos(str(tmp_path), frame_size=(160, 90))


def test_tool_writes_videos(tmp_path, monkeypatch, capsys):
    tool = load_tool('misc/generate_synthetic_dataset.py')
    out = tmp_path / 'videos'
    monkeypatch.setattr(sys, 'argv', [
        'generate_synthetic_dataset.py', '--format', 'video', '--out',
        str(out), '--num-videos', '1', '--num-frames', '4', '--frame-size',
        '160', '100'
    ])
    tool.main()
    assert re.search(r'cam1.mp4: 4 frames, \d people walking through',
                     capsys.readouterr().out)
    assert len(mmcv.VideoReader(str(out / 'cam1.mp4'))) == 4
    with open(out / 'cam1.json') as f:
        assert len(json.load(f)['walks']) <= 4
    monkeypatch.setattr(sys, 'argv', [
        'generate_synthetic_dataset.py', '--format', 'video', '--out',
        str(out), '--gallery-sizes', '50'
    ])
    with pytest.raises(SystemExit, match='--gallery-sizes does not apply'):
        tool.main()
