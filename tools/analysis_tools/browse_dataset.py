"""Draw a person-search dataset's boxes and person ids into image files.

Each labeled person gets a colour of its own (the same id has the same
colour in every image) and an ``id <n>`` tag; unlabeled persons are grey
and tagged ``unlabeled``. In the test split, query items are drawn with
their query box in white, tagged ``query <n>``. Boxes are drawn on the
original images, as the dataset stores them (no pipeline).

Example:
    python tools/analysis_tools/browse_dataset.py \
        configs/_base_/datasets/synthetic_prw.py --output-dir work_dirs/browse
"""
import argparse
import os
import os.path as osp
from typing import Sequence

import cv2
import mmcv
import numpy as np
from mmdet.registry import DATASETS
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope

import mmseqnet  # noqa: F401  (registers the datasets)
from mmseqnet.datasets import UNLABELED_PERSON_ID

UNLABELED_COLOUR = (150, 150, 150)
QUERY_COLOUR = (255, 255, 255)


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


def id_colour(person_id: int) -> tuple:
    """A bright BGR colour fixed per person id."""
    hue = (person_id * 47) % 180  # spread neighbouring ids around the wheel
    hsv = np.uint8([[[hue, 220, 255]]])
    return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def draw_tag(img: np.ndarray, text: str, box: Sequence[float],
             colour: tuple) -> None:
    """Write ``text`` on a filled label above (or inside) the box."""
    x1, y1 = int(box[0]), int(box[1])
    scale = max(0.35, min(img.shape[:2]) / 900)
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    top = y1 - h - base - 2 if y1 - h - base - 2 >= 0 else y1
    cv2.rectangle(img, (x1, top), (x1 + w + 4, top + h + base + 2), colour,
                  -1)
    ink = (0, 0, 0) if sum(colour) > 380 else (255, 255, 255)
    cv2.putText(img, text, (x1 + 2, top + h + 1), cv2.FONT_HERSHEY_SIMPLEX,
                scale, ink, 1, cv2.LINE_AA)


def draw_item(item: dict) -> np.ndarray:
    """Draw one dataset item (gallery or query) on its image."""
    img = mmcv.imread(item['img_path'])
    thick = max(1, round(min(img.shape[:2]) / 300))
    for inst in item['instances']:
        pid = inst['person_id']
        labeled = pid != UNLABELED_PERSON_ID
        colour = id_colour(pid) if labeled else UNLABELED_COLOUR
        x1, y1, x2, y2 = (int(round(v)) for v in inst['bbox'])
        cv2.rectangle(img, (x1, y1), (x2, y2), colour, thick)
        draw_tag(img, f'id {pid}' if labeled else 'unlabeled', inst['bbox'],
                 colour)
    if item.get('sample_type') == 'query':
        x1, y1, x2, y2 = (int(round(v)) for v in item['query_bbox'])
        cv2.rectangle(img, (x1, y1), (x2, y2), QUERY_COLOUR, thick * 3)
        draw_tag(img, f'query {item["query_person_id"]}',
                 [x1, y2 + 2 + 12 * thick], QUERY_COLOUR)
    title = f'{item["img_name"]}  cam {item["cam_id"]}  {item["sample_type"]}'
    draw_tag(img, title, [0, 0], (40, 40, 40))
    return img


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
    for index in range(count):
        item = dataset.get_data_info(index)
        img = draw_item(item)
        stem = osp.splitext(item['img_name'])[0]
        if item['sample_type'] == 'query':
            stem = f'query{item["query_index"]:05d}_{stem}'
        if args.output_dir:
            mmcv.imwrite(img, osp.join(args.output_dir, f'{stem}.jpg'))
        if args.show:
            mmcv.imshow(img, stem, int(args.show_interval * 1000))
    print(f'drew {count} of {len(dataset)} items'
          + (f' into {args.output_dir}' if args.output_dir else ''))


if __name__ == '__main__':
    main()
