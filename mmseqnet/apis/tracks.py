"""Person tracks in video galleries.

A video gallery holds one entry per indexed frame
(``'<video>#frame=<index>'``). :func:`link_tracks` links each video's
detections from frame to frame into tracks with ByteTrack (the maintained
implementation of the ``trackers`` package, built on ``supervision``);
:func:`rank_tracks` turns a query's per-detection similarities into time
spans of those tracks, best first.
"""
from collections import defaultdict
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import numpy as np

from .gallery import FRAME_SEPARATOR, Gallery

# Tracker time runs in video frames: timestamps are frame / _TIME_BASE with
# the tracker's frame rate set to _TIME_BASE, so a gap of k frames (every
# k-th frame indexed, or frames without detections) is a Kalman step of k,
# and ByteTrack's lost buffer (counted in 1/30 s) is counted in frames.
_TIME_BASE = 30.0
# Detections are associated to tracks by distance-IoU (the IoU less the
# squared distance of the centres over the squared diagonal of the box
# holding both), down to -0.2, rather than by IoU >= 0.1: with every k-th
# frame indexed a walking person's boxes stop overlapping from k = 4 (at
# 10 fps), and distance-IoU still tells the nearest box. On the synthetic
# videos it links each walk into one track up to k = 5 where IoU breaks
# walks up from k = 4, and does as well at k = 1 and 2.
_ASSOCIATION_THRESHOLD = -0.2


@dataclass
class TrackSpan:
    """A tracked person's time span in a video, scored for a query.

    Attributes:
        video (str): The video file.
        track_id (int): The track (unique in the gallery).
        start_frame (int): First frame index of the track.
        end_frame (int): Last frame index of the track.
        frames (list[int]): Frame index of each of the track's detections,
            increasing.
        boxes (list[list[float]]): Their xyxy boxes, aligned with
            ``frames``.
        best_similarity (float): The highest similarity of a detection of
            the track to the query.
        best_frame (int): The frame of that detection.
    """
    video: str
    track_id: int
    start_frame: int
    end_frame: int
    frames: List[int]
    boxes: List[List[float]]
    best_similarity: float
    best_frame: int


def split_video_source(source: str) -> Tuple[str, Optional[int]]:
    """The video and frame index of a gallery source.

    Args:
        source (str): A gallery source (see :class:`Gallery`).

    Returns:
        tuple[str, int | None]: ``(video, frame)`` for a video frame,
        ``(source, None)`` for an image.
    """
    if FRAME_SEPARATOR not in source:
        return source, None
    video, frame = source.rsplit(FRAME_SEPARATOR, 1)
    return video, int(frame)


def link_tracks(gallery: Gallery,
                max_lost_frames: int = 30,
                **tracker_kwargs) -> np.ndarray:
    """Link the detections of each video of a gallery into person tracks.

    Each video's frames are run through one ``trackers.ByteTrackTracker``
    in frame order, boxes and detection scores as ``supervision``
    detections, each detection's gallery row passed along in their
    ``data``; detections are associated to tracks by distance-IoU (see
    ``_ASSOCIATION_THRESHOLD``). Frame gaps (``frame_step`` > 1 when
    indexing) are given to the tracker as time, so its motion model and
    lost buffer count video frames. ByteTrack names a track at its second
    detection and returns the first one, from which it started the track,
    untracked; that detection is given to its track here, so a track
    starts where the person was first detected.

    Args:
        gallery (Gallery): An indexed gallery; its video frames are
            ``'<video>#frame=<index>'`` sources.
        max_lost_frames (int): A person unseen for more video frames than
            this starts a new track when seen again. Defaults to 30.
        **tracker_kwargs: Other arguments of ``ByteTrackTracker``
            (``track_activation_threshold``, ``high_conf_det_threshold``,
            ...; ByteTrack's defaults otherwise), or other values for the
            association here: ``iou`` (``trackers.DIoU()``) and
            ``minimum_iou_threshold`` (-0.2).

    Returns:
        np.ndarray: (N,) int64 track id of each detection, unique across
        the gallery's videos, numbered from 0 in order of appearance; -1
        for detections of still images and those not in a track.

    Raises:
        ImportError: If the ``trackers`` package is not installed.
    """
    try:
        import supervision as sv
        from trackers import ByteTrackTracker, DIoU
    except ImportError as error:
        raise ImportError(
            'Linking video detections into tracks needs the trackers '
            'package (ByteTrack): pip install "mmseqnet[search]" or pip '
            'install trackers') from error
    if max_lost_frames < 0:
        raise ValueError(
            f'max_lost_frames must be >= 0, got {max_lost_frames}')
    num_images = len(gallery.sources)
    # Rows of image i: first[i]:first[i + 1] (image ids are non-decreasing).
    first = np.searchsorted(gallery.image_ids, np.arange(num_images + 1))
    frames_of: Dict[str, List[Tuple[int, int]]] = defaultdict(list)
    for image_id, source in enumerate(gallery.sources):
        video, frame = split_video_source(source)
        if frame is not None:
            frames_of[video].append((frame, image_id))

    track_ids = np.full(len(gallery), -1, np.int64)
    offset, named = 0, {}  # named: the video's tracker id -> gallery id
    for video, frames in frames_of.items():
        association = dict(
            iou=DIoU(), minimum_iou_threshold=_ASSOCIATION_THRESHOLD)
        association.update(tracker_kwargs)
        tracker = ByteTrackTracker(
            lost_track_buffer=max_lost_frames,
            frame_rate=_TIME_BASE,
            **association)
        offset, named = offset + len(named), {}
        started_by = {}  # id(tracklet) -> (tracklet, row that started it)
        for frame, image_id in sorted(frames):
            rows = np.arange(first[image_id], first[image_id + 1])
            boxes = gallery.bboxes[rows].astype(np.float32).reshape(-1, 4)
            # The tracklets before the update stay referenced, so a new
            # tracklet cannot reuse the id() of one pruned in the update.
            before = list(tracker.tracks)
            known = {id(track) for track in before}
            tracked = tracker.update(
                sv.Detections(
                    xyxy=boxes,
                    confidence=gallery.scores[rows].astype(np.float32),
                    data=dict(row=rows)),
                timestamp=frame / _TIME_BASE)
            # An empty result comes without the data passed in.
            for row, local_id in zip(tracked.data.get('row', ()),
                                     tracked.tracker_id):
                if local_id >= 0:
                    track_ids[row] = named.setdefault(
                        int(local_id), offset + len(named))
            for track in tracker.tracks:
                if id(track) not in known:
                    # A new tracklet's state is still the box it started
                    # from.
                    start = np.abs(boxes - track.get_state_bbox()).sum(1)
                    started_by[id(track)] = (track, rows[np.argmin(start)])
            alive = {id(track) for track in tracker.tracks}
            for key, (track, row) in list(started_by.items()):
                if track.tracker_id >= 0:
                    track_ids[row] = named.setdefault(
                        int(track.tracker_id), offset + len(named))
                if track.tracker_id >= 0 or key not in alive:
                    del started_by[key]
    return track_ids


def rank_tracks(gallery: Gallery,
                similarities: np.ndarray,
                track_ids: np.ndarray,
                topk: int = 10) -> List[TrackSpan]:
    """Rank the gallery's tracks for a query by their best detection.

    Args:
        gallery (Gallery): An indexed gallery.
        similarities (np.ndarray): (N,) similarity of each detection to
            the query (``PersonSearcher.rank(...).similarities``);
            non-finite values (detections an approximate index did not
            retrieve) are ignored.
        track_ids (np.ndarray): (N,) int track of each detection, -1 for
            none (see :func:`link_tracks`).
        topk (int): How many spans to return. Defaults to 10.

    Returns:
        list[TrackSpan]: The ``topk`` tracks with a finite similarity, by
        decreasing best similarity (ties: lower track id first). A span
        holds all of its track's detections, scored or not.
    """
    similarities = np.asarray(similarities).reshape(-1)
    track_ids = np.asarray(track_ids).reshape(-1)
    for what, values in (('similarities', similarities),
                         ('track_ids', track_ids)):
        if len(values) != len(gallery):
            raise ValueError(
                f'rank_tracks: {what} has {len(values)} values, the '
                f'gallery {len(gallery)} detections')
    rows = np.flatnonzero(track_ids >= 0)
    rows = rows[np.argsort(track_ids[rows], kind='stable')]
    if topk <= 0 or not len(rows):
        return []
    tracks, starts = np.unique(track_ids[rows], return_index=True)
    scores = similarities[rows].astype(np.float64)
    scores[~np.isfinite(scores)] = -np.inf
    best = np.maximum.reduceat(scores, starts)
    scored = np.flatnonzero(best > -np.inf)
    ranked = scored[np.lexsort((tracks[scored], -best[scored]))][:topk]
    ends = np.append(starts[1:], len(rows))
    spans = []
    for index in ranked:
        members = rows[starts[index]:ends[index]]
        located = [
            split_video_source(gallery.sources[i])
            for i in gallery.image_ids[members]
        ]
        if any(frame is None for _, frame in located):
            raise ValueError(
                f'rank_tracks: track {tracks[index]} holds detections of '
                'still images; track ids are for video frames')
        frames = np.array([frame for _, frame in located])
        order = np.argsort(frames, kind='stable')
        members, frames = members[order], frames[order]
        best_row = int(np.argmax(scores[starts[index]:ends[index]][order]))
        spans.append(
            TrackSpan(
                video=located[0][0],
                track_id=int(tracks[index]),
                start_frame=int(frames[0]),
                end_frame=int(frames[-1]),
                frames=frames.tolist(),
                boxes=gallery.bboxes[members].astype(float).tolist(),
                best_similarity=float(best[index]),
                best_frame=int(frames[best_row])))
    return spans
