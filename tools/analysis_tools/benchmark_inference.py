"""Speed of SeqNet inference and of searching a gallery.

1. Gallery inference: frames per second on frames of ``--size`` (default
   900x1500, the paper's input), after warm-up, median over the frames;
   the data pipeline's resize/normalise included, image decoding not.
2. Search: time per query against galleries of growing size (the paper's
   Tables 5 and 7 setting): the query's embedding, then ranking every
   gallery detection, with and without CBGM.

Example::

    python tools/analysis_tools/benchmark_inference.py configs/seqnet_prw.py \\
        --checkpoint model.pth --device cuda --amp
"""
import argparse
import platform
import time

import numpy as np
import torch
from mmdet.apis import init_detector

from mmseqnet.apis import Gallery, PersonSearcher


def parse_args():
    parser = argparse.ArgumentParser(description='Benchmark SeqNet speed')
    parser.add_argument('config')
    parser.add_argument('--checkpoint', help='weights (default: random)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--amp', action='store_true',
                        help='float16 autocast (CUDA)')
    parser.add_argument('--size', nargs=2, type=int, default=(900, 1500),
                        metavar=('H', 'W'), help='frame size')
    parser.add_argument('--frames', type=int, default=10,
                        help='timed frames')
    parser.add_argument('--warmup', type=int, default=2)
    parser.add_argument('--threads', type=int,
                        help='torch CPU threads (default: torch\'s)')
    parser.add_argument(
        '--gallery-sizes',
        nargs='+',
        type=int,
        default=[100, 1000, 6112, 20000],
        help='gallery frames for the search timing (6 persons each)')
    parser.add_argument('--queries', type=int, default=20,
                        help='queries timed per gallery size')
    return parser.parse_args()


def synchronize(device):
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def time_gallery_inference(searcher, args):
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (*args.size, 3), dtype=np.uint8)
    times = []
    for i in range(args.warmup + args.frames):
        synchronize(args.device)
        start = time.perf_counter()
        with torch.autocast(
                device_type=args.device.split(':')[0],
                dtype=torch.float16,
                enabled=args.amp):
            searcher.detect([frame])
        synchronize(args.device)
        if i >= args.warmup:
            times.append(time.perf_counter() - start)
    return float(np.median(times)), frame


def random_gallery(num_frames, dim, rng):
    per_frame = 6
    image_ids = np.repeat(np.arange(num_frames), per_frame)
    embeddings = rng.standard_normal((len(image_ids), dim)).astype(np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    return Gallery(
        sources=[f'frame_{i}.jpg' for i in range(num_frames)],
        image_ids=image_ids,
        bboxes=np.tile([[0, 0, 50, 120]], (len(image_ids), 1)).astype(
            np.float32),
        scores=np.ones(len(image_ids), np.float32),
        embeddings=embeddings)


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    model = init_detector(args.config, args.checkpoint, device=args.device)
    searcher = PersonSearcher(model, batch_size=1)
    device_name = (torch.cuda.get_device_name(args.device)
                   if args.device.startswith('cuda') else
                   f'CPU ({platform.processor() or platform.machine()}, '
                   f'{torch.get_num_threads()} threads)')
    dtype = 'float16 autocast' if args.amp else 'float32'
    print(f'config {args.config} | device {device_name} | {dtype} | '
          f'torch {torch.__version__}')

    seconds, frame = time_gallery_inference(searcher, args)
    print(f'gallery inference, {args.size[0]}x{args.size[1]} frames: '
          f'{seconds * 1000:.1f} ms per frame (median of {args.frames}), '
          f'{1 / seconds:.2f} fps')

    h, w = args.size
    box = [w * 0.4, h * 0.2, w * 0.5, h * 0.7]
    start = time.perf_counter()
    query, context = searcher.embed_query(frame, box)
    synchronize(args.device)
    print(f'query embedding (with CBGM context): '
          f'{(time.perf_counter() - start) * 1000:.1f} ms')

    rng = np.random.default_rng(0)
    print(f'{"gallery frames":>15s} {"detections":>11s} '
          f'{"rank ms/query":>14s} {"rank+CBGM ms/query":>19s}')
    for size in args.gallery_sizes:
        gallery = random_gallery(size, query.shape[0], rng)
        row = []
        for use_cbgm in (False, True):
            start = time.perf_counter()
            for _ in range(args.queries):
                searcher.rank(gallery, query, context, 10, use_cbgm)
            row.append((time.perf_counter() - start) / args.queries * 1000)
        print(f'{size:15d} {len(gallery):11d} {row[0]:14.2f} {row[1]:19.2f}')


if __name__ == '__main__':
    main()
