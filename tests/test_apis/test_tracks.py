"""Person tracks in video galleries: ByteTrack linking against the synthetic
videos' ground truth, and track ranking."""
import json
import sys
from collections import Counter

import mmcv
import numpy as np
import pytest
import torch
from mmdet.apis import init_detector

from mmseqnet.apis import (FRAME_SEPARATOR, Gallery, PersonSearcher,
                           link_tracks, rank_tracks, split_video_source)
from mmseqnet.datasets.synthetic import generate_videos
from mmseqnet.testing import REPO_ROOT, load_tool
from mmseqnet.visualization import PALETTE

# A detector misses people whose body is mostly hidden or out of view.
VISIBLE = 0.5
EMBEDDING_DIM = 128  # the light SeqNet config's


@pytest.fixture(scope='module')
def videos(tmp_path_factory):
    """Two short camera videos of the same two people and a passer-by."""
    root = tmp_path_factory.mktemp('videos')
    return generate_videos(
        str(root),
        seed=0,
        num_videos=2,
        num_identities=2,
        num_passersby=1,
        num_frames=60,
        frame_size=(256, 144))['videos']


def ground_truth_gallery(videos, frame_step=1, still_image=None, seed=0):
    """A gallery of the ground-truth boxes, as a perfect detector and
    re-identifier would index the videos: one unit embedding per person (a
    passer-by's walk its own) plus a little noise per detection.

    Returns:
        tuple[Gallery, np.ndarray, np.ndarray]: The gallery, each
        detection's walk (unique over the videos) and person id.
    """
    rng = np.random.default_rng(seed)
    sources, image_ids, boxes, walks, persons = [], [], [], [], []
    for number, video in enumerate(videos):
        for frame in video['ground_truth']['frames'][::frame_step]:
            sources.append(f"{video['video']}{FRAME_SEPARATOR}"
                           f"{frame['frame']}")
            for person in frame['people']:
                if person['visible'] >= VISIBLE:
                    image_ids.append(len(sources) - 1)
                    boxes.append(person['box'])
                    walks.append(100 * number + person['walk'])
                    persons.append(person['person_id'])
    if still_image is not None:
        sources.append(still_image)
        image_ids.append(len(sources) - 1)
        boxes.append([10, 10, 40, 100])
        walks.append(-1)
        persons.append(0)
    walks, persons = np.array(walks), np.array(persons)
    # Identity i -> vector i; a passer-by's walk -> a vector of its own.
    keys = np.where(persons >= 0, persons, 1000 + walks)
    _, vector_of = np.unique(keys, return_inverse=True)
    basis = rng.normal(size=(vector_of.max() + 1, EMBEDDING_DIM))
    embeddings = basis[vector_of] + 0.1 * rng.normal(
        size=(len(keys), EMBEDDING_DIM))
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    gallery = Gallery(
        sources=sources,
        image_ids=np.array(image_ids, np.int64),
        bboxes=np.array(boxes, np.float32).reshape(-1, 4),
        scores=rng.uniform(0.8, 1.0, len(boxes)).astype(np.float32),
        embeddings=embeddings.astype(np.float32))
    return gallery, walks, persons


def test_split_video_source():
    assert split_video_source('a/b.mp4#frame=12') == ('a/b.mp4', 12)
    assert split_video_source('a/b.jpg') == ('a/b.jpg', None)


# At 10 fps, people walk half their width from frame to frame at step 2,
# their boxes stop overlapping at step 4.
@pytest.mark.parametrize('frame_step', [1, 2, 4])
def test_link_tracks_one_track_per_walk(videos, tmp_path, frame_step):
    pytest.importorskip('trackers')
    still = str(tmp_path / 'still.jpg')
    mmcv.imwrite(np.zeros((144, 256, 3), np.uint8), still)
    gallery, walks, _ = ground_truth_gallery(videos, frame_step, still)
    track_ids = link_tracks(gallery)
    assert track_ids.dtype == np.int64 and track_ids.shape == (len(gallery),)
    assert track_ids[-1] == -1  # the still image
    tracked = track_ids >= 0
    # Purity: a track never mixes two walks (nor two videos).
    for track in np.unique(track_ids[tracked]):
        assert len(set(walks[track_ids == track])) == 1, track
    # Completeness: each walk is one track holding all but at most one of
    # its detections.
    for walk in np.unique(walks[walks >= 0]):
        counts = Counter(track_ids[walks == walk].tolist())
        (track, count), = [(t, n) for t, n in counts.items() if t >= 0]
        assert count >= (walks == walk).sum() - 1, (walk, counts)
    # Ids are numbered over the whole gallery, the second video's after the
    # first video's.
    first_video = np.array(
        [videos[0]['video'] in gallery.sources[i] for i in gallery.image_ids])
    assert set(track_ids[tracked & first_video]).isdisjoint(
        track_ids[tracked & ~first_video])
    assert sorted(set(track_ids[tracked])) == list(
        range(len(set(walks[walks >= 0]))))


@pytest.mark.parametrize('frame_step', [1, 4])
def test_rank_tracks_finds_the_query_person(videos, frame_step):
    pytest.importorskip('trackers')
    gallery, walks, persons = ground_truth_gallery(videos, frame_step)
    track_ids = link_tracks(gallery)
    query = gallery.embeddings[np.flatnonzero(persons == 1)[0]]
    similarities = gallery.embeddings @ query
    spans = rank_tracks(gallery, similarities, track_ids, topk=10)
    # Person 1 walks through both videos: its two walks come first.
    assert len(spans) == len(set(walks))
    for span in spans[:2]:
        rows = np.flatnonzero(track_ids == span.track_id)
        assert set(persons[rows]) == {1}
        truth = next(
            video['ground_truth'] for video in videos
            if video['video'] == span.video)
        # The frames where the person is in view enough to be detected.
        seen = [
            frame['frame'] for frame in truth['frames']
            for person in frame['people']
            if person['person_id'] == 1 and person['visible'] >= VISIBLE
        ]
        assert abs(span.start_frame - seen[0]) <= frame_step
        assert abs(span.end_frame - seen[-1]) <= frame_step
        assert span.frames == sorted(span.frames)
        assert len(span.frames) == len(span.boxes) == len(rows)
        assert span.frames[0] == span.start_frame
        assert span.frames[-1] == span.end_frame
        best = rows[np.argmax(similarities[rows])]
        assert span.best_similarity == pytest.approx(similarities[best])
        assert span.best_frame == split_video_source(
            gallery.sources[gallery.image_ids[best]])[1]
    assert {span.video for span in spans[:2]} == {
        video['video'] for video in videos}
    assert all(span.best_similarity < spans[1].best_similarity
               for span in spans[2:])


def walking_gallery(frames, boxes):
    """One video's gallery: ``boxes[i]`` (a list of xyxy) on ``frames[i]``,
    each detection with its own embedding."""
    sources = [f'v.mp4{FRAME_SEPARATOR}{f}' for f in frames]
    image_ids = np.concatenate(
        [np.full(len(b), i, np.int64) for i, b in enumerate(boxes)])
    flat = np.array([box for b in boxes for box in b], np.float32)
    return Gallery(sources, image_ids, flat.reshape(-1, 4),
                   np.full(len(flat), 0.9, np.float32),
                   np.eye(len(flat), dtype=np.float32))


def test_link_tracks_keeps_first_and_drops_lone_detections():
    pytest.importorskip('trackers')
    # A walker (5 px a frame) on frames 0-4, a lone detection on frame 2.
    boxes = [[[10 + 5 * f, 20, 40 + 5 * f, 100]] for f in range(5)]
    boxes[2].append([200, 20, 230, 100])
    track_ids = link_tracks(walking_gallery(range(5), boxes))
    # ByteTrack names a track at its second detection; the first one, which
    # started it, is in the track too.
    assert track_ids.tolist() == [0, 0, 0, -1, 0, 0]


@pytest.mark.parametrize('max_lost_frames, expected', [(30, [0, 0, 1, 1]),
                                                       (60, [0, 0, 0, 0])])
def test_link_tracks_counts_lost_time_in_frames(max_lost_frames, expected):
    pytest.importorskip('trackers')
    # Frames 0 and 2, then 40 video frames without the person (gallery
    # frames 10, 20, 30 hold nobody), then frames 42 and 44.
    frames = [0, 2, 10, 20, 30, 42, 44]
    box = [10, 20, 40, 100]
    boxes = [[box], [box], [], [], [], [box], [box]]
    track_ids = link_tracks(
        walking_gallery(frames, boxes), max_lost_frames=max_lost_frames)
    assert track_ids.tolist() == expected


def small_tracked_gallery():
    """Three frames of one video and an image; tracks 0 (rows 0, 2, 4) and
    1 (rows 1, 3); row 5 on the image."""
    sources = [f'v.mp4{FRAME_SEPARATOR}{i}' for i in (4, 6, 8)] + ['a.jpg']
    image_ids = np.array([0, 0, 1, 1, 2, 3])
    bboxes = np.arange(24, dtype=np.float32).reshape(6, 4)
    gallery = Gallery(sources, image_ids, bboxes, np.ones(6, np.float32),
                      np.eye(6, dtype=np.float32))
    return gallery, np.array([0, 1, 0, 1, 0, -1])


def test_rank_tracks_order_and_spans():
    gallery, track_ids = small_tracked_gallery()
    sims = np.array([0.2, 0.7, 0.9, 0.1, 0.3, 0.99], np.float32)
    spans = rank_tracks(gallery, sims, track_ids, topk=5)
    assert [s.track_id for s in spans] == [0, 1]
    first = spans[0]
    assert (first.video, first.start_frame, first.end_frame) == ('v.mp4', 4,
                                                                 8)
    assert first.frames == [4, 6, 8]
    assert first.boxes == gallery.bboxes[[0, 2, 4]].tolist()
    assert first.best_similarity == pytest.approx(0.9)
    assert first.best_frame == 6
    assert spans[1].frames == [4, 6] and spans[1].best_frame == 4
    assert [s.track_id for s in rank_tracks(gallery, sims, track_ids, 1)
            ] == [0]
    # Ties: the lower track id first.
    tied = rank_tracks(gallery, np.full(6, 0.5), track_ids)
    assert [s.track_id for s in tied] == [0, 1]


def test_rank_tracks_ignores_unscored_detections():
    gallery, track_ids = small_tracked_gallery()
    # An approximate index left out rows 2 and 3; track 1 keeps row 1.
    sims = np.array([0.2, 0.7, np.nan, -np.inf, 0.3, 0.99], np.float32)
    spans = rank_tracks(gallery, sims, track_ids)
    assert [s.track_id for s in spans] == [1, 0]
    assert spans[1].best_similarity == pytest.approx(0.3)
    assert spans[1].frames == [4, 6, 8]  # unscored detections stay in
    # A track none of whose detections was retrieved is not ranked.
    sims[[1, 3]] = np.nan
    assert [s.track_id for s in rank_tracks(gallery, sims, track_ids)] == [0]


def test_rank_tracks_checks_its_input():
    gallery, track_ids = small_tracked_gallery()
    with pytest.raises(ValueError, match='similarities has 5 values'):
        rank_tracks(gallery, np.zeros(5), track_ids)
    with pytest.raises(ValueError, match='track_ids has 4 values'):
        rank_tracks(gallery, np.zeros(6), track_ids[:4])
    with pytest.raises(ValueError, match='still images'):
        rank_tracks(gallery, np.zeros(6), np.zeros(6, np.int64))
    assert rank_tracks(gallery, np.zeros(6), np.full(6, -1)) == []


def test_search_tool_marks_the_track(videos, tmp_path, monkeypatch, capsys):
    """tools/search.py on a cached ground-truth gallery of one video: it
    links the tracks, caches them, ranks them and draws the best one."""
    pytest.importorskip('trackers')
    video = videos[0]['video']
    gallery, walks, persons = ground_truth_gallery(videos[:1])
    cache = str(tmp_path / 'gallery.npz')
    gallery.save(cache)
    light = str(REPO_ROOT / 'configs' / 'seqnet_light_synthetic_prw.py')
    torch.manual_seed(0)
    model = init_detector(light, checkpoint=None, device='cpu')
    model.init_weights()
    checkpoint = str(tmp_path / 'light.pth')
    torch.save({'state_dict': model.state_dict()}, checkpoint)
    truth = videos[0]['ground_truth']
    frame = truth['frames'][30]
    query_box = [str(v) for v in frame['people'][0]['box']]
    out = tmp_path / 'out'
    tool = load_tool('search.py')
    monkeypatch.setattr(sys, 'argv', [
        'search.py', light, checkpoint, '--query',
        f'{video}{FRAME_SEPARATOR}30', '--query-box', *query_box,
        '--gallery', video, '--gallery-cache', cache, '--topk', '5',
        '--out', str(out / 'result.jpg'), '--out-video',
        str(out / 'video.mp4'), '--tracks-json',
        str(out / 'tracks.json')
    ])
    out.mkdir()
    tool.main()
    printed = capsys.readouterr().out
    assert 'Top 3 tracks:' in printed and 'Tracks written to' in printed
    assert Gallery.load(cache).track_ids is not None

    with open(out / 'tracks.json') as f:
        spans = json.load(f)
    assert [s['rank'] for s in spans] == [1, 2, 3]
    # Each walk is one track (missing at most one detection).
    lengths = sorted(len(s['frames']) for s in spans)
    counts = sorted(int((walks == w).sum()) for w in set(walks))
    assert all(0 <= c - n <= 1 for n, c in zip(lengths, counts))
    best = spans[0]
    assert best['best_similarity'] >= spans[1]['best_similarity']
    assert set(best) >= {
        'video', 'track_id', 'start_frame', 'end_frame', 'frames', 'boxes',
        'best_similarity', 'best_frame'
    }

    annotated = mmcv.VideoReader(str(out / 'video.mp4'))
    assert len(annotated) == len(truth['frames'])
    # The best track's box is drawn thick in the correct colour (BGR, after
    # the codec), the others thin in the unlabeled colour.
    index = best['frames'][len(best['frames']) // 2]
    x1, y1, x2, y2 = (int(round(v)) for v in best['boxes'][len(
        best['frames']) // 2])
    # Most rows of its left edge (the line is a few pixels wide around x1;
    # the title tag or another track's box may cover some rows).
    strip = annotated[index][y1:y2, max(x1 - 3, 0):x1 + 2].astype(int)
    correct_bgr = np.array(PALETTE.correct[::-1])
    near = (np.abs(strip - correct_bgr).max(2) < 60).any(1)
    assert near.mean() > 0.6, strip
    # Its span is written in the title tag of the frames it covers.
    tag = annotated[index][2:10, 2:60].reshape(-1, 3).astype(int)
    title_bgr = np.array(PALETTE.title[::-1])
    assert (np.abs(tag - title_bgr).max(1) < 30).mean() > 0.3


def test_search_tracks_on_a_gallery_directory(videos, tmp_path):
    """PersonSearcher.search_tracks: the tracks stored in a memory-mapped
    gallery directory (Gallery.save_arrays adds them without rewriting the
    embeddings), ranked for the query as rank_tracks ranks them."""
    pytest.importorskip('trackers')
    gallery, walks, persons = ground_truth_gallery(videos)
    path = str(tmp_path / 'gallery')
    gallery.save(path)
    embeddings_file = tmp_path / 'gallery' / 'embeddings.npy'
    written = embeddings_file.stat().st_mtime_ns
    gallery = Gallery.load(path)
    gallery.track_ids = link_tracks(gallery)
    gallery.save_arrays(path, ['track_ids'])
    assert embeddings_file.stat().st_mtime_ns == written
    gallery = Gallery.load(path)
    assert isinstance(gallery.track_ids, np.memmap)

    light = str(REPO_ROOT / 'configs' / 'seqnet_light_synthetic_prw.py')
    searcher = PersonSearcher(init_detector(light, device='cpu'))
    query_row = np.flatnonzero(persons == 1)[0]
    query = np.array(gallery.embeddings[query_row])
    # The model is untrained: the query embedding is the ground truth's.
    searcher.embed_query = lambda image, bbox, return_gfn_filter: (
        query, query[None], None)
    spans = searcher.search_tracks(gallery, 'unused.jpg', [0, 0, 1, 1],
                                   topk=3, use_cbgm=True)
    sims = searcher.rank(gallery, query, query[None], 3,
                         use_cbgm=True).similarities
    assert spans == rank_tracks(gallery, sims, gallery.track_ids, 3)
    assert {persons[gallery.track_ids == span.track_id][0]
            for span in spans[:2]} == {1}
    with pytest.raises(ValueError, match='Gallery Filter Network'):
        searcher.search_tracks(gallery, 'unused.jpg', [0, 0, 1, 1],
                               use_gfn=True)

    other = Gallery(gallery.sources[:1], *(np.array(a[:0]) for a in (
        gallery.image_ids, gallery.bboxes, gallery.scores,
        gallery.embeddings)))
    with pytest.raises(ValueError, match='holds another gallery'):
        other.save_arrays(path, ['scores'])
