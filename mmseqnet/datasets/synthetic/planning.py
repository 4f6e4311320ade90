"""Who appears in which frame."""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .appearance import PersonAppearance, random_appearance
from .scene import PersonSpec


def assign_identities(rng: np.random.Generator,
                      num_identities: int,
                      frame_cameras: Sequence[int],
                      max_per_frame: int,
                      max_appearances: int = 4,
                      min_cameras: int = 1,
                      fixed: Optional[Dict[int, List[int]]] = None
                      ) -> List[List[int]]:
    """Spread identities over frames, each in at least two frames.

    Frames are filled evenly (least-loaded first, random tie-break).

    Args:
        rng (np.random.Generator): Random source.
        num_identities (int): Identities to place (numbered from 0).
        frame_cameras (Sequence[int]): The camera of each frame.
        max_per_frame (int): Most identities in one frame.
        max_appearances (int): Most frames per identity. Defaults to 4.
        min_cameras (int): Cameras each identity must be seen by (when
            that many exist). Defaults to 1.
        fixed (dict[int, list[int]], optional): Frames forced for some
            identities (their whole list). Defaults to None.

    Returns:
        list[list[int]]: For each frame, the identities in it.

    Raises:
        ValueError: If the frames cannot hold every identity twice.
    """
    fixed = fixed or {}
    cameras = np.asarray(frame_cameras)
    load = np.zeros(len(cameras), np.int64)
    frames_of = []
    for identity in range(num_identities):
        if identity in fixed:
            chosen = list(fixed[identity])
        else:
            count = int(rng.integers(2, max_appearances + 1))
            chosen = []
            wanted_cameras = min(min_cameras, len(set(cameras.tolist())))
            # First one frame in each of `wanted_cameras` cameras, then any.
            for _ in range(count):
                seen = set(cameras[chosen].tolist())
                free = (load < max_per_frame)
                free[chosen] = False
                if len(seen) < wanted_cameras:
                    free &= ~np.isin(cameras, list(seen))
                candidates = np.flatnonzero(free)
                if candidates.size == 0:
                    break
                order = load[candidates] + rng.random(candidates.size)
                chosen.append(int(candidates[np.argmin(order)]))
            if len(chosen) < 2 or len(set(
                    cameras[chosen].tolist())) < wanted_cameras:
                raise ValueError(
                    f'{len(cameras)} frames cannot hold {num_identities} '
                    f'identities twice each (at most {max_per_frame} per '
                    'frame); generate more images or fewer identities')
        load[chosen] += 1
        frames_of.append(chosen)
    members = [[] for _ in cameras]
    for identity, chosen in enumerate(frames_of):
        for frame in chosen:
            members[frame].append(identity)
    return members


def frame_people(rng: np.random.Generator,
                 members: List[int],
                 appearances: Sequence[PersonAppearance],
                 max_passersby: int,
                 placement: Optional[Dict[int, dict]] = None
                 ) -> Tuple[List[PersonSpec], List[Optional[int]]]:
    """The people of one frame: its identities plus unlabeled passers-by.

    Args:
        rng (np.random.Generator): Random source.
        members (list[int]): Identities in the frame.
        appearances (Sequence[PersonAppearance]): Appearance per identity.
        max_passersby (int): Most passers-by (at least one person is
            always in the frame).
        placement (dict[int, dict], optional): ``PersonSpec`` placement
            arguments (``centre_x``, ``depth``) for some identities.
            Defaults to None.

    Returns:
        tuple[list[PersonSpec], list[int | None]]: The people, and their
        identity (None for passers-by).
    """
    placement = placement or {}
    specs = [
        PersonSpec(appearances[i], **placement.get(i, {})) for i in members
    ]
    labels: List[Optional[int]] = list(members)
    num_passersby = int(rng.integers(0 if members else 1, max_passersby + 1))
    for _ in range(num_passersby):
        specs.append(PersonSpec(random_appearance(rng)))
        labels.append(None)
    return specs, labels
