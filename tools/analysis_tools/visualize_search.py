"""Draw each query with its top-k gallery matches from a search results file.

The results file is the per-query JSON that ``PersonSearchMetric`` writes
when given ``results_file``. One PNG per query: the query crop (blue border)
followed by its k most similar gallery detections, green border when the
match is correct and red when it is wrong, each labelled with its rank and
similarity.

Example:
    python tools/analysis_tools/visualize_search.py work_dirs/search.json \
        data/PRW/frames vis/ --variant search_cbgm --only-wrong
"""
import argparse
import json
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import cv2
import mmcv
import numpy as np
from mmengine.utils import mkdir_or_exist

GREEN, RED, BLUE = (0, 170, 0), (0, 0, 220), (200, 90, 0)  # BGR


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Draw person-search queries with their top-k matches')
    parser.add_argument('results_file', help='per-query JSON of the metric')
    parser.add_argument('img_dir', help='folder holding the scene images')
    parser.add_argument('out_dir', help='where to write one PNG per query')
    parser.add_argument(
        '--variant',
        default='search',
        help="gallery variant key of each entry: 'search', 'search_cbgm', "
        "'search_mv', 'search_mv_cbgm'")
    parser.add_argument('--topk', type=int, default=10)
    parser.add_argument(
        '--only-wrong',
        action='store_true',
        help='draw only queries whose top-1 match is wrong')
    parser.add_argument('--max-queries', type=int, default=None)
    parser.add_argument('--crop-height', type=int, default=192)
    return parser.parse_args()


def crop_person(img: np.ndarray, bbox: Sequence[float], height: int,
                color: Tuple[int, int, int], caption: str) -> np.ndarray:
    """The box's crop, resized to ``height``, with a border and a caption.

    Args:
        img (np.ndarray): (H, W, 3) BGR scene image.
        bbox (Sequence[float]): xyxy box in image pixels.
        height (int): Crop height in pixels.
        color (Tuple[int, int, int]): BGR border color.
        caption (str): Text under the crop.

    Returns:
        np.ndarray: (height + 28, w + 8, 3) uint8 tile.
    """
    crop = mmcv.imcrop(img, np.asarray(bbox, dtype=np.float32))
    width = max(1, int(round(crop.shape[1] * height / max(crop.shape[0], 1))))
    crop = mmcv.imresize(crop, (width, height))
    # a caption needs room: at least 96 pixels wide
    tile = np.full((height + 28, max(width, 96) + 8, 3), 255, np.uint8)
    tile[:height + 8, :width + 8] = color
    tile[4:4 + height, 4:4 + width] = crop
    cv2.putText(tile, caption, (4, height + 22), cv2.FONT_HERSHEY_SIMPLEX,
                0.45, (0, 0, 0), 1, cv2.LINE_AA)
    return tile


def draw_query(entry: dict, variant: str, img_dir: str, topk: int,
               crop_height: int) -> np.ndarray:
    """One row: the query crop, a gap and its top-k matches.

    Args:
        entry (dict): One query of the results file.
        variant (str): Gallery variant key, e.g. ``'search'``.
        img_dir (str): Folder holding the images named in the entry.
        topk (int): Matches to draw at most.
        crop_height (int): Height of every crop.

    Returns:
        np.ndarray: (H, W, 3) uint8 BGR picture.
    """
    if variant not in entry:
        raise KeyError(f'query {entry.get("query_index")} has no {variant!r} '
                       f'results; available: '
                       f'{[k for k in entry if k.startswith("search")]}')
    result = entry[variant]
    ap = 'n/a' if result['ap'] is None else f'{result["ap"]:.2f}'
    tiles = [
        crop_person(
            mmcv.imread(osp.join(img_dir, entry['img_name'])), entry['bbox'],
            crop_height, BLUE, f'query AP {ap}')
    ]
    for rank, match in enumerate(result['matches'][:topk], start=1):
        tiles.append(
            crop_person(
                mmcv.imread(osp.join(img_dir, match['img_name'])),
                match['bbox'], crop_height, GREEN if match['correct'] else RED,
                f'{rank}: {match["similarity"]:.3f}'))
    height = max(t.shape[0] for t in tiles)
    tiles = [
        np.pad(
            t, ((0, height - t.shape[0]), (0, 0), (0, 0)), constant_values=255)
        for t in tiles
    ]
    gap = np.full((height, 24, 3), 255, np.uint8)
    return np.concatenate(tiles[:1] + [gap] + tiles[1:], axis=1)


def visualize(results_file: str,
              img_dir: str,
              out_dir: str,
              variant: str = 'search',
              topk: int = 10,
              only_wrong: bool = False,
              max_queries: Optional[int] = None,
              crop_height: int = 192) -> List[str]:
    """Write one PNG per query of ``results_file``.

    Args:
        results_file (str): The metric's per-query JSON.
        img_dir (str): Folder holding the scene images.
        out_dir (str): Output folder, created when missing.
        variant (str): Gallery variant key. Defaults to 'search'.
        topk (int): Matches per query. Defaults to 10.
        only_wrong (bool): Skip queries whose top-1 is correct.
            Defaults to False.
        max_queries (int, optional): Stop after this many pictures.
            Defaults to None (all).
        crop_height (int): Height of every crop. Defaults to 192.

    Returns:
        List[str]: Paths of the written pictures.
    """
    with open(results_file) as f:
        queries = json.load(f)['queries']
    mkdir_or_exist(out_dir)
    written = []
    for entry in queries:
        if max_queries is not None and len(written) >= max_queries:
            break
        if only_wrong and entry.get(variant, {}).get('top1_correct'):
            continue
        picture = draw_query(entry, variant, img_dir, topk, crop_height)
        stem = osp.splitext(entry['img_name'])[0]
        path = osp.join(out_dir,
                        f'{entry["query_index"]:05d}_{stem}_{variant}.png')
        mmcv.imwrite(picture, path)
        written.append(path)
    return written


def main() -> None:
    args = parse_args()
    written = visualize(args.results_file, args.img_dir, args.out_dir,
                        args.variant, args.topk, args.only_wrong,
                        args.max_queries, args.crop_height)
    print(f'wrote {len(written)} pictures to {args.out_dir}')


if __name__ == '__main__':
    main()
