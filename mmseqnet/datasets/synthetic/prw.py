"""A synthetic dataset in the original PRW file layout."""
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

import numpy as np

from .appearance import sample_identities
from .planning import assign_identities, frame_people
from .scene import random_look, random_scene_style, render_frame
from .writing import cell_column, save_mat, write_jpg

NUM_CAMERAS = 6
# PRW marks persons of unknown identity with -2.
UNKNOWN_ID = -2
# Cameras 1-5 are more frequent than camera 6, as in PRW.
_CAMERA_WEIGHTS = np.array([0.18, 0.18, 0.18, 0.18, 0.18, 0.10])
# Test identity 0 is seen twice by camera 1 and once by camera 2 (a
# same-camera and a cross-camera match for its camera-1 query); test
# identity 1's query is cut by the left border (negative x).
_SAME_AND_CROSS_CAMERA = (1, 1, 2)
_NEGATIVE_X_PLACEMENT = dict(centre_x=6.0, depth=0.5)
# The annotation variable of frame i: mostly box_new, some of the others.
_VARIABLE_CYCLE = ('box_new', 'box_new', 'box_new', 'anno_file', 'box_new',
                   'box_new', 'anno_previous')


def generate_prw(out_dir: str,
                 *,
                 seed: int = 0,
                 num_train_images: int = 40,
                 num_test_images: int = 40,
                 num_identities: int = 30,
                 num_test_identities: Optional[int] = None,
                 frame_size: Tuple[int, int] = (480, 270),
                 cam6_size: Tuple[int, int] = (300, 240),
                 max_identities_per_image: int = 3,
                 max_passersby: int = 2) -> dict:
    """Write a synthetic dataset in the PRW layout and formats.

    Writes ``frames/c<cam>s<seq>_<frame>.jpg``,
    ``annotations/<frame>.jpg.mat`` (``[pid, x, y, w, h]`` rows, non-integer
    coordinates, under ``box_new``, ``anno_file`` or ``anno_previous``),
    ``frame_train.mat``, ``frame_test.mat``, ``ID_train.mat``,
    ``ID_test.mat``, ``query_info.txt`` (CRLF) and ``query_box/`` crops,
    with the quirks of the real files (see DATASETS_SPEC.md): unknown
    persons (-2), non-contiguous training ids, a query box with negative
    x, an identity matched in the query's camera and in another one, camera
    6 frames of another size. Every identity is in >= 2 frames; test
    identities are seen by >= 2 cameras and queried in one or two of them
    (at most once per camera).

    Args:
        out_dir (str): Dataset root to create.
        seed (int): Random seed; the same seed writes the same data.
            Defaults to 0.
        num_train_images (int): Training frames (>= 2). Defaults to 40.
        num_test_images (int): Test frames (>= 4). Defaults to 40.
        num_identities (int): Labeled identities, train and test together.
            Defaults to 30.
        num_test_identities (int, optional): How many of them are test
            identities. Defaults to None (half, rounded up).
        frame_size (tuple[int, int]): (width, height) of cameras 1-5,
            16:9 like PRW's 1920x1080. Defaults to (480, 270).
        cam6_size (tuple[int, int]): (width, height) of camera 6, 5:4 like
            PRW's 720x576. Defaults to (300, 240).
        max_identities_per_image (int): Most labeled people in a frame.
            Defaults to 3.
        max_passersby (int): Most unknown (-2) people in a frame.
            Defaults to 2.

    Returns:
        dict: What was written, for checks: ``train_frames``,
        ``test_frames`` (names without extension), ``train_ids``,
        ``test_ids``, ``queries`` (dicts with ``pid``, ``frame``, ``box``)
        and ``quirks``.
    """
    if num_test_identities is None:
        num_test_identities = num_identities - num_identities // 2
    num_test_ids = num_test_identities
    num_train_ids = num_identities - num_test_ids
    if num_train_ids < 1 or num_test_ids < 2:
        raise ValueError('need >= 1 training and >= 2 test identities, got '
                         f'num_identities={num_identities}, '
                         f'num_test_identities={num_test_identities}')
    if num_train_images < 2 or num_test_images < 4 or (
            num_train_images + num_test_images < len(_VARIABLE_CYCLE)):
        raise ValueError('need >= 2 training and >= 4 test frames, 7 in all')
    rng = np.random.default_rng(seed)
    appearances = sample_identities(rng, num_identities)
    train_ids, test_ids = _prw_ids(rng, num_train_ids, num_test_ids)
    cameras = {
        cam: (random_scene_style(rng, cam6_size if cam == 6 else frame_size),
              random_look(rng))
        for cam in range(1, NUM_CAMERAS + 1)
    }

    split_cams = {}
    for split, count in (('train', num_train_images),
                         ('test', num_test_images)):
        cams = rng.choice(
            np.arange(1, NUM_CAMERAS + 1), count, p=_CAMERA_WEIGHTS)
        cams[-1] = 6  # camera 6 in both splits
        if split == 'test':
            cams[:len(_SAME_AND_CROSS_CAMERA)] = _SAME_AND_CROSS_CAMERA
        split_cams[split] = cams
    names = _frame_names(rng, split_cams)

    # Global identity index: train i -> i, test i -> num_train_ids + i.
    pid_of = np.concatenate([train_ids, test_ids])
    frames = []  # (split, name, cam, members, placement)
    for split, offset, count, min_cameras, fixed in (
        ('train', 0, num_train_ids, 1, None),
        ('test', num_train_ids, num_test_ids, 2,
         {0: list(range(len(_SAME_AND_CROSS_CAMERA)))}),
    ):
        members = assign_identities(
            rng,
            count,
            split_cams[split],
            max_identities_per_image,
            min_cameras=min_cameras,
            fixed=fixed)
        for i, (cam, local) in enumerate(zip(split_cams[split], members)):
            frames.append((split, names[split][i], int(cam),
                           [offset + m for m in local], {}))
    negative_x_id = num_train_ids + 1
    negative_x_frame = next(
        f for f in frames if f[0] == 'test' and negative_x_id in f[3])
    negative_x_frame[4][negative_x_id] = _NEGATIVE_X_PLACEMENT

    # rows[name] = (pid, x, y, w, h) float rows; appearances by identity.
    seen: Dict[int, List[Tuple[str, int, np.ndarray]]] = {
        i: []
        for i in range(num_identities)
    }
    images = {}
    variable_names = {}
    for index, (split, name, cam, members, placement) in enumerate(frames):
        style, look = cameras[cam]
        specs, labels = frame_people(rng, members, appearances,
                                     max_passersby, placement)
        img, rendered = render_frame(rng, style, look, specs)
        images[name] = img
        write_jpg(osp.join(out_dir, 'frames', f'{name}.jpg'), img)
        rows = []
        for person, label in zip(rendered, labels):
            # Hand-drawn boxes: sub-pixel, not integer.
            box = person.box + rng.uniform(-0.45, 0.45, size=4)
            pid = UNKNOWN_ID if label is None else pid_of[label]
            rows.append([pid, *box])
            if label is not None:
                seen[label].append((name, cam, box))
        variable = _VARIABLE_CYCLE[index % len(_VARIABLE_CYCLE)]
        variable_names[variable] = variable_names.get(variable, 0) + 1
        save_mat(
            osp.join(out_dir, 'annotations', f'{name}.jpg.mat'),
            {variable: np.array(rows, dtype=np.float64).reshape(-1, 5)})

    for split, var, file_name in (('train', 'img_index_train',
                                   'frame_train.mat'),
                                  ('test', 'img_index_test',
                                   'frame_test.mat')):
        save_mat(
            osp.join(out_dir, file_name),
            {var: cell_column(sorted(names[split]))})
    save_mat(
        osp.join(out_dir, 'ID_train.mat'),
        {'ID_train': np.sort(train_ids)[None].astype(np.float64)})
    save_mat(
        osp.join(out_dir, 'ID_test.mat'),
        {'ID_test2': np.sort(test_ids)[None].astype(np.float64)})

    queries = _choose_queries(rng, seen, pid_of, num_train_ids,
                              negative_x_frame[1])
    with open(osp.join(out_dir, 'query_info.txt'), 'w', newline='') as f:
        for q in queries:
            x, y, w, h = q['box']
            f.write(f'{q["pid"]} {x:.4f} {y:.4f} {w:.4f} {h:.4f} '
                    f'{q["frame"]}\r\n')
    os.makedirs(osp.join(out_dir, 'query_box'), exist_ok=True)
    for q in queries:
        x, y, w, h = q['box']
        img = images[q['frame']]
        crop = img[max(0, int(y)):int(np.ceil(y + h)),
                   max(0, int(x)):int(np.ceil(x + w))]
        write_jpg(
            osp.join(out_dir, 'query_box', f'{q["pid"]}_{q["frame"]}.jpg'),
            crop)

    return dict(
        train_frames=sorted(names['train']),
        test_frames=sorted(names['test']),
        train_ids=sorted(train_ids.tolist()),
        test_ids=sorted(test_ids.tolist()),
        queries=[dict(q, box=[float(v) for v in q['box']]) for q in queries],
        quirks=dict(
            negative_x_query=(int(pid_of[negative_x_id]),
                              negative_x_frame[1]),
            same_and_cross_camera=(int(pid_of[num_train_ids]), [
                name for name, _, _ in seen[num_train_ids]
            ]),
            non_contiguous_train_id=int(train_ids.max()),
            variable_names=variable_names))


def _prw_ids(rng: np.random.Generator, num_train: int,
             num_test: int) -> Tuple[np.ndarray, np.ndarray]:
    """PRW-like identity numbers: training ids 1..n with one number missing
    (it is a test id) and one far larger id, as PRW's 1..478, 480..483,
    932; test ids spread between them."""
    gap = num_train // 2 + 1
    largest = num_train + 3 * num_test + 50
    train = [v for v in range(1, num_train + 1) if v != gap][:num_train - 1]
    train.append(largest)
    others = rng.choice(
        np.arange(num_train + 1, largest), num_test - 1, replace=False)
    test = rng.permutation(np.concatenate([[gap], others]))
    return np.array(train, np.int64), test.astype(np.int64)


def _frame_names(rng: np.random.Generator,
                 split_cams: Dict[str, np.ndarray]) -> Dict[str, List[str]]:
    """``c<cam>s<seq>_<frame:06d>`` names, frame numbers increasing per
    camera and sequence, train and test frames interleaved in time."""
    order = [(split, i) for split, cams in split_cams.items()
             for i in range(len(cams))]
    order = [order[j] for j in rng.permutation(len(order))]
    counters: Dict[Tuple[int, int], int] = {}
    names = {split: [''] * len(cams) for split, cams in split_cams.items()}
    for split, i in order:
        cam = int(split_cams[split][i])
        seq = int(rng.integers(1, 3))
        number = counters.get((cam, seq), 0) + int(rng.integers(25, 400))
        counters[(cam, seq)] = number
        names[split][i] = f'c{cam}s{seq}_{number:06d}'
    return names


def _choose_queries(rng: np.random.Generator, seen: Dict[int, list],
                    pid_of: np.ndarray, first_test: int,
                    negative_x_frame: str) -> List[dict]:
    """At most one query per (identity, camera), one or two per identity.

    Test identity 0 is queried from its first frame (camera 1, matched
    again in camera 1 and in camera 2); identity 1 from its frame where
    it is cut by the left border.
    """
    queries = []
    for identity in range(first_test, len(pid_of)):
        by_camera: Dict[int, list] = {}
        for name, cam, box in seen[identity]:
            by_camera.setdefault(cam, []).append((name, box))
        if identity == first_test:
            name, _, box = seen[identity][0]
            chosen = [(name, box)]
        elif identity == first_test + 1:
            chosen = [
                next((name, box) for name, _, box in seen[identity]
                     if name == negative_x_frame)
            ]
        else:
            cams = sorted(by_camera)
            picked = rng.choice(
                cams, min(len(cams), int(rng.integers(1, 3))), replace=False)
            chosen = [
                by_camera[cam][int(rng.integers(len(by_camera[cam])))]
                for cam in picked
            ]
        for name, box in chosen:
            queries.append(
                dict(pid=int(pid_of[identity]), frame=name, box=box))
    return queries
