"""Draw each query with its top-k gallery matches from a search results file.

The results file is the per-query JSON that ``PersonSearchMetric`` writes
when given ``results_file``. One PNG per query, drawn by
``PersonSearchVisualizer.draw_ranked_matches``: the query crop (query colour,
captioned with its AP) followed by its k most similar gallery detections in
the correct or the wrong colour, each captioned with its rank and
similarity.

Example:
    python tools/analysis_tools/visualize_search.py work_dirs/search.json \
        data/PRW/frames vis/ --variant search_cbgm --only-wrong
"""
import argparse
import json
import os.path as osp
from typing import List, Optional

import numpy as np
from mmengine.utils import mkdir_or_exist

from mmseqnet.visualization import PersonSearchVisualizer


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


def draw_query(entry: dict, variant: str, img_dir: str, topk: int,
               crop_height: int, visualizer: PersonSearchVisualizer,
               out_file: Optional[str] = None) -> np.ndarray:
    """One row: the query crop and its top-k matches.

    Args:
        entry (dict): One query of the results file.
        variant (str): Gallery variant key, e.g. ``'search'``.
        img_dir (str): Folder holding the images named in the entry.
        topk (int): Matches to draw at most.
        crop_height (int): Height of every crop.
        visualizer (PersonSearchVisualizer): Draws the row.
        out_file (str, optional): Where to write it. Defaults to None.

    Returns:
        np.ndarray: (H, W, 3) uint8 RGB picture.
    """
    if variant not in entry:
        raise KeyError(f'query {entry.get("query_index")} has no {variant!r} '
                       f'results; available: '
                       f'{[k for k in entry if k.startswith("search")]}')
    result = entry[variant]
    matches = result['matches'][:topk]
    ap = 'n/a' if result['ap'] is None else f'{result["ap"]:.2f}'
    return visualizer.draw_ranked_matches(
        osp.join(img_dir, entry['img_name']),
        entry['bbox'], [osp.join(img_dir, m['img_name']) for m in matches],
        [m['bbox'] for m in matches], [m['similarity'] for m in matches],
        correct=[m['correct'] for m in matches],
        query_caption=f'query AP {ap}',
        tile_height=crop_height,
        out_file=out_file)


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
    visualizer = PersonSearchVisualizer(name='visualize_search')
    written = []
    for entry in queries:
        if max_queries is not None and len(written) >= max_queries:
            break
        if only_wrong and entry.get(variant, {}).get('top1_correct'):
            continue
        stem = osp.splitext(entry['img_name'])[0]
        path = osp.join(out_dir,
                        f'{entry["query_index"]:05d}_{stem}_{variant}.png')
        draw_query(entry, variant, img_dir, topk, crop_height, visualizer,
                   path)
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
