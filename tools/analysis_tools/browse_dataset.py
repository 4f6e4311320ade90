"""Draw a person-search dataset's boxes and person ids into image files.

Drawn by ``PersonSearchVisualizer.draw_gallery_frame``: each labeled person
gets a colour of its own (the same id has the same colour in every image)
and an ``id <n>`` tag; unlabeled persons get the palette's unlabeled colour
and an ``unlabeled`` tag. In the test split, query items are drawn with
their query box thick in the query colour, tagged ``query <n>``. Boxes are
drawn on the original images, as the dataset stores them (no pipeline).

Example:
    python tools/analysis_tools/browse_dataset.py \
        configs/_base_/datasets/synthetic_prw.py --output-dir work_dirs/browse
"""
import argparse
import os
import os.path as osp
from typing import Optional

import numpy as np
from mmdet.registry import DATASETS
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

import mmseqnet  # noqa: F401  (registers the datasets)
from mmseqnet.visualization import PersonSearchVisualizer


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='config with the dataloaders')
    parser.add_argument(
        '--split', choices=['train', 'test'], default='train',
        help='the train_dataloader or the test_dataloader dataset')
    parser.add_argument('--output-dir', help='write one JPEG per item here')
    parser.add_argument('--max-images', type=int, default=20,
                        help='items to draw (<= 0: all)')
    parser.add_argument('--show', action='store_true',
                        help='also show each image in a window')
    parser.add_argument('--show-interval', type=float, default=2,
                        help='seconds per shown image')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    args = parser.parse_args()
    if args.output_dir is None and not args.show:
        parser.error('give --output-dir and/or --show')
    return args


def draw_item(item: dict,
              visualizer: PersonSearchVisualizer,
              out_file: Optional[str] = None) -> np.ndarray:
    """Draw one dataset item (gallery or query) on its image.

    Args:
        item (dict): A dataset item (``get_data_info``).
        visualizer (PersonSearchVisualizer): Draws the item.
        out_file (str, optional): Where to write it. Defaults to None.

    Returns:
        np.ndarray: (H, W, 3) RGB picture.
    """
    query = item.get('sample_type') == 'query'
    return visualizer.draw_gallery_frame(
        item['img_path'],
        np.array([inst['bbox'] for inst in item['instances']]),
        [inst['person_id'] for inst in item['instances']],
        query_bbox=item['query_bbox'] if query else None,
        query_caption=f'query {item.get("query_person_id")}',
        title=f'{item["img_name"]}  cam {item["cam_id"]}  '
        f'{item["sample_type"]}',
        out_file=out_file)


def main() -> None:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    loader = cfg.train_dataloader if args.split == 'train' else \
        cfg.test_dataloader
    dataset_cfg = loader.dataset.copy()
    dataset_cfg.pipeline = []  # draw the stored annotations
    dataset = DATASETS.build(dataset_cfg)
    count = len(dataset) if args.max_images <= 0 else \
        min(args.max_images, len(dataset))
    if args.output_dir:
        os.makedirs(args.output_dir, exist_ok=True)
    visualizer = PersonSearchVisualizer(name='browse_dataset')
    for index in range(count):
        item = dataset.get_data_info(index)
        stem = osp.splitext(item['img_name'])[0]
        if item['sample_type'] == 'query':
            stem = f'query{item["query_index"]:05d}_{stem}'
        picture = draw_item(
            item,
            visualizer,
            out_file=osp.join(args.output_dir, f'{stem}.jpg')
            if args.output_dir else None)
        if args.show:
            visualizer.show(
                picture, win_name=stem, wait_time=args.show_interval)
    print(f'drew {count} of {len(dataset)} items'
          + (f' into {args.output_dir}' if args.output_dir else ''))


if __name__ == '__main__':
    main()
