"""Query-to-gallery person search on top of a SeqNet detector.

Typical use::

    searcher = PersonSearcher.from_config('configs/seqnet_prw.py', 'model.pth')
    gallery = searcher.index('frames/')          # or image paths, or a video
    gallery.save('frames.gallery.npz')           # index once, search often
    matches = searcher.search(gallery, 'query.jpg', [x1, y1, x2, y2], topk=5)
    draw_search_result('query.jpg', [x1, y1, x2, y2], matches, 'result.jpg')

CBGM's k1/k2 and the detection score threshold are the ones the model is
evaluated with: its config's ``PersonSearchMetric`` (the dataset configs state
each protocol's values).
"""
import copy
import os.path as osp
from dataclasses import dataclass
from typing import List, NamedTuple, Optional, Sequence, Union

import mmcv
import numpy as np
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from mmengine.runner import CheckpointLoader
from mmengine.runner.checkpoint import _load_checkpoint_to_model
from mmengine.utils import ProgressBar

from mmseqnet.engine import check_checkpoint_fits
from mmseqnet.evaluation import PersonSearchMetric
from mmseqnet.evaluation.functional import cbgm, gfn_scores, stable_topk
from mmseqnet.evaluation.functional.cbgm import DEFAULT_K1
from mmseqnet.visualization import PersonSearchVisualizer
from .ann_index import GalleryIndex
from .gallery import FRAME_SEPARATOR, Gallery, list_sources, read_source
from .inference_pipeline import build_inference_pipeline
from .tracks import TrackSpan, link_tracks, rank_tracks

ImageLike = Union[str, np.ndarray]


@dataclass
class SearchMatch:
    """One ranked gallery detection for a query."""
    rank: int
    source: str
    bbox: List[float]
    score: float
    similarity: float


class Ranking(NamedTuple):
    """A gallery ranked for one query.

    Attributes:
        matches (list[SearchMatch]): The best matches, best first.
        similarities (np.ndarray): (N,) float32 similarity of every gallery
            detection to the query (after GFN and CBGM when they were used);
            when ranked with an index, ``-inf`` for the detections it did
            not retrieve (4 bytes per detection per query).
    """
    matches: List[SearchMatch]
    similarities: np.ndarray


class PersonSearcher:
    """Index gallery images with a SeqNet model and search them for a person.

    Images enter through the config's test pipeline (see
    :func:`build_inference_pipeline`) as paths, video frame sources or BGR
    arrays.

    Args:
        model (torch.nn.Module): A SeqNet detector carrying its config as
            ``model.cfg`` (as :meth:`from_config` and mmdet's
            ``init_detector`` build it).
        batch_size (int): Images per forward pass when indexing.
            Defaults to 4.
        score_thr (float, optional): Detections below this score are not
            indexed. Defaults to None: the ``det_score_thr`` of the config's
            ``PersonSearchMetric`` (the protocol's threshold).
        k1 (int, optional): CBGM: gallery detections whose images are
            re-scored. Defaults to None: the metric's ``k1``, else
            :func:`~mmseqnet.evaluation.functional.cbgm`'s default.
        k2 (int, optional): CBGM: query-side persons, the query included.
            Defaults to None: the metric's ``k2``, else ``cbgm``'s default.
    """

    def __init__(self,
                 model: torch.nn.Module,
                 batch_size: int = 4,
                 score_thr: Optional[float] = None,
                 k1: Optional[int] = None,
                 k2: Optional[int] = None) -> None:
        self.model = model.eval()
        self.batch_size = batch_size
        metric = _test_metric(model.cfg)
        self.score_thr = metric.det_score_thr if score_thr is None \
            else score_thr
        self.k1 = metric.k1 if k1 is None else k1
        self.k2 = metric.k2 if k2 is None else k2
        self.pipeline = build_inference_pipeline(model.cfg)

    @classmethod
    def from_config(cls,
                    config: Union[str, Config],
                    checkpoint: Optional[str] = None,
                    device: str = 'cpu',
                    ignore_keys: Sequence[str] = (),
                    **kwargs) -> 'PersonSearcher':
        """Build the model of a config, load its checkpoint and wrap it.

        The model is built as mmdet's ``init_detector`` builds it; the
        checkpoint is read once, checked and then loaded. A checkpoint that
        does not fit the model raises
        :class:`~mmseqnet.engine.CheckpointMismatchError` (``init_detector``
        only logs it), except for entries matching ``ignore_keys``
        (regular expressions).

        Args:
            config (str | Config): The model config or its path.
            checkpoint (str, optional): Weights to load. Defaults to None
                (as built).
            device (str): Device to run on. Defaults to 'cpu'.
            ignore_keys (Sequence[str]): See above. Defaults to ().
            **kwargs: Other arguments of :class:`PersonSearcher`.

        Returns:
            PersonSearcher: The searcher.
        """
        cfg = Config.fromfile(config) if isinstance(config, str) \
            else copy.deepcopy(config)
        init_default_scope(cfg.get('default_scope', 'mmdet'))
        model = revert_sync_batchnorm(MODELS.build(cfg.model))
        model.cfg = cfg
        if checkpoint is not None:
            loaded = CheckpointLoader.load_checkpoint(
                checkpoint, map_location='cpu')
            check_checkpoint_fits(model, loaded, checkpoint, ignore_keys)
            # What mmengine's load_checkpoint does once the file is read.
            _load_checkpoint_to_model(model, loaded)
            dataset_meta = loaded.get('meta', {}).get('dataset_meta')
            if dataset_meta is not None:
                model.dataset_meta = {
                    k.lower(): v
                    for k, v in dataset_meta.items()
                }
        return cls(model.to(device), **kwargs)

    def _prepare(self, image: ImageLike, **meta) -> dict:
        if isinstance(image, str) and FRAME_SEPARATOR in image:
            image = read_source(image)
        if isinstance(image, np.ndarray):
            return self.pipeline(dict(img=image, img_id=0, **meta))
        if not osp.isfile(image):
            raise FileNotFoundError(f'Image {image} does not exist.')
        return self.pipeline(dict(img_path=image, img_id=0, **meta))

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
        return self.index_sources(entries, show_progress)

    def index_sources(self,
                      entries: Sequence[str],
                      show_progress: bool = True) -> Gallery:
        """Detect and embed every person of listed gallery sources, in
        batches of ``batch_size`` images (what :meth:`index` and each shard
        of ``tools/index_gallery.py`` run).

        Args:
            entries (Sequence[str]): Image paths and video frame sources, as
                :func:`list_sources` gives them.
            show_progress (bool): Show a progress bar. Defaults to True.

        Returns:
            Gallery: Detections above ``score_thr`` with their embeddings;
            its ``image_ids`` index ``entries``.
        """
        entries = list(entries)
        if not entries:
            raise ValueError('No gallery sources to index.')
        progress = ProgressBar(len(entries)) if show_progress else None
        image_ids, bboxes, scores, embeddings, scenes = [], [], [], [], []
        for start in range(0, len(entries), self.batch_size):
            batch = entries[start:start + self.batch_size]
            results = self.detect(batch)
            for offset, result in enumerate(results):
                pred = result.pred_instances
                keep = pred.scores >= self.score_thr
                bboxes.append(pred.bboxes[keep].float().cpu().numpy())
                scores.append(pred.scores[keep].float().cpu().numpy())
                embeddings.append(pred.embeddings[keep].float().cpu().numpy())
                image_ids.append(
                    np.full(int(keep.sum()), start + offset, np.int64))
                if 'scene_embedding' in result:
                    scenes.append(result.scene_embedding.float().cpu().numpy())
                if progress is not None:
                    progress.update()
        dim = embeddings[0].shape[1] if embeddings else 0
        return Gallery(
            sources=entries,
            image_ids=np.concatenate(image_ids),
            bboxes=np.concatenate(bboxes).reshape(-1, 4),
            scores=np.concatenate(scores),
            embeddings=np.concatenate(embeddings).reshape(-1, dim),
            scene_embeddings=np.stack(scenes)
            if len(scenes) == len(entries) else None)

    def embed_query(self,
                    image: ImageLike,
                    bbox: Sequence[float],
                    return_gfn_filter: bool = False) -> tuple:
        """Embed a query person and the persons around it.

        Args:
            image (str | np.ndarray): The query image (path, video frame
                source or BGR array).
            bbox (Sequence[float]): The query box, xyxy in image pixels.
            return_gfn_filter (bool): Also return the query's Gallery
                Filter Network filter (3, D), None for a model without GFN.
                Defaults to False.

        Returns:
            tuple: The query's unit embedding (D,) and the context
            embeddings (C, D), the query first (CBGM); with
            ``return_gfn_filter`` the filter third.
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
        result = self._forward([data])[0]
        context = result.pred_instances.embeddings.float().cpu().numpy()
        if not return_gfn_filter:
            return context[0], context
        gfn_filter = result.gfn_filter.float().cpu().numpy() \
            if 'gfn_filter' in result else None
        return context[0], context, gfn_filter

    def rank(self,
             gallery: Gallery,
             query: np.ndarray,
             context: Optional[np.ndarray] = None,
             topk: int = 10,
             use_cbgm: bool = False,
             gfn_filter: Optional[np.ndarray] = None,
             index: Optional[GalleryIndex] = None,
             num_candidates: Optional[int] = None) -> Ranking:
        """Rank the gallery's detections for an embedded query.

        Similarity is the dot product of the embeddings; with a
        ``gfn_filter`` each gallery image's similarities are multiplied by
        its Gallery Filter Network score for the query; with ``use_cbgm``
        they are re-scored by Context Bipartite Graph Matching with this
        searcher's ``k1`` and ``k2`` (after the GFN weighting, whose factor
        the re-scored values keep, as the metric does). Ties keep gallery
        order.

        With an ``index`` only its ``num_candidates`` best detections are
        scored (exactly, from ``gallery.embeddings``), plus, for CBGM, every
        detection of the images of the ``k1`` best of them: GFN and CBGM
        then work on these candidates only. With an exact index holding at
        least the ``k1`` and ``topk`` best, the result is the one without
        index; GFN can only re-order the retrieved candidates.

        Args:
            gallery (Gallery): An indexed gallery.
            query (np.ndarray): (D,) query embedding.
            context (np.ndarray, optional): (C, D) context embeddings, the
                query first (see :meth:`embed_query`). Needed for CBGM.
                Defaults to None.
            topk (int): How many matches to return. Defaults to 10.
            use_cbgm (bool): Re-score with CBGM. Defaults to False.
            gfn_filter (np.ndarray, optional): (3, D) the query's GFN filter
                (``embed_query(..., return_gfn_filter=True)``); needs a
                gallery indexed by a model with GFN. Defaults to None.
            index (GalleryIndex, optional): A nearest-neighbour index of
                ``gallery.embeddings``. Defaults to None: every detection is
                scored.
            num_candidates (int, optional): Detections to retrieve from the
                index. Defaults to None: ``max(1000, topk, k1)``.

        Returns:
            Ranking: The best ``topk`` matches and the similarities, (N,);
            with an index ``-inf`` for the detections not retrieved.
        """
        if use_cbgm and context is None:
            raise ValueError('CBGM needs the query context: pass the '
                             'context that embed_query returns.')
        if gfn_filter is not None and gallery.scene_embeddings is None:
            raise ValueError(
                'GFN re-weighting needs scene embeddings in the gallery: '
                'index it with a model that has a Gallery Filter '
                'Network (roi_head.gfn_head).')
        query = np.asarray(query, np.float32).reshape(-1)
        k1 = DEFAULT_K1 if self.k1 is None else self.k1
        rows = None
        if index is not None:
            if len(index) != len(gallery):
                raise ValueError(
                    f'The index holds {len(index)} detections, the gallery '
                    f'{len(gallery)}: build it from this gallery.')
            _, found = index.search(query, num_candidates
                                    or max(1000, topk, k1))
            rows = np.unique(found[found >= 0])
            if use_cbgm and len(rows):
                # CBGM matches the query context with every detection of
                # the images it re-scores, retrieved or not.
                sims, _, _ = _similarities(gallery, query, gfn_filter, rows)
                images = np.unique(gallery.image_ids[rows[stable_topk(
                    sims, k1)]])
                image_rows = [
                    np.arange(first, last) for first, last in zip(
                        np.searchsorted(gallery.image_ids, images, 'left'),
                        np.searchsorted(gallery.image_ids, images, 'right'))
                ]
                rows = np.union1d(rows, np.concatenate(image_rows))
        sims, image_ids, weights = _similarities(gallery, query, gfn_filter,
                                                 rows)
        embeddings = gallery.embeddings if rows is None \
            else gallery.embeddings[rows]
        if use_cbgm and len(sims):
            cbgm_k = {
                k: v
                for k, v in (('k1', self.k1), ('k2', self.k2)) if v is not None
            }
            sims = cbgm(
                sims,
                image_ids,
                embeddings,
                context,
                image_weights=weights,
                **cbgm_k)
        best = stable_topk(sims, topk)
        if rows is not None:
            best = rows[best]
            retrieved = sims
            sims = np.full(len(gallery), -np.inf, np.float32)
            sims[rows] = retrieved
        matches = [
            SearchMatch(
                rank=rank + 1,
                source=gallery.sources[gallery.image_ids[i]],
                bbox=gallery.bboxes[i].tolist(),
                score=float(gallery.scores[i]),
                similarity=float(sims[i])) for rank, i in enumerate(best)
        ]
        return Ranking(matches, sims)

    def search(self,
               gallery: Gallery,
               image: ImageLike,
               bbox: Sequence[float],
               topk: int = 10,
               use_cbgm: bool = False,
               use_gfn: bool = False,
               index: Optional[GalleryIndex] = None,
               num_candidates: Optional[int] = None) -> List[SearchMatch]:
        """Embed a query person and rank the gallery for it (:meth:`rank`).

        Args:
            gallery (Gallery): An indexed gallery.
            image (str | np.ndarray): The query image.
            bbox (Sequence[float]): The query box, xyxy in image pixels.
            topk (int): How many matches to return. Defaults to 10.
            use_cbgm (bool): Re-score with Context Bipartite Graph
                Matching. Defaults to False.
            use_gfn (bool): Re-weight each gallery image by its Gallery
                Filter Network score (a model and gallery with GFN).
                Defaults to False.
            index (GalleryIndex, optional): A nearest-neighbour index of the
                gallery to rank its candidates only. Defaults to None.
            num_candidates (int, optional): Candidates to retrieve from the
                index. Defaults to None: see :meth:`rank`.

        Returns:
            list[SearchMatch]: The best ``topk`` matches, best first.
        """
        query, context, gfn_filter = self._embed_for_ranking(
            image, bbox, use_gfn)
        return self.rank(
            gallery,
            query,
            context,
            topk,
            use_cbgm,
            gfn_filter,
            index=index,
            num_candidates=num_candidates).matches

    def search_tracks(self,
                      gallery: Gallery,
                      image: ImageLike,
                      bbox: Sequence[float],
                      topk: int = 10,
                      use_cbgm: bool = False,
                      use_gfn: bool = False,
                      index: Optional[GalleryIndex] = None,
                      num_candidates: Optional[int] = None) -> List[TrackSpan]:
        """Embed a query person and rank the person tracks of a video
        gallery for it, each by its best detection (:func:`rank_tracks`).

        The tracks are ``gallery.track_ids`` (``tools/index_gallery.py``
        and ``tools/search.py`` store them), else linked now
        (:func:`link_tracks`). Arguments as :meth:`search`; with an index,
        only the retrieved detections score their tracks.

        Returns:
            list[TrackSpan]: The best ``topk`` tracks, best first.
        """
        query, context, gfn_filter = self._embed_for_ranking(
            image, bbox, use_gfn)
        track_ids = gallery.track_ids if gallery.track_ids is not None \
            else link_tracks(gallery)
        sims = self.rank(
            gallery,
            query,
            context,
            topk,
            use_cbgm,
            gfn_filter,
            index=index,
            num_candidates=num_candidates).similarities
        return rank_tracks(gallery, sims, track_ids, topk)

    def _embed_for_ranking(self, image: ImageLike, bbox: Sequence[float],
                           use_gfn: bool) -> tuple:
        """The query embedding, its context and, with ``use_gfn``, its GFN
        filter (else None): the first arguments of :meth:`rank`."""
        query, context, gfn_filter = self.embed_query(
            image, bbox, return_gfn_filter=True)
        if use_gfn and gfn_filter is None:
            raise ValueError('use_gfn needs a model with a Gallery Filter '
                             'Network (roi_head.gfn_head).')
        return query, context, gfn_filter if use_gfn else None


def _similarities(gallery: Gallery,
                  query: np.ndarray,
                  gfn_filter: Optional[np.ndarray] = None,
                  rows: Optional[np.ndarray] = None) -> tuple:
    """Query similarities of gallery detections, GFN-weighted when a filter
    is given.

    Args:
        gallery (Gallery): The gallery.
        query (np.ndarray): (D,) float32 query embedding.
        gfn_filter (np.ndarray, optional): (3, D) the query's GFN filter.
            Defaults to None.
        rows (np.ndarray, optional): (K,) increasing detection rows to
            score. Defaults to None: all.

    Returns:
        tuple: (K,) float32 similarities, (K,) non-decreasing image ids
        that index the (I,) GFN weights per image (None without a filter):
        gallery image ids without ``rows``, else those of the rows'
        images in increasing order.
    """
    if rows is None:
        embeddings, image_ids = gallery.embeddings, gallery.image_ids
        scenes = gallery.scene_embeddings
    else:
        embeddings = gallery.embeddings[rows]
        images, image_ids = np.unique(
            gallery.image_ids[rows], return_inverse=True)
        scenes = None if gallery.scene_embeddings is None \
            else gallery.scene_embeddings[images]
    sims = (embeddings @ query).astype(np.float32).reshape(-1)
    weights = None
    if gfn_filter is not None:
        weights = gfn_scores(np.asarray(gfn_filter)[None],
                             scenes)[0].astype(np.float32)
        sims = sims * weights[image_ids]
    return sims, image_ids, weights


def _test_metric(cfg: Config) -> PersonSearchMetric:
    """The ``PersonSearchMetric`` of the config's ``test_evaluator`` (a
    dict or a list), or one with the metric's defaults when there is
    none."""
    evaluators = cfg.get('test_evaluator') or []
    if not isinstance(evaluators, (list, tuple)):
        evaluators = [evaluators]
    for evaluator in evaluators:
        kind = evaluator.get('type')
        if kind is PersonSearchMetric or (isinstance(kind, str)
                                          and kind.split('.')[-1]
                                          == PersonSearchMetric.__name__):
            return PersonSearchMetric(**{
                k: v
                for k, v in evaluator.items() if k != 'type'
            })
    return PersonSearchMetric()


def draw_search_result(
        query_image: ImageLike,
        query_bbox: Sequence[float],
        matches: Sequence[SearchMatch],
        out_file: Optional[str] = None,
        correct: Optional[Sequence[bool]] = None,
        tile_height: int = 256,
        visualizer: Optional[PersonSearchVisualizer] = None) -> np.ndarray:
    """Draw a query beside its ranked matches with
    :meth:`PersonSearchVisualizer.draw_ranked_matches`.

    Args:
        query_image (str | np.ndarray): The query image: a path, a video
            frame source or a BGR array.
        query_bbox (Sequence[float]): The query box, xyxy.
        matches (Sequence[SearchMatch]): Ranked matches from
            :meth:`PersonSearcher.search`.
        out_file (str, optional): Where to write the picture.
            Defaults to None.
        correct (Sequence[bool], optional): Per match, whether it is the
            query person (correct or wrong colour). Defaults to None: every
            match gets the neutral colour.
        tile_height (int): Height of each crop tile. Defaults to 256.
        visualizer (PersonSearchVisualizer, optional): The visualiser to
            draw with. Defaults to None: a new one.

    Returns:
        np.ndarray: The RGB picture.
    """
    if visualizer is None:
        visualizer = PersonSearchVisualizer(name='draw_search_result')

    def rgb(image: ImageLike) -> np.ndarray:
        image = read_source(image) if isinstance(image, str) else image
        return mmcv.bgr2rgb(image)

    return visualizer.draw_ranked_matches(
        rgb(query_image),
        query_bbox, [rgb(m.source) for m in matches],
        [m.bbox for m in matches], [m.similarity for m in matches],
        correct=correct,
        ranks=[m.rank for m in matches],
        tile_height=tile_height,
        out_file=out_file)
