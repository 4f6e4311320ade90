"""Synthetic surveillance videos: people walking across a camera's view.

Each camera films one street (a scene style and a colour look, as the image
datasets draw them); every identity walks across every camera's view once,
among unlabeled passers-by. A walk is a smooth trajectory: the person enters
at one side, walks at a steady pace (the legs swing with the distance
walked) while slowly coming nearer or going away, and leaves at the other
side. The first two walks of a video cross in the middle of the video at
different distances, so the nearer person hides the other for a while.
"""
import json
import os
import os.path as osp
from dataclasses import dataclass
from typing import List, Tuple

import cv2
import numpy as np

from mmseqnet.datasets.base_person_search import UNLABELED_PERSON_ID
from .appearance import PersonAppearance, random_appearance, sample_identities
from .scene import (MAX_PERSON_HEIGHT, MIN_PERSON_HEIGHT, PersonSpec,
                    SceneStyle, random_look, random_scene_style, render_frame)

# A stride (one leg swing) is this many body heights of distance walked.
_STRIDE = 0.4


@dataclass
class Walk:
    """One pass of a person across the view.

    Attributes:
        appearance (PersonAppearance): Who walks.
        person_id (int): The identity (shared by the cameras), or
            ``UNLABELED_PERSON_ID`` for a passer-by.
        start_frame (float): When the person steps in (body just outside
            the view).
        end_frame (float): When the person has stepped out.
        leftwards (bool): Walks from the right border to the left one.
        depth (tuple[float, float]): Distance at the start and at the end,
            see :class:`~mmseqnet.datasets.synthetic.scene.PersonSpec`.
        facing (str): ``'front'`` or ``'back'`` for the whole walk.
    """
    appearance: PersonAppearance
    person_id: int
    start_frame: float
    end_frame: float
    leftwards: bool
    depth: Tuple[float, float]
    facing: str

    def spec(self, frame: int, style: SceneStyle) -> PersonSpec:
        """Where the person is at ``frame`` (which must be inside the walk).

        Args:
            frame (int): Frame index.
            style (SceneStyle): The camera's scene (its size and horizon
                give the person's size in pixels).

        Returns:
            PersonSpec: The person's placement in that frame.
        """
        height, width = style.background.shape[:2]
        progress = (frame - self.start_frame) / (
            self.end_frame - self.start_frame)
        depth = self.depth[0] + progress * (self.depth[1] - self.depth[0])
        body = _body_height(height, depth, self.appearance.stature)
        # Start and end with the whole body outside the view.
        margin = 0.4 * body
        x = -margin + progress * (width + 2 * margin)
        distance = progress * (width + 2 * margin)
        return PersonSpec(
            self.appearance,
            centre_x=width - x if self.leftwards else x,
            depth=depth,
            facing=self.facing,
            phase=float(np.sin(2 * np.pi * distance / (_STRIDE * body))))


def _body_height(frame_height: int, depth: float, stature: float) -> float:
    """A person's height in pixels at ``depth``, as ``render_frame`` draws
    it."""
    max_height = min(MAX_PERSON_HEIGHT, int(0.6 * frame_height))
    return (MIN_PERSON_HEIGHT +
            (max_height - MIN_PERSON_HEIGHT) * depth) * stature


def plan_walks(rng: np.random.Generator, appearances: List[PersonAppearance],
               num_passersby: int, num_frames: int, fps: float,
               frame_size: Tuple[int, int]) -> List[Walk]:
    """Walks of every identity and of the passers-by through one view.

    People walk at 0.6 to 1 body height a second (about 1 to 1.7 m/s), so
    the walks are as long as in a real camera's view of that width; a walk
    longer than the video is seen in part (the person is already there at
    the start, or still there at the end).

    Args:
        rng (np.random.Generator): Random source.
        appearances (list[PersonAppearance]): The identities (person id =
            index), each walks once.
        num_passersby (int): Unlabeled people walking through.
        num_frames (int): Length of the video.
        fps (float): Its frame rate.
        frame_size (tuple[int, int]): (width, height).

    Returns:
        list[Walk]: The walks; the first two cross in the middle of the
        video, the far one behind the near one.
    """
    width, height = frame_size
    people = [(appearance, person_id)
              for person_id, appearance in enumerate(appearances)]
    people += [(random_appearance(rng), UNLABELED_PERSON_ID)
               for _ in range(num_passersby)]
    people = [people[i] for i in rng.permutation(len(people))]
    # Everyone keeps to a lane of their own (a depth), the crossing pair to
    # the farthest and the nearest: people walking side by side at one
    # depth would be one blob to any detector.
    lanes = np.linspace(0.25, 0.95, len(people))
    lanes = np.concatenate([lanes[[0, -1]],
                            rng.permutation(lanes[1:-1])])
    walks = []
    for index, (appearance, person_id) in enumerate(people):
        if index < 2:
            middle = num_frames / 2
            leftwards = bool(index)
            depth = (float(lanes[index]), ) * 2
        else:
            middle = rng.uniform(0.3, 0.7) * num_frames
            leftwards = bool(rng.random() < 0.5)
            drift = rng.uniform(-0.05, 0.05)
            depth = (float(lanes[index] - drift), float(lanes[index] + drift))
        body = _body_height(height, float(np.mean(depth)), appearance.stature)
        pixels_per_frame = rng.uniform(0.6, 1.0) * body / fps
        duration = (width + 0.8 * body) / pixels_per_frame
        walks.append(
            Walk(
                appearance=appearance,
                person_id=person_id,
                start_frame=middle - duration / 2,
                end_frame=middle + duration / 2,
                leftwards=leftwards,
                depth=depth,
                facing=str(rng.choice(['front', 'back']))))
    return walks


def write_video(rng: np.random.Generator, path: str, walks: List[Walk],
                num_frames: int, fps: float,
                frame_size: Tuple[int, int]) -> dict:
    """Render one camera's video and its ground truth.

    Args:
        rng (np.random.Generator): Random source.
        path (str): The ``.mp4`` file to write (mp4v).
        walks (list[Walk]): Who walks through the view, see
            :func:`plan_walks`.
        num_frames (int): Frames to write.
        fps (float): Frame rate written in the file.
        frame_size (tuple[int, int]): (width, height).

    Returns:
        dict: The ground truth (what :func:`generate_videos` writes as
        json): ``video`` (file name), ``fps``, ``width``, ``height``,
        ``num_frames``, ``walks`` (per walk ``walk``, ``person_id``,
        ``start_frame``, ``end_frame``: the first and last frame it is
        seen) and ``frames`` (per frame ``frame`` and ``people``: ``walk``,
        ``person_id``, ``box`` xyxy clipped to the frame, ``visible`` the
        fraction of the body's pixels seen).
    """
    style = random_scene_style(rng, frame_size)
    look = random_look(rng)
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps,
                             tuple(frame_size))
    if not writer.isOpened():
        raise OSError(f'cannot write {path} with the mp4v codec')
    width, height = frame_size
    frames = []
    seen = {}
    for frame in range(num_frames):
        inside = [
            index for index, walk in enumerate(walks)
            if walk.start_frame <= frame <= walk.end_frame
        ]
        # Steady people, no occluder popping in and out between frames.
        img, rendered = render_frame(
            rng,
            style,
            look, [walks[i].spec(frame, style) for i in inside],
            occluder_prob=0.0)
        writer.write(img)
        people = []
        for index, person in zip(inside, rendered):
            x, y, w, h = person.box.tolist()
            box = np.clip([x, y, x + w, y + h], 0,
                          [width, height, width, height])
            if person.visible == 0 or box[2] <= box[0] or box[3] <= box[1]:
                continue
            people.append(
                dict(
                    walk=index,
                    person_id=walks[index].person_id,
                    box=[float(v) for v in box],
                    visible=round(float(person.visible), 4)))
            seen.setdefault(index, []).append(frame)
        frames.append(dict(frame=frame, people=people))
    writer.release()
    return dict(
        video=osp.basename(path),
        fps=float(fps),
        width=width,
        height=height,
        num_frames=num_frames,
        walks=[
            dict(
                walk=index,
                person_id=walks[index].person_id,
                start_frame=seen[index][0],
                end_frame=seen[index][-1]) for index in sorted(seen)
        ],
        frames=frames)


def generate_videos(out_dir: str,
                    *,
                    seed: int = 0,
                    num_videos: int = 2,
                    num_identities: int = 3,
                    num_passersby: int = 1,
                    num_frames: int = 100,
                    fps: float = 10.0,
                    frame_size: Tuple[int, int] = (480, 270)) -> dict:
    """Write temporally coherent videos of people walking across cameras.

    Writes ``cam<k>.mp4`` (mp4v) and its ground truth ``cam<k>.json`` (see
    :func:`write_video`) for cameras 1 to ``num_videos``. The same
    identities (person ids 0 to ``num_identities - 1``) walk through every
    camera, so a person picked in one video can be searched in another.

    Args:
        out_dir (str): Folder to write into.
        seed (int): Random seed; the same seed draws the same people, walks
            and scenes. Defaults to 0.
        num_videos (int): Cameras, one video each. Defaults to 2.
        num_identities (int): Labeled people, each walking once through
            every camera. Defaults to 3.
        num_passersby (int): Unlabeled people per video. Defaults to 1.
        num_frames (int): Frames per video. Defaults to 100.
        fps (float): Frame rate. Defaults to 10.0.
        frame_size (tuple[int, int]): (width, height); the height must
            leave room for a person (>= 100). Defaults to (480, 270), the
            synthetic PRW frames' size.

    Returns:
        dict: ``videos``: per camera, ``video`` and ``annotations`` (the
        file paths) and ``ground_truth`` (the json's content).
    """
    if num_videos < 1 or num_frames < 2 or num_identities < 0 or \
            num_passersby < 0 or num_identities + num_passersby < 2:
        raise ValueError(
            'need >= 1 video of >= 2 frames and >= 2 people walking '
            f'(identities + passers-by), got num_videos={num_videos}, '
            f'num_frames={num_frames}, num_identities={num_identities}, '
            f'num_passersby={num_passersby}')
    if frame_size[1] < 100:
        raise ValueError(
            f'frame_size {tuple(frame_size)}: the height must be >= 100 '
            f'pixels (people are >= {MIN_PERSON_HEIGHT} pixels tall)')
    rng = np.random.default_rng(seed)
    appearances = sample_identities(rng, num_identities)
    videos = []
    for camera in range(1, num_videos + 1):
        walks = plan_walks(rng, appearances, num_passersby, num_frames,
                           fps, frame_size)
        video = osp.join(out_dir, f'cam{camera}.mp4')
        truth = write_video(rng, video, walks, num_frames, fps, frame_size)
        annotations = osp.join(out_dir, f'cam{camera}.json')
        with open(annotations, 'w') as f:
            json.dump(truth, f, indent=1)
        videos.append(
            dict(video=video, annotations=annotations, ground_truth=truth))
    return dict(videos=videos)
