"""Index folders, image lists and videos into a gallery directory, with one
process or many (torchrun, Slurm); a killed run resumes where it stopped.

Examples::

    python tools/index_gallery.py CONFIG CHECKPOINT \\
        --sources frames/ more_frames.txt camera1.mp4 --out gallery/
    tools/dist_index.sh CONFIG CHECKPOINT 4 --sources ... --out gallery/

The sources are cut into shards of ``--shard-size`` images; process ``rank``
of ``world_size`` indexes the shards ``i % world_size == rank`` in batches,
writes each one as it finishes and logs its progress (console and
``<out>/logs/``). Shards already written are skipped, so running the same
command again after a kill loses nothing. Once every shard is written,
rank 0 merges them into one memory-mapped gallery, ``Gallery.load(out)``,
and links the detections of each video into person tracks (``track_ids``;
needs the ``search`` extra); with ``--ann-index`` it also builds a
nearest-neighbour index of the gallery, ``<out>/index.faiss``, for
``tools/search.py --index`` and ``tools/search_page.py --index``.
"""
import os

# The imports below must come after the OpenMP setting: isort leaves them
# alone.
# isort: off
# Before torch starts OpenMP: waiting threads spin briefly, then sleep (why
# and measured: tools/train.py).
if not {'OMP_WAIT_POLICY', 'GOMP_SPINCOUNT'} & set(os.environ):
    os.environ['GOMP_SPINCOUNT'] = '3000'

import argparse  # noqa: E402
import contextlib  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os.path as osp  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from mmdet.utils import get_test_pipeline_cfg  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.dist import (barrier, broadcast_object_list,  # noqa: E402
                           get_dist_info)
from mmengine.logging import MMLogger  # noqa: E402

from mmseqnet.apis import (FRAME_SEPARATOR, Gallery,  # noqa: E402
                           GalleryIndex, PersonSearcher, ShardedGallery,
                           link_tracks, list_sources)
from mmseqnet.utils.dist import init_distributed  # noqa: E402
# isort: on


def parse_args():
    parser = argparse.ArgumentParser(
        description='Index gallery images and videos for person search')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='model checkpoint file')
    parser.add_argument(
        '--sources',
        nargs='+',
        required=True,
        help='folders of images, image lists (.txt, one path per line), '
        'images and video files')
    parser.add_argument(
        '--out', required=True, help='the gallery directory to write')
    parser.add_argument(
        '--shard-size',
        type=int,
        default=256,
        help='images per shard: the work a kill can lose')
    parser.add_argument(
        '--batch-size', type=int, default=4, help='images per forward pass')
    parser.add_argument(
        '--frame-step', type=int, default=1, help='index every n-th frame')
    parser.add_argument(
        '--score-thr',
        type=float,
        help='detection score threshold (default: the config '
        "PersonSearchMetric's det_score_thr)")
    parser.add_argument(
        '--ann-index',
        action='store_true',
        help='also build a nearest-neighbour index of the gallery, '
        '<out>/index.faiss (faiss, the search extra)')
    parser.add_argument(
        '--max-lost-frames',
        type=int,
        default=30,
        help='video frames a tracked person may stay undetected')
    parser.add_argument(
        '--device',
        help='default: the rank\'s GPU when there is one, else cpu')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm'],
        default='none',
        help='job launcher')
    parser.add_argument(
        '--dist-timeout',
        type=int,
        default=24 * 3600,
        help='seconds a rank may wait for the others at the end')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    return parser.parse_args()


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def fingerprint(args: argparse.Namespace) -> dict:
    """What determines the detections: the config's model, test pipeline
    and evaluator (score threshold), the checkpoint and the settings."""
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'Checkpoint {args.checkpoint} not found.')
    cfg = Config.fromfile(args.config)
    model_text = json.dumps(
        dict(
            model=cfg.model,
            pipeline=get_test_pipeline_cfg(cfg),
            evaluator=cfg.get('test_evaluator')),
        sort_keys=True,
        default=str)
    return dict(
        config_sha256=hashlib.sha256(model_text.encode()).hexdigest(),
        checkpoint_sha256=file_sha256(args.checkpoint),
        checkpoint_size=osp.getsize(args.checkpoint),
        frame_step=args.frame_step,
        score_thr=args.score_thr)


def prepare(args: argparse.Namespace) -> ShardedGallery:
    """Rank 0 lists the sources and starts or checks the gallery directory;
    the other ranks open it once it is ready (or stop if rank 0 failed)."""
    rank, _ = get_dist_info()
    error = None
    if rank == 0:
        try:
            ShardedGallery.prepare(
                args.out,
                list_sources(args.sources, args.frame_step),
                args.shard_size,
                fingerprint(args),
                info=dict(
                    config=osp.abspath(args.config),
                    checkpoint=osp.abspath(args.checkpoint),
                    created_by='tools/index_gallery.py'))
        except Exception as caught:  # the other ranks must hear of it too
            error = caught
    failure = [None if error is None else f'{type(error).__name__}: {error}']
    broadcast_object_list(failure)
    if error is not None:
        raise error
    if failure[0] is not None:
        raise SystemExit(f'[rank {rank}] stopped: rank 0 could not prepare '
                         f'{args.out} ({failure[0]})')
    return ShardedGallery(args.out)


def build_logger(out: str) -> MMLogger:
    """A logger writing one file per rank under ``<out>/logs/``, every rank
    also on the console (mmengine shows rank 0 only)."""
    os.makedirs(osp.join(out, 'logs'), exist_ok=True)
    logger = MMLogger.get_instance(
        f'index_gallery_{time.time_ns()}',
        log_file=osp.join(out, 'logs',
                          f'index_{time.strftime("%Y%m%d_%H%M%S")}.log'),
        distributed=True)
    for handler in logger.handlers:
        if type(handler) is logging.StreamHandler:
            handler.setLevel(logging.INFO)
    return logger


def index_shards(args: argparse.Namespace, gallery: ShardedGallery,
                 logger: MMLogger) -> None:
    """Index this rank's shards that are not written yet."""
    rank, world_size = get_dist_info()
    mine = list(range(rank, gallery.num_shards, world_size))
    todo = [index for index in mine if not gallery.is_done(index)]
    logger.info(f'[rank {rank}/{world_size}] {len(mine) - len(todo)} of '
                f'{len(mine)} shards already done, {len(todo)} to index')
    if not todo:
        return
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    searcher = PersonSearcher.from_config(
        args.config,
        args.checkpoint,
        device=device,
        batch_size=args.batch_size,
        score_thr=args.score_thr)
    started = time.time()
    images = 0
    for count, index in enumerate(todo, 1):
        start, end = gallery.shard_range(index)
        part = searcher.index_sources(
            gallery.sources[start:end], show_progress=False)
        gallery.write_shard(index, part)
        images += end - start
        elapsed = time.time() - started
        left = sum(
            gallery.shard_range(i)[1] - gallery.shard_range(i)[0]
            for i in todo[count:])
        logger.info(
            f'[rank {rank}/{world_size}] shard {index} (sources {start}-'
            f'{end - 1}) written: {len(part)} detections; {count}/{len(todo)} '
            f'shards, {images / elapsed:.2f} images/s, ETA '
            f'{left * elapsed / images:.0f} s')


def main():
    args = parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    distributed = args.launcher != 'none'
    if distributed:
        init_distributed(args.launcher, args.dist_timeout)
    with contextlib.ExitStack() as stack:
        if distributed:
            stack.callback(torch.distributed.destroy_process_group)
        gallery = prepare(args)
        logger = build_logger(args.out)
        rank, _ = get_dist_info()
        if gallery.complete:
            if rank == 0:
                manifest = gallery.manifest
                logger.info(f'{args.out} is complete already '
                            f'({manifest["num_sources"]} sources, '
                            f'{manifest["num_detections"]} detections): '
                            'nothing to do')
            return
        index_shards(args, gallery, logger)
        barrier()
        if rank == 0:
            merged = gallery.merge()
            logger.info(f'Merged {gallery.num_shards} shards into {args.out}: '
                        f'{len(merged.sources)} sources, {len(merged)} '
                        'detections; open it with Gallery.load')
            add_tracks(merged, args, logger)
            if args.ann_index:
                index = GalleryIndex().build(merged.embeddings)
                index.save(osp.join(args.out, 'index.faiss'))
                logger.info(f'{index.kind} index of {len(merged)} detections '
                            f'written to {args.out}/index.faiss')


def add_tracks(gallery: Gallery, args: argparse.Namespace,
               logger: MMLogger) -> None:
    """Link the detections of the gallery's videos into person tracks, once
    every shard is in: a track may cross shards."""
    if not any(FRAME_SEPARATOR in source for source in gallery.sources):
        return
    try:
        gallery.track_ids = link_tracks(gallery, args.max_lost_frames)
    except ImportError as error:
        logger.warning(f'No person tracks: {error}')
        return
    gallery.save_arrays(args.out, ['track_ids'])
    linked = gallery.track_ids[gallery.track_ids >= 0]
    logger.info(f'Linked {len(linked)} of {len(gallery)} video detections '
                f'into {len(np.unique(linked))} person tracks')


if __name__ == '__main__':
    main()
