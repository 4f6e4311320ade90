"""The demo (``make demo``): person search from nothing to pictures.

1. writes a synthetic PRW-format dataset
   (``tools/misc/generate_synthetic_dataset.py``);
2. trains the light SeqNet configuration with ``mim train mmseqnet``;
3. evaluates the untrained and the trained model with ``mim test mmseqnet``
   (detection AP/recall, search mAP/top-1, with and without CBGM);
4. searches a few queries with :class:`mmseqnet.apis.PersonSearcher` and
   draws each query with its top matches (green = right person, red = wrong).

Everything lands under ``--work-dir`` (default ``work_dirs/demo``).
"""
import argparse
import dataclasses
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time

import numpy as np
import torch
from mmengine.config import Config

from mmseqnet.utils.machine import cpu_name

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
DEFAULT_CONFIG = 'configs/seqnet_light_synthetic_prw.py'
REPORTED = ('det_AP', 'det_recall', 'mAP', 'top1', 'mAP_cbgm', 'top1_cbgm')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config', default=DEFAULT_CONFIG)
    parser.add_argument('--data-root', default='data/synthetic_prw')
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-train-images', type=int, default=1440)
    parser.add_argument('--num-test-images', type=int, default=160)
    parser.add_argument('--num-identities', type=int, default=1200)
    parser.add_argument('--num-test-identities', type=int, default=120,
                        help='how many of the identities are test ones')
    parser.add_argument('--num-queries', type=int, default=6,
                        help='queries drawn with their matches')
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='passed on to mim train / mim test')
    return parser.parse_args()


def step(title):
    print(f'\n=== {title} ===', flush=True)


def run(cmd):
    print('$ ' + ' '.join(cmd), flush=True)
    subprocess.run(cmd, check=True, cwd=ROOT)


def make_dataset(args):
    """Generate the dataset unless the same one is already there."""
    recipe = dict(
        seed=args.seed,
        num_train_images=args.num_train_images,
        num_test_images=args.num_test_images,
        num_identities=args.num_identities,
        num_test_identities=args.num_test_identities)
    stamp = osp.join(args.data_root, 'mmseqnet_synthetic.json')
    if osp.isfile(stamp) and json.load(open(stamp)) == recipe:
        print(f'{args.data_root} is up to date')
        return
    run([
        sys.executable, 'tools/misc/generate_synthetic_dataset.py',
        '--format', 'prw', '--out', args.data_root, '--seed',
        str(args.seed), '--num-train-images',
        str(args.num_train_images), '--num-test-images',
        str(args.num_test_images), '--num-identities',
        str(args.num_identities), '--num-test-identities',
        str(args.num_test_identities)
    ])
    with open(stamp, 'w') as f:
        json.dump(recipe, f)


def save_untrained(cfg, path):
    """The model as training starts from it, to score the untrained model."""
    from mmdet.registry import MODELS
    from mmengine.logging import MMLogger
    from mmengine.registry import init_default_scope
    from mmengine.runner import set_random_seed

    # A quiet current logger: init_weights reports every parameter.
    MMLogger.get_instance('run_demo', log_level='WARNING')
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    set_random_seed(cfg.get('randomness', {}).get('seed') or 0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, path)


def latest_metrics(work_dir):
    """Metrics of the newest ``mim test`` run in ``work_dir``."""
    logs = sorted(glob.glob(osp.join(work_dir, '*', '*.json')))
    if not logs:
        raise FileNotFoundError(f'no test log in {work_dir}')
    with open(logs[-1]) as f:
        metrics = json.loads(f.read().strip().splitlines()[-1])
    return {k.split('/')[-1]: v for k, v in metrics.items()}


def query_person_hits(matches, query, by_path):
    """Which matches are the query person, by the protocol's rule: the
    person's box in that frame is hit with IoU >= ``search_iou_thr``, and
    only the best-ranked such match per frame counts."""
    from mmseqnet.evaluation.functional import bbox_iou, search_iou_thr

    hits, found = [], set()
    for m in matches:
        boxes = [i['bbox'] for i in by_path[m.source]['instances']
                 if i['person_id'] == query['person_id']]
        gt = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        hit = m.source not in found and bool(
            np.any(bbox_iou(np.asarray(m.bbox), gt) >= search_iou_thr(gt)))
        if hit:
            found.add(m.source)
        hits.append(hit)
    return hits


def search_examples(args, config, checkpoint, out_dir):
    """Index the test frames, search some queries, draw the results."""
    from mmseqnet.apis import PersonSearcher, draw_search_result
    from mmseqnet.datasets import PRWDataset

    dataset = PRWDataset(
        data_root=args.data_root,
        test_mode=True,
        pipeline=[],
        serialize_data=False)
    galleries = [d for d in dataset.data_list
                 if d['sample_type'] == 'gallery']
    by_path = {d['img_path']: d for d in galleries}
    searcher = PersonSearcher.from_config(config, checkpoint)
    gallery = searcher.index([d['img_path'] for d in galleries])
    gallery_file = osp.join(out_dir, 'test_frames.gallery.npz')
    gallery.save(gallery_file)
    print(f'\nindexed {len(gallery.sources)} frames, {len(gallery)} persons '
          f'-> {gallery_file}')

    queries = dataset.metainfo['queries']
    picks = np.linspace(0, len(queries) - 1, args.num_queries).astype(int)
    hits = 0
    for q in picks:
        query = queries[q]
        query_path = osp.join(dataset.data_prefix['img_path'],
                              query['img_name'])
        # Plain ranking: on this small synthetic gallery CBGM scores lower
        # (compare mAP and mAP_cbgm in the summary).
        matches = searcher.search(gallery, query_path, query['bbox'], topk=5)
        # Drop the query's own frame, as the protocol does, and rank again.
        matches = [
            dataclasses.replace(m, rank=rank) for rank, m in enumerate(
                (m for m in matches if m.source != query_path), 1)
        ]
        correct = query_person_hits(matches, query, by_path)
        hits += bool(correct and correct[0])
        out_file = osp.join(out_dir, f'query_{q:04d}.jpg')
        draw_search_result(query_path, query['bbox'], matches, out_file,
                           correct=correct)
        print(f'query {q} (person {query["person_id"]}): top-5 correct = '
              f'{correct} -> {out_file}')
    print(f'{hits}/{len(picks)} drawn queries have the right person first')


def median_iteration_time(work_dir):
    """Median seconds per training iteration logged by ``mim train``."""
    logs = sorted(glob.glob(osp.join(work_dir, '*', 'vis_data',
                                     'scalars.json')))
    if not logs:
        return float('nan')
    with open(logs[-1]) as f:
        times = [json.loads(line)['time'] for line in f if '"time"' in line]
    return float(np.median(times)) if times else float('nan')


def main():
    args = parse_args()
    os.chdir(ROOT)
    start = time.time()
    work_dir = args.work_dir
    os.makedirs(work_dir, exist_ok=True)
    data_options = [f'train_dataloader.dataset.data_root={args.data_root}',
                    f'test_dataloader.dataset.data_root={args.data_root}',
                    f'val_dataloader.dataset.data_root={args.data_root}']
    options = ['--cfg-options'] + data_options + args.cfg_options

    step('1/4 synthetic PRW-format dataset')
    make_dataset(args)

    step('2/4 training (mim train)')
    import mmseqnet  # noqa: F401  (registers the components)
    cfg = Config.fromfile(args.config)
    untrained = osp.join(work_dir, 'untrained.pth')
    save_untrained(cfg, untrained)
    train_start = time.time()
    run([sys.executable, '-m', 'mim', 'train', 'mmseqnet', args.config,
         '--work-dir', work_dir] + options)
    train_minutes = (time.time() - train_start) / 60
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()

    step('3/4 evaluation (mim test), untrained and trained')
    scores = {}
    for name, ckpt in (('untrained', untrained), ('trained', checkpoint)):
        test_dir = osp.join(work_dir, f'test_{name}')
        run([sys.executable, '-m', 'mim', 'test', 'mmseqnet', args.config,
             '--checkpoint', ckpt, '--work-dir', test_dir] + options)
        scores[name] = latest_metrics(test_dir)

    step('4/4 person search through the Python API')
    search_dir = osp.join(work_dir, 'search')
    os.makedirs(search_dir, exist_ok=True)
    search_examples(args, args.config, checkpoint, search_dir)

    step('summary')
    print(f'{"":10s}' + ''.join(f'{k:>12s}' for k in REPORTED))
    for name, metrics in scores.items():
        print(f'{name:10s}' + ''.join(f'{metrics.get(k, float("nan")):12.4f}'
                                      for k in REPORTED))
    print(f'\ncheckpoint: {checkpoint}\nlogs:       {work_dir}\n'
          f'pictures:   {search_dir}\n'
          f'machine:    {cpu_name()}, {os.cpu_count()} cores\n'
          f'training:   {train_minutes:.1f} min, '
          f'{median_iteration_time(work_dir):.3f} s per iteration (median)\n'
          f'total time: {(time.time() - start) / 60:.1f} min')


if __name__ == '__main__':
    main()
