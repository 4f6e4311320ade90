"""Search a query person in a folder of images or a video.

Example::

    python tools/search.py configs/seqnet_prw.py model.pth \\
        --query query.jpg --query-box 100 50 160 230 \\
        --gallery frames/ --gallery-cache frames.gallery.npz \\
        --topk 5 --cbgm --out result.jpg

The gallery is indexed once and cached (``--gallery-cache``; a gallery
directory of ``tools/index_gallery.py`` is searched as it is, without
``--gallery``); later searches of the same gallery only embed the query.
``--index`` ranks only the candidates of a faiss index of the gallery
(built and saved there when missing). In a video gallery the detections
are linked from frame to frame into person tracks (ByteTrack, from the
``trackers`` package of the ``search`` extra; cached with the gallery), and
the tracks are ranked by their best detection: printed, and written with
``--tracks-json`` as time spans (video, track id, start and end frame, the
frames and boxes, best similarity and its frame). ``--out-video`` writes the
video with every detection tagged with its similarity to the query (after
CBGM with ``--cbgm``) and the best track's boxes in the palette's correct
colour, its span written in the corner; without tracks, the detections at
``--sim-thr`` or above are drawn as matches.
"""
import argparse
import dataclasses
import json
import os.path as osp
from typing import Optional

import cv2
import mmcv
import numpy as np

from mmseqnet.apis import (FRAME_SEPARATOR, Gallery, GalleryIndex,
                           PersonSearcher, TrackSpan, draw_search_result,
                           link_tracks, list_sources, rank_tracks, read_source,
                           split_video_source)
from mmseqnet.visualization import PersonSearchVisualizer


def parse_args():
    parser = argparse.ArgumentParser(description='Person search')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='model checkpoint file')
    parser.add_argument('--query', required=True, help='query image')
    parser.add_argument(
        '--query-box',
        nargs=4,
        type=float,
        required=True,
        metavar=('X1', 'Y1', 'X2', 'Y2'),
        help='the query person in the query image, in pixels')
    parser.add_argument(
        '--gallery',
        nargs='+',
        help='gallery images, folders of images, image lists (.txt) or '
        'video files (may be left out when --gallery-cache exists)')
    parser.add_argument(
        '--gallery-cache',
        help='gallery index (.npz file or gallery directory, e.g. of '
        'tools/index_gallery.py): read if it exists, else written')
    parser.add_argument(
        '--index',
        help='nearest-neighbour index of the gallery (faiss, the search '
        'extra; e.g. <gallery directory>/index.faiss): read if it exists, '
        'else built and written')
    parser.add_argument('--frame-step', type=int, default=1,
                        help='index every n-th video frame')
    parser.add_argument('--topk', type=int, default=10)
    parser.add_argument('--cbgm', action='store_true',
                        help='re-score with context bipartite graph matching')
    parser.add_argument(
        '--gfn',
        action='store_true',
        help='weight each gallery image by its Gallery Filter Network score')
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--out', default='search_result.jpg',
                        help='picture of the query and its top matches')
    parser.add_argument('--out-video',
                        help='annotated copy of a video gallery (.mp4)')
    parser.add_argument(
        '--sim-thr',
        type=float,
        default=0.5,
        help='similarity drawn as a match in --out-video when the gallery '
        'has no tracks')
    parser.add_argument('--tracks-json',
                        help='write the ranked person tracks (.json)')
    parser.add_argument(
        '--max-lost-frames',
        type=int,
        default=30,
        help='video frames a tracked person may stay undetected')
    return parser.parse_args()


def write_annotated_video(gallery: Gallery, sims: np.ndarray, out_file: str,
                          sim_thr: float, fps: float,
                          track: Optional[TrackSpan] = None) -> None:
    """Write the indexed frames with every detection's similarity drawn.

    With a ``track``, only the frames of its video are written, its
    detections drawn as the matches and its span in the corner of the
    frames it covers; otherwise every gallery image, with the detections at
    ``sim_thr`` or above as matches.
    """
    visualizer = PersonSearchVisualizer(name='search_video')
    writer = None
    for image_id, source in enumerate(gallery.sources):
        video, frame_index = split_video_source(source)
        if track is not None and video != track.video:
            continue
        rows = np.flatnonzero(gallery.image_ids == image_id)
        matched, title = None, None
        if track is not None:
            matched = gallery.track_ids[rows] == track.track_id
            if track.start_frame <= frame_index <= track.end_frame:
                title = (f'track {track.track_id}: frames '
                         f'{track.start_frame}-{track.end_frame}, best '
                         f'{track.best_similarity:.2f} at '
                         f'{track.best_frame}')
        frame = visualizer.draw_video_frame(
            mmcv.bgr2rgb(read_source(source)),
            gallery.bboxes[rows],
            sims[rows],
            sim_thr,
            step=image_id,
            matched=matched,
            title=title)
        if writer is None:
            h, w = frame.shape[:2]
            writer = cv2.VideoWriter(out_file,
                                     cv2.VideoWriter_fourcc(*'mp4v'), fps,
                                     (w, h))
        writer.write(mmcv.rgb2bgr(frame))
    if writer is not None:
        writer.release()


def add_tracks(gallery: Gallery, max_lost_frames: int,
               needed: bool) -> bool:
    """Link the video detections of a gallery into tracks, unless done.

    Returns:
        bool: Whether new tracks were linked (the cache needs saving).
    """
    if gallery.track_ids is not None or not any(
            FRAME_SEPARATOR in source for source in gallery.sources):
        return False
    try:
        gallery.track_ids = link_tracks(gallery, max_lost_frames)
    except ImportError as error:
        if needed:
            raise
        print(f'No person tracks: {error}')
        return False
    print(f'Linked {int((gallery.track_ids >= 0).sum())} of '
          f'{len(gallery)} detections into '
          f'{len(np.unique(gallery.track_ids[gallery.track_ids >= 0]))} '
          'tracks')
    return True


def open_index(path: str, gallery: Gallery) -> GalleryIndex:
    """The gallery's nearest-neighbour index at ``path``, built and
    written there first when it does not exist."""
    if osp.exists(path):
        index = GalleryIndex.load(path, gallery_size=len(gallery))
        print(f'Loaded the {index.kind} index {path}')
        return index
    index = GalleryIndex().build(gallery.embeddings)
    index.save(path)
    print(f'{index.kind} index of {len(gallery)} detections written to '
          f'{path}')
    return index


def main():
    args = parse_args()
    searcher = PersonSearcher.from_config(
        args.config,
        args.checkpoint,
        device=args.device,
        batch_size=args.batch_size)
    cached = bool(args.gallery_cache) and osp.exists(args.gallery_cache)
    if not cached and not args.gallery:
        raise ValueError('Give the gallery (--gallery), or an indexed one '
                         f'(--gallery-cache: {args.gallery_cache} does not '
                         'exist).')
    if cached:
        gallery = Gallery.load(args.gallery_cache)
        expected = list_sources(args.gallery, args.frame_step) \
            if args.gallery else gallery.sources
        if gallery.sources != expected:
            raise ValueError(
                f'{args.gallery_cache} indexes other images than --gallery; '
                'delete it or point --gallery-cache elsewhere.')
        print(f'Loaded {len(gallery.sources)} indexed images from '
              f'{args.gallery_cache}')
    else:
        gallery = searcher.index(args.gallery, frame_step=args.frame_step)
        print()
    linked = add_tracks(gallery, args.max_lost_frames,
                        needed=args.tracks_json is not None)
    if args.gallery_cache and not cached:
        gallery.save(args.gallery_cache)
        print(f'Index written to {args.gallery_cache}')
    elif args.gallery_cache and linked:
        gallery.save_arrays(args.gallery_cache, ['track_ids'])
        print(f'Tracks written to {args.gallery_cache}')

    query, context, gfn_filter = searcher.embed_query(
        args.query, args.query_box, return_gfn_filter=True)
    if args.gfn and gfn_filter is None:
        raise ValueError('--gfn needs a model with a Gallery Filter Network '
                         '(e.g. configs/seqnext/seqnext_gfn_prw.py).')
    matches, sims = searcher.rank(
        gallery, query, context, args.topk, use_cbgm=args.cbgm,
        gfn_filter=gfn_filter if args.gfn else None,
        index=open_index(args.index, gallery) if args.index else None)
    print(f'\nTop {len(matches)} matches:')
    for match in matches:
        box = ', '.join(f'{v:.0f}' for v in match.bbox)
        print(f'  #{match.rank:<3d} {match.similarity:.3f}  '
              f'{match.source}  [{box}]')
    draw_search_result(args.query, args.query_box, matches, args.out)
    print(f'Picture: {args.out}')

    spans = []
    if gallery.track_ids is not None:
        spans = rank_tracks(gallery, sims, gallery.track_ids, args.topk)
        print(f'\nTop {len(spans)} tracks:')
        for rank, span in enumerate(spans, 1):
            print(f'  #{rank:<3d} {span.best_similarity:.3f}  {span.video}  '
                  f'track {span.track_id}: frames {span.start_frame}-'
                  f'{span.end_frame} ({len(span.frames)} detections, best '
                  f'at {span.best_frame})')
    if args.tracks_json:
        with open(args.tracks_json, 'w') as f:
            # One span a line: a list of tracks, readable as it is.
            f.write('[\n' + ',\n'.join(
                json.dumps(dict(rank=rank, **dataclasses.asdict(span)))
                for rank, span in enumerate(spans, 1)) + '\n]\n')
        print(f'Tracks: {args.tracks_json}')

    if args.out_video:
        videos = list(
            dict.fromkeys(
                split_video_source(source)[0] for source in gallery.sources
                if FRAME_SEPARATOR in source))
        if not videos:
            raise ValueError('--out-video needs a video in the gallery.')
        track = spans[0] if spans else None
        video = track.video if track is not None else videos[0]
        fps = mmcv.VideoReader(video).fps / args.frame_step
        write_annotated_video(gallery, sims, args.out_video, args.sim_thr, fps,
                              track)
        print(f'Annotated video: {args.out_video}')


if __name__ == '__main__':
    main()
