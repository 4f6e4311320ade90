"""Indexed gallery images: their sources (images, video frames) and the
detections and embeddings a person-search model gave them."""
import json
import os
import os.path as osp
from dataclasses import dataclass
from typing import List, Optional, Sequence, Union

import mmcv
import numpy as np

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.mpg', '.mpeg')
FRAME_SEPARATOR = '#frame='


@dataclass
class Gallery:
    """Detections and embeddings of a set of gallery images.

    Attributes:
        sources (list[str]): One entry per gallery image: an image path, or
            ``'<video path>#frame=<index>'`` for a video frame.
        image_ids (np.ndarray): (N,) int64, the source of each detection;
            non-decreasing.
        bboxes (np.ndarray): (N, 4) float32 xyxy boxes in source pixels.
        scores (np.ndarray): (N,) float32 detection scores.
        embeddings (np.ndarray): (N, D) float32 confidence-weighted
            embeddings (what the model outputs for gallery images).
        scene_embeddings (np.ndarray, optional): (M, D) float32 one per
            source, from a model with a Gallery Filter Network (GFN);
            None otherwise.
    """
    sources: List[str]
    image_ids: np.ndarray
    bboxes: np.ndarray
    scores: np.ndarray
    embeddings: np.ndarray
    scene_embeddings: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return len(self.scores)

    def save(self, path: str) -> None:
        """Write the gallery to an ``.npz`` file (no pickle inside)."""
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
        scenes = {} if self.scene_embeddings is None else dict(
            scene_embeddings=self.scene_embeddings)
        np.savez_compressed(
            path,
            sources=np.array(json.dumps(self.sources)),
            image_ids=self.image_ids,
            bboxes=self.bboxes,
            scores=self.scores,
            embeddings=self.embeddings,
            **scenes)

    @classmethod
    def load(cls, path: str) -> 'Gallery':
        """Read a gallery written by :meth:`save`."""
        if not osp.isfile(path):
            raise FileNotFoundError(f'Gallery file {path} does not exist.')
        with np.load(path, allow_pickle=False) as data:
            missing = {'sources', 'image_ids', 'bboxes', 'scores',
                       'embeddings'} - set(data.files)
            if missing:
                raise ValueError(
                    f'{path} is not a gallery file written by '
                    f'Gallery.save: missing {sorted(missing)}')
            return cls(
                sources=json.loads(str(data['sources'])),
                image_ids=data['image_ids'],
                bboxes=data['bboxes'],
                scores=data['scores'],
                embeddings=data['embeddings'],
                scene_embeddings=data['scene_embeddings']
                if 'scene_embeddings' in data.files else None)


def list_sources(sources: Union[str, Sequence[str]],
                 frame_step: int = 1) -> List[str]:
    """Expand a folder, a video file or a list of paths into gallery sources.

    Args:
        sources (str | Sequence[str]): An image, a folder of images (sorted,
            not recursive), a video file, or a list of any of these.
        frame_step (int): Keep every ``frame_step``-th video frame.
            Defaults to 1.

    Returns:
        list[str]: Image paths and ``'<video>#frame=<index>'`` entries.
    """
    if isinstance(sources, str):
        sources = [sources]
    expanded = []
    for source in sources:
        if osp.isdir(source):
            names = sorted(name for name in os.listdir(source)
                           if name.lower().endswith(IMAGE_EXTENSIONS))
            expanded.extend(osp.join(source, name) for name in names)
        elif source.lower().endswith(VIDEO_EXTENSIONS):
            if not osp.isfile(source):
                raise FileNotFoundError(f'Video {source} does not exist.')
            video = mmcv.VideoReader(source)
            expanded.extend(f'{source}{FRAME_SEPARATOR}{index}'
                            for index in range(0, len(video), frame_step))
        elif osp.isfile(source):
            expanded.append(source)
        else:
            raise FileNotFoundError(
                f'Gallery source {source} is not an image, a folder of '
                'images or a video file.')
    return expanded


def read_source(source: str) -> np.ndarray:
    """Read one gallery source (image path or video frame) as BGR uint8."""
    if FRAME_SEPARATOR in source:
        path, index = source.rsplit(FRAME_SEPARATOR, 1)
        frame = mmcv.VideoReader(path).get_frame(int(index))
        if frame is None:
            raise ValueError(f'Cannot read frame {index} of {path}.')
        return frame
    if not osp.isfile(source):
        raise FileNotFoundError(f'Image {source} does not exist.')
    image = mmcv.imread(source)
    if image is None:
        raise ValueError(f'{source} is not a readable image.')
    return image
