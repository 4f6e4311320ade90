"""Query-to-gallery person search on top of a SeqNet detector.

Typical use::

    searcher = PersonSearcher.from_config('configs/seqnet_prw.py', 'model.pth')
    gallery = searcher.index('frames/')          # or image paths, or a video
    gallery.save('frames.gallery.npz')           # index once, search often
    matches = searcher.search(gallery, 'query.jpg', [x1, y1, x2, y2], topk=5)
    draw_search_result('query.jpg', [x1, y1, x2, y2], matches, 'result.jpg')
"""
import json
import os
import os.path as osp
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple, Union

import cv2
import mmcv
import numpy as np
import torch
from mmcv.transforms import Compose
from mmdet.apis import init_detector
from mmdet.utils import get_test_pipeline_cfg
from mmengine.dataset import pseudo_collate
from mmengine.runner import CheckpointLoader
from mmengine.utils import ProgressBar

from mmseqnet.engine import check_checkpoint_fits
from mmseqnet.evaluation.functional import cbgm as cbgm_rescore

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.mpg', '.mpeg')
FRAME_SEPARATOR = '#frame='

ImageLike = Union[str, np.ndarray]


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
    """
    sources: List[str]
    image_ids: np.ndarray
    bboxes: np.ndarray
    scores: np.ndarray
    embeddings: np.ndarray

    def __len__(self) -> int:
        return len(self.scores)

    def save(self, path: str) -> None:
        """Write the gallery to an ``.npz`` file (no pickle inside)."""
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
        np.savez_compressed(
            path,
            sources=np.array(json.dumps(self.sources)),
            image_ids=self.image_ids,
            bboxes=self.bboxes,
            scores=self.scores,
            embeddings=self.embeddings)

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
                embeddings=data['embeddings'])


@dataclass
class SearchMatch:
    """One ranked gallery detection for a query."""
    rank: int
    source: str
    bbox: List[float]
    score: float
    similarity: float


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


class PersonSearcher:
    """Index gallery images with a SeqNet model and search them for a person.

    Args:
        model (torch.nn.Module): A SeqNet detector built by
            :func:`mmdet.apis.init_detector` (it carries its config).
        batch_size (int): Images per forward pass when indexing.
            Defaults to 4.
        score_thr (float): Detections below this score are not indexed.
            Defaults to 0.5 (the protocol's threshold).
        k1 (int): CBGM: gallery detections whose images are re-scored.
            Defaults to 30.
        k2 (int): CBGM: query-side persons, the query included.
            Defaults to 4.
    """

    def __init__(self,
                 model: torch.nn.Module,
                 batch_size: int = 4,
                 score_thr: float = 0.5,
                 k1: int = 30,
                 k2: int = 4) -> None:
        self.model = model.eval()
        self.batch_size = batch_size
        self.score_thr = score_thr
        self.k1 = k1
        self.k2 = k2
        pipeline = get_test_pipeline_cfg(model.cfg.copy())
        self._file_pipeline = Compose(pipeline)
        pipeline[0] = dict(type='mmdet.LoadImageFromNDArray')
        self._array_pipeline = Compose(pipeline)

    @classmethod
    def from_config(cls,
                    config: str,
                    checkpoint: Optional[str] = None,
                    device: str = 'cpu',
                    ignore_keys: Sequence[str] = (),
                    **kwargs) -> 'PersonSearcher':
        """Build the model with mmdet's ``init_detector`` and wrap it.

        A checkpoint that does not fit the model raises
        :class:`~mmseqnet.engine.CheckpointMismatchError` (``init_detector``
        only logs it), except for entries matching ``ignore_keys``
        (regular expressions).
        """
        import mmseqnet  # noqa: F401  (registers the SeqNet components)
        model = init_detector(config, checkpoint, device=device)
        if checkpoint is not None:
            check_checkpoint_fits(
                model,
                CheckpointLoader.load_checkpoint(
                    checkpoint, map_location='cpu'), checkpoint, ignore_keys)
        return cls(model, **kwargs)

    def _prepare(self, image: ImageLike, **meta) -> dict:
        if isinstance(image, np.ndarray):
            return self._array_pipeline(dict(img=image, img_id=0, **meta))
        if FRAME_SEPARATOR in image:
            return self._array_pipeline(
                dict(img=read_source(image), img_id=0, **meta))
        if not osp.isfile(image):
            raise FileNotFoundError(f'Image {image} does not exist.')
        return self._file_pipeline(dict(img_path=image, img_id=0, **meta))

    @torch.no_grad()
    def _forward(self, samples: List[dict]) -> list:
        return self.model.test_step(pseudo_collate(samples))

    def detect(self, images: Sequence[ImageLike]) -> list:
        """Run the gallery path on a batch of images.

        Args:
            images (Sequence[str | np.ndarray]): Image paths, video frame
                sources or BGR arrays.

        Returns:
            list[DetDataSample]: One per image; ``pred_instances`` holds
            ``bboxes``, ``scores``, ``labels`` and ``embeddings``.
        """
        return self._forward([self._prepare(image) for image in images])

    def index(self,
              sources: Union[str, Sequence[str]],
              frame_step: int = 1,
              show_progress: bool = True) -> Gallery:
        """Detect and embed every person of the gallery sources.

        Args:
            sources (str | Sequence[str]): See :func:`list_sources`.
            frame_step (int): Keep every ``frame_step``-th video frame.
                Defaults to 1.
            show_progress (bool): Show a progress bar. Defaults to True.

        Returns:
            Gallery: Detections above ``score_thr`` with their embeddings.
        """
        entries = list_sources(sources, frame_step)
        if not entries:
            raise ValueError(f'No gallery images found in {sources!r}.')
        progress = ProgressBar(len(entries)) if show_progress else None
        image_ids, bboxes, scores, embeddings = [], [], [], []
        for start in range(0, len(entries), self.batch_size):
            batch = entries[start:start + self.batch_size]
            results = self.detect(batch)
            for offset, result in enumerate(results):
                pred = result.pred_instances
                keep = pred.scores >= self.score_thr
                bboxes.append(pred.bboxes[keep].float().cpu().numpy())
                scores.append(pred.scores[keep].float().cpu().numpy())
                embeddings.append(
                    pred.embeddings[keep].float().cpu().numpy())
                image_ids.append(
                    np.full(int(keep.sum()), start + offset, np.int64))
                if progress is not None:
                    progress.update()
        dim = embeddings[0].shape[1] if embeddings else 0
        return Gallery(
            sources=entries,
            image_ids=np.concatenate(image_ids),
            bboxes=np.concatenate(bboxes).reshape(-1, 4),
            scores=np.concatenate(scores),
            embeddings=np.concatenate(embeddings).reshape(-1, dim))

    def embed_query(self, image: ImageLike,
                    bbox: Sequence[float]) -> Tuple[np.ndarray, np.ndarray]:
        """Embed a query person and the persons around it.

        Args:
            image (str | np.ndarray): The query image (path, video frame
                source or BGR array).
            bbox (Sequence[float]): The query box, xyxy in image pixels.

        Returns:
            tuple[np.ndarray, np.ndarray]: The query's unit embedding (D,)
            and the context embeddings (C, D), the query first (CBGM).
        """
        query_bbox = np.asarray(bbox, dtype=np.float32).reshape(-1)
        if query_bbox.shape != (4, ):
            raise ValueError(f'A query box is [x1, y1, x2, y2], got {bbox}.')
        data = self._prepare(
            image,
            sample_type='query',
            query_index=0,
            query_bbox=query_bbox,
            query_person_id=-1)
        height, width = data['data_samples'].ori_shape
        # A box reaching over the border (PRW has such queries) is clipped
        # to the image; one with nothing inside it is an error.
        clipped = np.clip(query_bbox, 0, [width, height, width, height])
        x1, y1, x2, y2 = clipped.tolist()
        if not (np.isfinite(query_bbox).all() and x1 < x2 and y1 < y2):
            raise ValueError(
                f'Query box {query_bbox.tolist()} is empty or outside its '
                f'image of {width}x{height} pixels.')
        data['data_samples'].set_metainfo(dict(query_bbox=clipped))
        pred = self._forward([data])[0].pred_instances
        context = pred.embeddings.float().cpu().numpy()
        return context[0], context

    def search(self,
               gallery: Gallery,
               image: ImageLike,
               bbox: Sequence[float],
               topk: int = 10,
               use_cbgm: bool = False) -> List[SearchMatch]:
        """Rank the gallery's detections by similarity to a query person.

        Args:
            gallery (Gallery): An indexed gallery.
            image (str | np.ndarray): The query image.
            bbox (Sequence[float]): The query box, xyxy in image pixels.
            topk (int): How many matches to return. Defaults to 10.
            use_cbgm (bool): Re-score with Context Bipartite Graph
                Matching. Defaults to False.

        Returns:
            list[SearchMatch]: The best ``topk`` matches, best first.
        """
        query, context = self.embed_query(image, bbox)
        if len(gallery) == 0:
            return []
        sims = gallery.embeddings @ query
        if use_cbgm:
            sims = cbgm_rescore(sims, gallery.image_ids, gallery.embeddings,
                                context, self.k1, self.k2)
        order = np.argsort(-sims, kind='stable')[:topk]
        return [
            SearchMatch(
                rank=rank + 1,
                source=gallery.sources[gallery.image_ids[i]],
                bbox=gallery.bboxes[i].tolist(),
                score=float(gallery.scores[i]),
                similarity=float(sims[i])) for rank, i in enumerate(order)
        ]


def draw_search_result(query_image: ImageLike,
                       query_bbox: Sequence[float],
                       matches: Sequence[SearchMatch],
                       out_file: str,
                       correct: Optional[Sequence[bool]] = None,
                       tile_height: int = 256) -> np.ndarray:
    """Draw a query crop beside its ranked matches as one picture.

    Args:
        query_image (str | np.ndarray): The query image.
        query_bbox (Sequence[float]): The query box, xyxy.
        matches (Sequence[SearchMatch]): Ranked matches from
            :meth:`PersonSearcher.search`.
        out_file (str): Where to write the picture.
        correct (Sequence[bool], optional): Per match, whether it is the
            query person: green border when True, red when False. Without
            it every match gets a neutral (orange) border.
        tile_height (int): Height of each crop tile. Defaults to 256.

    Returns:
        np.ndarray: The BGR picture that was written.
    """

    def crop(image: np.ndarray, box: Sequence[float]) -> np.ndarray:
        h, w = image.shape[:2]
        x1, y1, x2, y2 = (int(round(v)) for v in box)
        x1, y1 = max(0, min(x1, w - 1)), max(0, min(y1, h - 1))
        x2, y2 = max(x1 + 1, min(x2, w)), max(y1 + 1, min(y2, h))
        patch = image[y1:y2, x1:x2]
        scale = tile_height / patch.shape[0]
        width = max(8, int(round(patch.shape[1] * scale)))
        return cv2.resize(patch, (width, tile_height))

    def framed(tile: np.ndarray, color: Tuple[int, int, int],
               caption: str) -> np.ndarray:
        tile = cv2.copyMakeBorder(tile, 6, 6, 6, 6, cv2.BORDER_CONSTANT,
                                  value=color)
        band = np.full((28, tile.shape[1], 3), 255, np.uint8)
        cv2.putText(band, caption, (4, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    (0, 0, 0), 1, cv2.LINE_AA)
        return np.vstack([tile, band])

    if isinstance(query_image, str):
        query_image = read_source(query_image)
    tiles = [framed(crop(query_image, query_bbox), (255, 128, 0), 'query')]
    for i, match in enumerate(matches):
        if correct is None:
            color = (0, 165, 255)
        else:
            color = (0, 200, 0) if correct[i] else (0, 0, 230)
        tiles.append(
            framed(
                crop(read_source(match.source), match.bbox), color,
                f'#{match.rank} {match.similarity:.2f}'))
    gap = np.full((tiles[0].shape[0], 12, 3), 255, np.uint8)
    picture = np.hstack([part for tile in tiles for part in (tile, gap)][:-1])
    mmcv.imwrite(picture, out_file)
    return picture
