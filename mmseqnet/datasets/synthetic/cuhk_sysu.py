"""A synthetic dataset in the original CUHK-SYSU file layout."""
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .appearance import sample_identities
from .planning import assign_identities, frame_people
from .scene import random_look, random_scene_style, render_frame
from .writing import (cell_column, compact_box, flag, save_mat, struct_array,
                      write_jpg)

STANDARD_GALLERY_SIZES = (50, 100, 500, 1000, 2000, 4000)
# Protocol quirks of the real files, reproduced by query number.
_SHARED_IMAGE_QUERIES = (0, 1)  # two queries from one image
_DUPLICATE_ENTRY_QUERY = 2  # a positive listed twice (like q1250)
_OWN_IMAGE_QUERY = 3  # the query image among its positives (like q2132)
# A box whose values are all < 256 (stored as uint8) but x + w > 255.
_UINT8_OVERFLOW_PLACEMENT = dict(centre_x=256.0, depth=0.6)
_HARD_VISIBILITY = 0.6


def generate_cuhk_sysu(out_dir: str,
                       *,
                       seed: int = 0,
                       num_train_images: int = 40,
                       num_test_images: int = 60,
                       num_identities: int = 40,
                       gallery_sizes: Optional[Sequence[int]] = None,
                       image_sizes: Sequence[Tuple[int, int]] = ((400, 300),
                                                                 (480, 270)),
                       num_places: int = 8,
                       max_identities_per_image: int = 3,
                       max_passersby: int = 2) -> dict:
    """Write a synthetic dataset in the CUHK-SYSU layout and formats.

    Writes ``Image/SSM/s<k>.jpg``, ``annotation/Images.mat``,
    ``annotation/pool.mat``, ``annotation/test/train_test/Train.mat``,
    ``TestG<N>.mat`` for each gallery size and
    ``annotation/test/subset/{Occlusion,Resolution}.mat``, with the quirks
    of the real files (see DATASETS_SPEC.md): every identity in >= 2
    images, uint8 / uint16 boxes including one uint8 box with x + w > 255, a
    zero-width box in each split, unlabeled (unreferenced) boxes, queries 0
    and 1 from one image, query 2 listing a positive twice, query 3 listing
    its own image, positives first. Every test identity is a query.

    Args:
        out_dir (str): Dataset root to create.
        seed (int): Random seed; the same seed writes the same data.
            Defaults to 0.
        num_train_images (int): Training images. Defaults to 40.
        num_test_images (int): Test images. Defaults to 60.
        num_identities (int): Labeled identities, split evenly between
            train and test (test gets at least 4). Defaults to 40.
        gallery_sizes (Sequence[int], optional): ``TestG<N>.mat`` files to
            write, from 50, 100, 500, 1000, 2000, 4000; each needs at least
            N + 1 test images. Defaults to None: every size that fits.
        image_sizes (Sequence[tuple[int, int]]): (width, height) of the
            places' images; widths >= 320. Defaults to ((400, 300),
            (480, 270)).
        num_places (int): Distinct places (background and colour cast).
            Defaults to 8.
        max_identities_per_image (int): Most labeled people in an image.
            Defaults to 3.
        max_passersby (int): Most unlabeled people in an image.
            Defaults to 2.

    Returns:
        dict: What was written, for checks: ``train_images``,
        ``test_images`` (names), ``num_train_identities``, ``queries``
        (dicts with ``img_name``, ``idname``, ``box``, ``positives``),
        ``gallery_sizes``, ``subsets`` ({'Occlusion1': query numbers,
        'Test_Size': ...}) and ``quirks``.
    """
    if any(w < 320 for w, _ in image_sizes):
        raise ValueError('image widths must be >= 320 to hold the uint8 box '
                         f'with x + w > 255, got {list(image_sizes)}')
    num_train_ids = num_identities // 2
    num_test_ids = num_identities - num_train_ids
    if num_train_ids < 1 or num_test_ids < 4:
        raise ValueError('num_identities must be >= 5 (the protocol quirks '
                         f'need 4 test identities), got {num_identities}')
    if num_test_images < 3 or num_train_images < 1:
        raise ValueError('need >= 3 test images and >= 1 training image')
    sizes = _fitting_gallery_sizes(gallery_sizes, num_test_images)
    rng = np.random.default_rng(seed)
    appearances = sample_identities(rng, num_identities)
    # Identity numbers in the files ('p<number>'), not contiguous.
    numbers = rng.choice(np.arange(1, 20 * num_identities), num_identities,
                         replace=False)
    places = [(random_scene_style(rng, image_sizes[i % len(image_sizes)]),
               random_look(rng)) for i in range(num_places)]

    num_images = num_train_images + num_test_images
    names = [f's{k + 1}.jpg' for k in range(num_images)]
    is_test = np.zeros(num_images, bool)
    is_test[rng.choice(num_images, num_test_images, replace=False)] = True
    splits = dict(train=np.flatnonzero(~is_test), test=np.flatnonzero(is_test))
    place_of = rng.integers(num_places, size=num_images)

    # Identities of each image; split identity i is global i (train) or
    # num_train_ids + i (test).
    members: Dict[int, List[int]] = {}
    placement: Dict[int, Dict[int, dict]] = {}
    for split, offset, count in (('train', 0, num_train_ids),
                                 ('test', num_train_ids, num_test_ids)):
        frames = splits[split]
        fixed = {}
        if split == 'test':
            fixed = {0: [0, 1], 1: [0, 2]}
        split_members = assign_identities(
            rng,
            count,
            place_of[frames],
            max_identities_per_image,
            fixed=fixed)
        for frame, local in zip(frames, split_members):
            members[int(frame)] = [offset + i for i in local]
        first = frames[next(f for f, m in enumerate(split_members) if 0 in m)]
        placement[int(first)] = {offset: _UINT8_OVERFLOW_PLACEMENT}

    # Render; records[k] = list of (xywh, identity or None, visibility).
    records: Dict[int, list] = {}
    for k in range(num_images):
        style, look = places[place_of[k]]
        specs, labels = frame_people(rng, members[k], appearances,
                                     max_passersby, placement.get(k))
        img, rendered = render_frame(rng, style, look, specs)
        write_jpg(osp.join(out_dir, 'Image', 'SSM', names[k]), img)
        records[k] = [(p.box.astype(int), label, p.visible)
                      for p, label in zip(rendered, labels)]
    quirks = dict(zero_width=[], uint8_overflow=[])
    for split in ('train', 'test'):
        k = int(splits[split][0])
        width, height = image_sizes[place_of[k] % len(image_sizes)]
        box = np.array([width // 3, height // 3, 0, height // 4])
        records[k].append((box, None, 1.0))
        quirks['zero_width'].append((names[k], box.tolist()))
    for k, people in placement.items():
        for xywh, label, _ in records[k]:
            if label in people:
                quirks['uint8_overflow'].append((names[k], xywh.tolist()))

    ann = osp.join(out_dir, 'annotation')
    save_mat(
        osp.join(ann, 'Images.mat'), {
            'Img':
            struct_array([
                dict(
                    imname=names[k],
                    nAppear=np.array([[len(records[k])]], np.uint8),
                    box=struct_array([
                        dict(
                            idlocate=compact_box(xywh),
                            ishard=flag(visible < _HARD_VISIBILITY))
                        for xywh, _, visible in records[k]
                    ], ['idlocate', 'ishard'])) for k in range(num_images)
            ], ['imname', 'nAppear', 'box'])
        })
    test_names = [names[k] for k in splits['test']]
    save_mat(osp.join(ann, 'pool.mat'), {'pool': cell_column(test_names)})

    appearances_of = {i: [] for i in range(num_identities)}
    for k in range(num_images):
        for xywh, label, visible in records[k]:
            if label is not None:
                appearances_of[label].append((names[k], xywh, visible))
    save_mat(
        osp.join(ann, 'test', 'train_test', 'Train.mat'), {
            'Train':
            cell_column([
                struct_array([
                    dict(
                        idname=f'p{numbers[i]}',
                        nAppear=np.array([[len(appearances_of[i])]],
                                         np.uint8),
                        scene=_entries(appearances_of[i]))
                ], ['idname', 'nAppear', 'scene'])
                for i in range(num_train_ids)
            ])
        })

    queries = _make_queries(rng, names[int(splits['test'][0])],
                            num_train_ids, num_identities, numbers,
                            appearances_of)
    galleries = {
        size: [_gallery(rng, query, test_names, size) for query in queries]
        for size in sizes
    }
    for size in sizes:
        _save_protocol(
            osp.join(ann, 'test', 'train_test', f'TestG{size}.mat'),
            f'TestG{size}', queries, galleries[size],
            range(len(queries)))
    # Harder subsets, with the galleries of the default protocol.
    base = galleries[100 if 100 in sizes else sizes[0]]
    count = max(2, round(0.1 * len(queries)))
    subsets = dict(
        Occlusion1=sorted(
            np.argsort([q['visible'] for q in queries],
                       kind='stable')[:count].tolist()),
        Test_Size=sorted(
            np.argsort([q['box'][3] for q in queries],
                       kind='stable')[:count].tolist()))
    for file_name, var in (('Occlusion.mat', 'Occlusion1'),
                           ('Resolution.mat', 'Test_Size')):
        _save_protocol(
            osp.join(ann, 'test', 'subset', file_name), var, queries, base,
            subsets[var])
    quirks.update(
        shared_query_image=queries[0]['img_name'],
        duplicate_entry_query=_DUPLICATE_ENTRY_QUERY,
        own_image_query=_OWN_IMAGE_QUERY)
    return dict(
        train_images=[names[k] for k in splits['train']],
        test_images=test_names,
        num_train_identities=num_train_ids,
        queries=[{
            key: q[key]
            for key in ('img_name', 'idname', 'box', 'positives')
        } for q in queries],
        gallery_sizes=list(sizes),
        subsets=subsets,
        quirks=quirks)


def _fitting_gallery_sizes(gallery_sizes: Optional[Sequence[int]],
                           num_test_images: int) -> List[int]:
    """Check or choose the gallery sizes (a gallery excludes its query's
    image, so size N needs N + 1 test images)."""
    if gallery_sizes is None:
        sizes = [n for n in STANDARD_GALLERY_SIZES if n < num_test_images]
        if not sizes:
            raise ValueError(
                f'{num_test_images} test images are too few for any '
                f'gallery size {STANDARD_GALLERY_SIZES}: need at least 51')
        return sizes
    bad = [
        n for n in gallery_sizes
        if n not in STANDARD_GALLERY_SIZES or n >= num_test_images
    ]
    if bad or not gallery_sizes:
        raise ValueError(
            f'gallery_sizes must be a non-empty subset of '
            f'{STANDARD_GALLERY_SIZES} below num_test_images '
            f'({num_test_images}), got {list(gallery_sizes)}')
    return sorted(gallery_sizes)


def _entries(
        items: List[Tuple[str, Optional[np.ndarray], float]]) -> np.ndarray:
    """1 x n struct of (imname, idlocate, ishard) from (name, xywh,
    visibility); no box -> empty fields, as in the real files."""
    empty = np.zeros((1, 0))
    return struct_array([
        dict(
            imname=name,
            idlocate=empty if xywh is None else compact_box(xywh),
            ishard=empty if xywh is None else flag(
                visible < _HARD_VISIBILITY))
        for name, xywh, visible in items
    ], ['imname', 'idlocate', 'ishard'])


def _make_queries(rng: np.random.Generator, shared_image: str,
                  first_test_id: int, num_identities: int,
                  numbers: np.ndarray, appearances_of: Dict[int,
                                                            list]) -> list:
    """One query per test identity, with its positives (first)."""
    queries = []
    for rank, identity in enumerate(range(first_test_id, num_identities)):
        seen = appearances_of[identity]
        if rank in _SHARED_IMAGE_QUERIES:
            query = next(a for a in seen if a[0] == shared_image)
        else:
            query = seen[int(rng.integers(len(seen)))]
        positives = [a for a in seen if a[0] != query[0]]
        positives = [positives[i] for i in rng.permutation(len(positives))]
        if rank == _DUPLICATE_ENTRY_QUERY:
            positives.insert(1, positives[0])
        elif rank == _OWN_IMAGE_QUERY:
            positives.append(query)
        queries.append(
            dict(
                img_name=query[0],
                box=query[1].tolist(),
                visible=query[2],
                idname=f'p{numbers[identity]}',
                positives=[(name, xywh.tolist(), visible)
                           for name, xywh, visible in positives]))
    return queries


def _gallery(rng: np.random.Generator, query: dict, test_names: List[str],
             size: int) -> list:
    """Positives first, then negatives, ``size`` entries in all."""
    contains = {name for name, _, _ in query['positives']}
    contains.add(query['img_name'])
    negatives = [name for name in test_names if name not in contains]
    count = size - len(query['positives'])
    if count > len(negatives):
        raise ValueError(
            f'gallery size {size} needs {count} negatives for query '
            f'{query["idname"]}, only {len(negatives)} test images left')
    chosen = rng.choice(len(negatives), count, replace=False)
    return [(name, np.array(xywh), visible)
            for name, xywh, visible in query['positives']] + [
                (negatives[i], None, 1.0) for i in chosen
            ]


def _save_protocol(path: str, var: str, queries: list, galleries: list,
                   selected: Sequence[int]) -> None:
    """Write queries ``selected`` with their galleries, TestG layout."""
    save_mat(
        path, {
            var:
            struct_array([
                dict(
                    Query=struct_array([
                        dict(
                            imname=queries[i]['img_name'],
                            idlocate=compact_box(queries[i]['box']),
                            ishard=flag(
                                queries[i]['visible'] < _HARD_VISIBILITY),
                            idname=queries[i]['idname'])
                    ], ['imname', 'idlocate', 'ishard', 'idname']),
                    Gallery=_entries(galleries[i])) for i in selected
            ], ['Query', 'Gallery'])
        })
