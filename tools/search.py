"""Search a query person in a folder of images or a video.

Example::

    python tools/search.py configs/seqnet_prw.py model.pth \\
        --query query.jpg --query-box 100 50 160 230 \\
        --gallery frames/ --gallery-cache frames.gallery.npz \\
        --topk 5 --cbgm --out result.jpg

The gallery is indexed once and cached (``--gallery-cache``); later searches
of the same gallery only embed the query. For a video gallery,
``--out-video`` writes the video with every detection tagged with its
similarity to the query (after CBGM with ``--cbgm``), matches in the
palette's correct colour.
"""
import argparse
import os.path as osp

import cv2
import mmcv
import numpy as np

from mmseqnet.apis import (VIDEO_EXTENSIONS, Gallery, PersonSearcher,
                           draw_search_result, list_sources, read_source)
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
        required=True,
        help='gallery images, folders of images or video files')
    parser.add_argument(
        '--gallery-cache',
        help='gallery index file (.npz): read if it exists, else written')
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
    parser.add_argument('--sim-thr', type=float, default=0.5,
                        help='similarity drawn as a match in --out-video')
    return parser.parse_args()


def write_annotated_video(gallery: Gallery, sims: np.ndarray, out_file: str,
                          sim_thr: float, fps: float) -> None:
    """Write the indexed frames with every detection's similarity drawn."""
    visualizer = PersonSearchVisualizer(name='search_video')
    writer = None
    for image_id, source in enumerate(gallery.sources):
        rows = np.flatnonzero(gallery.image_ids == image_id)
        frame = visualizer.draw_video_frame(
            mmcv.bgr2rgb(read_source(source)),
            gallery.bboxes[rows],
            sims[rows],
            sim_thr,
            step=image_id)
        if writer is None:
            h, w = frame.shape[:2]
            writer = cv2.VideoWriter(out_file,
                                     cv2.VideoWriter_fourcc(*'mp4v'), fps,
                                     (w, h))
        writer.write(mmcv.rgb2bgr(frame))
    if writer is not None:
        writer.release()


def main():
    args = parse_args()
    searcher = PersonSearcher.from_config(
        args.config,
        args.checkpoint,
        device=args.device,
        batch_size=args.batch_size)
    if args.gallery_cache and osp.isfile(args.gallery_cache):
        gallery = Gallery.load(args.gallery_cache)
        expected = list_sources(args.gallery, args.frame_step)
        if gallery.sources != expected:
            raise ValueError(
                f'{args.gallery_cache} indexes other images than --gallery; '
                'delete it or point --gallery-cache elsewhere.')
        print(f'Loaded {len(gallery.sources)} indexed images from '
              f'{args.gallery_cache}')
    else:
        gallery = searcher.index(args.gallery, frame_step=args.frame_step)
        if args.gallery_cache:
            gallery.save(args.gallery_cache)
            print(f'\nIndex written to {args.gallery_cache}')

    query, context, gfn_filter = searcher.embed_query(
        args.query, args.query_box, return_gfn_filter=True)
    if args.gfn and gfn_filter is None:
        raise ValueError('--gfn needs a model with a Gallery Filter Network '
                         '(e.g. configs/seqnext/seqnext_gfn_prw.py).')
    matches, sims = searcher.rank(
        gallery, query, context, args.topk, use_cbgm=args.cbgm,
        gfn_filter=gfn_filter if args.gfn else None)
    print(f'\nTop {len(matches)} matches:')
    for match in matches:
        box = ', '.join(f'{v:.0f}' for v in match.bbox)
        print(f'  #{match.rank:<3d} {match.similarity:.3f}  '
              f'{match.source}  [{box}]')
    draw_search_result(args.query, args.query_box, matches, args.out)
    print(f'Picture: {args.out}')

    if args.out_video:
        videos = [
            s for s in args.gallery if s.lower().endswith(VIDEO_EXTENSIONS)
        ]
        if not videos:
            raise ValueError('--out-video needs a video file in --gallery.')
        video = videos[0]
        fps = mmcv.VideoReader(video).fps / args.frame_step
        write_annotated_video(gallery, sims, args.out_video, args.sim_thr, fps)
        print(f'Annotated video: {args.out_video}')


if __name__ == '__main__':
    main()
