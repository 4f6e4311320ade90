"""Person detection and search metric of the CUHK-SYSU and PRW protocols."""
import logging
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.fileio import dump
from mmengine.logging import MMLogger, print_log
from terminaltables import AsciiTable

from ..functional import (CBGM_DEFAULTS, QueryGalleries, SearchResult,
                          bbox_iou, cuhk_sysu_galleries, eval_detection,
                          eval_search_variants, gfn_retrieval, gfn_scores,
                          prw_galleries, summarize_search)


@METRICS.register_module()
class PersonSearchMetric(BaseMetric):
    """Detection AP/recall and search mAP/top-k, with and without CBGM.

    Reads the samples of a person-search test set as docs/data_flow.md
    describes them: gallery samples (detections with embeddings and
    ground truth, in original pixels) and query samples (row 0: the query
    box and its query-path embedding; rows 1..: the query image's other
    gallery-path detections, the CBGM context, see :meth:`_query_record`),
    plus the ``protocol`` and ``queries`` of ``dataset_meta``.

    Numbers follow the evaluation code shared by OIM, NAE and SeqNet (see
    :func:`~mmseqnet.evaluation.functional.eval_detection`,
    :func:`~mmseqnet.evaluation.functional.eval_search`,
    :func:`~mmseqnet.evaluation.functional.cuhk_sysu_galleries`,
    :func:`~mmseqnet.evaluation.functional.prw_galleries` and
    :func:`~mmseqnet.evaluation.functional.cbgm` for the edge behaviours),
    except where the original crashes or has a bug:

    - a query with nothing to find (``count_gt == 0``) is counted in
      ``num_queries_without_gt`` and left out of mAP and top-k;
    - ties are ranked in gallery order (stable sort);
    - CUHK-SYSU gallery size -1 puts every test image in the gallery once
      (the original lists 50 of them twice) and applies CBGM to all of them
      (the original does not support CBGM there).

    Keys (before the ``person_search/`` prefix): ``det_AP``, ``det_recall``,
    ``det_AP_labeled``, ``det_recall_labeled``, ``mAP``, ``top{k}``,
    ``num_queries``, ``num_queries_without_gt``; ``mAP_cbgm``,
    ``top{k}_cbgm`` with CBGM; ``mAP_mv``, ``top{k}_mv``,
    ``num_queries_without_gt_mv`` (and ``*_mv_cbgm``) with the multi-view
    gallery. With ``gfn``: ``mAP_gfn``, ``top{k}_gfn`` (and ``*_gfn_cbgm``,
    ``*_mv_gfn``, ``*_mv_gfn_cbgm``) with every similarity multiplied by the
    GFN score of the query for the detection's image, CBGM applied to the
    weighted similarities (see
    :func:`~mmseqnet.evaluation.functional.eval_search_variants`); and the
    GFN-only retrieval of gallery images by that score, ``gfn_mAP``,
    ``gfn_top1`` (and ``gfn_mAP_mv``, ``gfn_top1_mv``) over the queries
    whose gallery holds a positive image (see
    :func:`~mmseqnet.evaluation.functional.gfn_retrieval`). Values are
    fractions in [0, 1].

    Args:
        det_score_thr (float): Detections below this score are dropped
            before detection and search evaluation. Defaults to 0.5.
        det_iou_thr (float): IoU of a detection true positive.
            Defaults to 0.5.
        cbgm (bool): Also compute the search numbers with CBGM.
            Defaults to True.
        k1 (int, optional): CBGM re-scores the images of the k1 most similar
            detections. None: protocol default (CUHK-SYSU 10, PRW 30).
            Defaults to None.
        k2 (int, optional): CBGM query-side nodes, query included. None:
            protocol default (CUHK-SYSU 3, PRW 4). Defaults to None.
        multi_view (bool): PRW only: also report the multi-view gallery
            (frames of the query's camera dropped). Defaults to False.
        gfn (bool): Also report the numbers re-weighted by the Gallery
            Filter Network and its GFN-only retrieval; every gallery sample
            must carry ``scene_embedding`` (D,) and every query
            ``gfn_filter`` (3, D), as a detector with ``roi_head.gfn_head``
            outputs them. Defaults to False.
        topk (Sequence[int]): Ranks of the top-k accuracies.
            Defaults to (1, 5, 10).
        results_file (str, optional): Write a per-query JSON here: for every
            gallery variant the top-``max(topk)`` matches (image, xyxy box,
            similarity, correct), AP, count_gt, found and whether top-1 is
            correct. Defaults to None.
        collect_device (str): Device for collecting results across ranks,
            'cpu' or 'gpu'. Defaults to 'cpu'.
        prefix (str, optional): Prefix of the metric names. None:
            ``'person_search'``. Defaults to None.
    """

    default_prefix: Optional[str] = 'person_search'

    def __init__(self,
                 det_score_thr: float = 0.5,
                 det_iou_thr: float = 0.5,
                 cbgm: bool = True,
                 k1: Optional[int] = None,
                 k2: Optional[int] = None,
                 multi_view: bool = False,
                 gfn: bool = False,
                 topk: Sequence[int] = (1, 5, 10),
                 results_file: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        topk = tuple(int(k) for k in topk)
        if not topk or min(topk) < 1:
            raise ValueError(
                f'PersonSearchMetric: topk must be positive ranks, got {topk}')
        for name, value in (('k1', k1), ('k2', k2)):
            if value is not None and value < 1:
                raise ValueError(
                    f'PersonSearchMetric: {name} must be >= 1, got {value}')
        if results_file is not None and not results_file.endswith('.json'):
            raise ValueError('PersonSearchMetric: results_file must end with '
                             f"'.json', got {results_file!r}")
        self.det_score_thr = det_score_thr
        self.det_iou_thr = det_iou_thr
        self.cbgm = cbgm
        self.k1 = k1
        self.k2 = k2
        self.multi_view = multi_view
        self.gfn = gfn
        self.topk = topk
        self.results_file = results_file

    @property
    def dataset_meta(self) -> Optional[dict]:
        """Optional[dict]: Meta info of the dataset (``protocol``,
        ``queries``), checked when set so that a wrong config fails before
        the test loop rather than after it."""
        return self._dataset_meta

    @dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict) -> None:
        protocol = (dataset_meta or {}).get('protocol')
        if protocol not in CBGM_DEFAULTS:
            raise ValueError(
                "PersonSearchMetric: dataset_meta['protocol'] must be one of "
                f'{sorted(CBGM_DEFAULTS)}, got {protocol!r}')
        if self.multi_view and protocol != 'prw':
            raise ValueError('PersonSearchMetric: multi_view=True is only '
                             f"defined for the 'prw' protocol, not "
                             f'{protocol!r}')
        self._dataset_meta = dataset_meta

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Keep what the evaluation needs of each sample, as CPU numpy.

        Gallery samples keep their detections with score >= det_score_thr
        (boxes, scores, embeddings) and ground truth (boxes, person ids);
        query samples keep their query embedding and, with CBGM, their
        CBGM query side (at most k2 rows). With ``gfn`` gallery samples also
        keep their ``scene_embedding`` and queries their ``gfn_filter``.

        Args:
            data_batch (Any): The batch from the dataloader (unused).
            data_samples (Sequence[dict]): The model's outputs, as dicts.
        """
        for sample in data_samples:
            sample_type = sample.get('sample_type')
            if sample_type == 'gallery':
                self.results.append(self._gallery_record(sample))
            elif sample_type == 'query':
                self.results.append(self._query_record(sample))
            else:
                raise ValueError(
                    "PersonSearchMetric: data sample meta key 'sample_type' "
                    f"must be 'gallery' or 'query', got {sample_type!r} "
                    f"(image {sample.get('img_name', sample.get('img_path'))})"
                )

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Compute detection and search numbers from the gathered records.

        Args:
            results (List[dict]): Records of :meth:`process` from all ranks;
                repeated samples (distributed padding) count once.

        Returns:
            Dict[str, float]: The metrics (see the class docstring).
        """
        protocol, queries = self._protocol()
        gallery, query_records = _split_records(results)
        if not gallery:
            raise ValueError('PersonSearchMetric: no gallery sample was '
                             'evaluated')
        det_metrics = self._detection_metrics(gallery)
        if not query_records:
            print_log(
                'PersonSearchMetric: no query sample was evaluated; '
                'reporting detection only',
                logger='current',
                level=logging.WARNING)
            self._log_tables(det_metrics, [])
            return det_metrics
        unknown = [
            q['query_index'] for q in query_records
            if not 0 <= q['query_index'] < len(queries)
        ]
        if unknown:
            raise ValueError(
                f'PersonSearchMetric: query_index {unknown[:5]} out of range '
                f"for the {len(queries)} dataset_meta['queries']")
        if len(query_records) != len(queries):
            print_log(
                f'PersonSearchMetric: {len(query_records)} of '
                f'{len(queries)} queries were evaluated',
                logger='current',
                level=logging.WARNING)

        metas = [queries[q['query_index']] for q in query_records]
        det_image_ids = np.concatenate([
            np.full(len(g['scores']), i, dtype=np.int64)
            for i, g in enumerate(gallery)
        ])
        det_bboxes = np.concatenate([g['bboxes'] for g in gallery])
        variants = self._gallery_variants(protocol, gallery, metas)
        image_scores = self._gfn_image_scores(gallery, query_records)
        outcomes = self._search(gallery, query_records, variants,
                                det_image_ids, det_bboxes, image_scores)
        # Search mAP first: CheckpointHook(save_best='auto') takes the first
        # key.
        metrics: Dict[str, float] = {}
        for name, outcome in outcomes.items():
            summary = summarize_search(outcome, self.topk)
            metrics[f'mAP{name}'] = summary['mAP']
            for k in self.topk:
                metrics[f'top{k}{name}'] = summary[f'top{k}']
            if not name.endswith(('_cbgm', '_gfn')):
                metrics['num_queries'] = summary['num_queries']
                metrics[f'num_queries_without_gt{name}'] = summary[
                    'num_queries_without_gt']
        if image_scores is not None:
            metrics.update(_gfn_only_metrics(image_scores, variants))
        metrics.update(det_metrics)
        self._log_tables(metrics, list(outcomes))
        if self.results_file is not None:
            self._dump_results(protocol, query_records, metas, outcomes,
                               [g['img_name'] for g in gallery], det_image_ids,
                               det_bboxes)
            MMLogger.get_current_instance().info(
                f'Per-query search results written to {self.results_file}')
        return metrics

    def _search(
        self, gallery: List[dict], query_records: List[dict],
        variants: Dict[str, QueryGalleries], det_image_ids: np.ndarray,
        det_bboxes: np.ndarray, image_scores: Optional[np.ndarray]
    ) -> Dict[str, SearchResult]:
        """Rank and score every gallery variant, keyed by metric-name
        suffix ('', '_cbgm', '_mv', '_mv_cbgm'), and with ``image_scores``
        (Q, M) also weighted by them ('_gfn', '_gfn_cbgm', '_mv_gfn',
        '_mv_gfn_cbgm')."""
        det_feats = np.concatenate([g['embeddings'] for g in gallery])
        query_feats = np.stack([q['embedding'] for q in query_records])
        k1, k2 = self._cbgm_k()
        context = [q['context_embeddings'] for q in query_records]
        if self.cbgm and not any(len(c) for c in context):
            print_log(
                'PersonSearchMetric: no query sample carries CBGM context '
                '(query-image detections after row 0; set the model\'s '
                'test_cfg.query_context=True): the CBGM numbers equal the '
                'plain ones',
                logger='current',
                level=logging.WARNING)
        # One pass over the similarities for every gallery variant, with
        # and without CBGM; one more with the GFN's weights.
        outcomes = {}
        for weights, suffix in ((None, ''), (image_scores, '_gfn')):
            if suffix and weights is None:
                continue
            results = eval_search_variants(
                query_feats,
                det_image_ids,
                det_bboxes,
                det_feats,
                variants,
                topk=self.topk,
                num_matches=max(self.topk),
                context_feats=context if self.cbgm else None,
                k1=k1,
                k2=k2,
                image_weights=weights)
            for name, result in results.items():
                view = name.replace('_cbgm', '')
                outcomes[view + suffix + name[len(view):]] = result
        return outcomes

    def _gfn_image_scores(self, gallery: List[dict],
                          query_records: List[dict]) -> Optional[np.ndarray]:
        """(Q, M) GFN score of every query for every gallery image, or
        None without ``gfn``."""
        if not self.gfn:
            return None
        return gfn_scores(
            np.stack([q['gfn_filter'] for q in query_records]),
            np.stack([g['scene_embedding'] for g in gallery]))

    def _protocol(self) -> Tuple[str, list]:
        """The protocol name and query list, checked."""
        meta = self.dataset_meta
        if meta is None or 'queries' not in meta:
            raise ValueError(
                'PersonSearchMetric: dataset_meta must hold the test split\'s '
                "'protocol' and 'queries' (docs/data_flow.md); set it from "
                'the dataset metainfo')
        return meta['protocol'], meta['queries']

    def _cbgm_k(self) -> Tuple[int, int]:
        """k1 and k2 of CBGM: the configured ones or the protocol's."""
        protocol, _ = self._protocol()
        k1, k2 = CBGM_DEFAULTS[protocol]
        return (self.k1 or k1, self.k2 or k2)

    def _gallery_record(self, sample: dict) -> dict:
        """Detections above the threshold and the ground truth of one
        gallery image."""
        name = _meta(sample, 'img_name')
        pred = _instances(sample, 'pred_instances',
                          ('bboxes', 'scores', 'embeddings'))
        gt = _instances(sample, 'gt_instances', ('bboxes', 'person_ids'))
        keep = pred['scores'] >= self.det_score_thr
        gfn = {}
        if self.gfn:
            gfn['scene_embedding'] = _gfn_field(sample, 'scene_embedding', 1)
        return dict(
            **gfn,
            sample_type='gallery',
            img_name=name,
            cam_id=int(sample.get('cam_id', -1)),
            # [keep] copies already
            bboxes=pred['bboxes'][keep].astype(np.float32,
                                               copy=False).reshape(-1, 4),
            scores=pred['scores'][keep].astype(np.float32, copy=False),
            embeddings=_finite_embeddings(sample, pred['embeddings'][keep]),
            gt_bboxes=gt['bboxes'].astype(np.float32).reshape(-1, 4),
            gt_person_ids=gt['person_ids'].astype(np.int64).ravel())

    def _query_record(self, sample: dict) -> dict:
        """Query embedding and CBGM query side of one query.

        The CBGM query side is the query (row 0, its query-path embedding:
        the original forces exactly that into the query image's gallery
        path) followed by the query image's other detections (rows 1..),
        first k2. A row 1.. that repeats the query box is the forced box
        itself and is not a context person, so it is dropped.
        """
        query_index = int(_meta(sample, 'query_index'))
        pred = _instances(sample, 'pred_instances', ('bboxes', 'embeddings'))
        bboxes = pred['bboxes'].reshape(-1, 4)
        embeddings = _finite_embeddings(sample, pred['embeddings'])
        if len(bboxes) == 0:
            raise ValueError(
                f'PersonSearchMetric: query {query_index} '
                f"({sample.get('img_name')}) has no pred_instances; row 0 "
                'must be the query box with its embedding')
        context = embeddings[:0]
        if self.cbgm and len(bboxes) > 1:
            persons = bbox_iou(bboxes[1:], bboxes[:1]) < 0.999
            context = np.concatenate([embeddings[:1], embeddings[1:][persons]
                                      ])[:self._cbgm_k()[1]]
        gfn = {}
        if self.gfn:
            gfn['gfn_filter'] = _gfn_field(sample, 'gfn_filter', 2)
        return dict(
            **gfn,
            sample_type='query',
            query_index=query_index,
            img_name=sample.get('img_name'),
            embedding=embeddings[0],
            context_embeddings=context)

    def _detection_metrics(self, gallery: List[dict]) -> Dict[str, float]:
        """Detection recall/AP over all persons and labeled persons."""
        metrics = {}
        for suffix, labeled_only in (('', False), ('_labeled', True)):
            result = eval_detection(
                [g['bboxes'] for g in gallery], [g['scores'] for g in gallery],
                [g['gt_bboxes'] for g in gallery],
                gt_labeled=[g['gt_person_ids'] >= 0 for g in gallery],
                score_thr=self.det_score_thr,
                iou_thr=self.det_iou_thr,
                labeled_only=labeled_only)
            metrics[f'det_AP{suffix}'] = result.ap
            metrics[f'det_recall{suffix}'] = result.recall
        return metrics

    def _gallery_variants(self, protocol: str, gallery: List[dict],
                          metas: List[dict]) -> Dict[str, QueryGalleries]:
        """Each gallery variant's protocol, keyed by metric-name suffix."""
        img_names = [g['img_name'] for g in gallery]
        query_img_names = [m['img_name'] for m in metas]
        if protocol == 'cuhk_sysu':
            return {
                '':
                cuhk_sysu_galleries(img_names, query_img_names,
                                    [m['gallery'] for m in metas])
            }
        views = (False, True) if self.multi_view else (False, )
        return {
            ('_mv' if multi_view else ''):
            prw_galleries(
                img_names, [g['cam_id'] for g in gallery],
                [g['gt_bboxes']
                 for g in gallery], [g['gt_person_ids'] for g in gallery],
                query_img_names, [m['person_id'] for m in metas],
                [m['cam_id'] for m in metas],
                multi_view=multi_view)
            for multi_view in views
        }

    def _log_tables(self, metrics: Dict[str, float],
                    variants: List[str]) -> None:
        """Log detection and search numbers as tables (percent)."""
        logger = MMLogger.get_current_instance()
        det_rows = [['persons', 'recall', 'AP']]
        for label, suffix in (('all', ''), ('labeled', '_labeled')):
            det_rows.append([
                label, f"{metrics[f'det_recall{suffix}']:.2%}",
                f"{metrics[f'det_AP{suffix}']:.2%}"
            ])
        logger.info('\n' + AsciiTable(det_rows, 'Detection').table)
        if not variants:
            return
        search_rows = [['gallery', 'mAP'] + [f'top-{k}' for k in self.topk] +
                       ['queries w/o GT']]
        for name in variants:
            view = name.replace('_cbgm', '').replace('_gfn', '')
            without_gt = metrics[f'num_queries_without_gt{view}']
            search_rows.append(
                [_VARIANT_LABELS[name], f"{metrics[f'mAP{name}']:.2%}"] +
                [f"{metrics[f'top{k}{name}']:.2%}" for k in self.topk] +
                [f'{without_gt} / {metrics["num_queries"]}'])
        logger.info('\n' + AsciiTable(search_rows, 'Person search').table)
        gfn_rows = [[_VARIANT_LABELS[view], f"{metrics[f'gfn_mAP{view}']:.2%}",
                     f"{metrics[f'gfn_top1{view}']:.2%}"]
                    for view in ('', '_mv') if f'gfn_mAP{view}' in metrics]
        if gfn_rows:
            logger.info('\n' + AsciiTable([['gallery', 'mAP', 'top-1']] +
                                          gfn_rows, 'GFN only').table)

    def _dump_results(self, protocol: str, query_records: List[dict],
                      metas: List[dict], outcomes: Dict[str, SearchResult],
                      img_names: List[str], det_image_ids: np.ndarray,
                      det_bboxes: np.ndarray) -> None:
        """Write the per-query JSON of ``results_file``."""
        entries = []
        for i, (record, meta) in enumerate(zip(query_records, metas)):
            entry = dict(
                query_index=record['query_index'],
                img_name=meta['img_name'],
                bbox=np.asarray(meta['bbox'], dtype=float).ravel().tolist(),
                person_id=int(meta['person_id']))
            for name, outcome in outcomes.items():
                ap = float(outcome.ap[i])
                shown = outcome.match_inds[i] >= 0
                entry['search' + name] = dict(
                    ap=None if np.isnan(ap) else ap,
                    count_gt=int(outcome.count_gt[i]),
                    found=int(outcome.found[i]),
                    top1_correct=bool(outcome.match_correct[i, :1].any()),
                    matches=[
                        dict(
                            img_name=img_names[det_image_ids[row]],
                            bbox=det_bboxes[row].astype(float).tolist(),
                            similarity=float(sim),
                            correct=bool(correct))
                        for row, sim, correct in zip(
                            outcome.match_inds[i][shown], outcome.match_sims[i]
                            [shown], outcome.match_correct[i][shown])
                    ])
            entries.append(entry)
        dump(
            dict(protocol=protocol, topk=max(self.topk), queries=entries),
            self.results_file,
            indent=2)


_VARIANT_LABELS = {
    '': 'standard',
    '_cbgm': 'standard + CBGM',
    '_gfn': 'standard + GFN',
    '_gfn_cbgm': 'standard + GFN + CBGM',
    '_mv': 'multi-view',
    '_mv_cbgm': 'multi-view + CBGM',
    '_mv_gfn': 'multi-view + GFN',
    '_mv_gfn_cbgm': 'multi-view + GFN + CBGM',
}


def _gfn_only_metrics(image_scores: np.ndarray,
                      variants: Dict[str, QueryGalleries]) -> Dict[str, float]:
    """GFN-only retrieval mAP and top-1 of each gallery variant, over the
    queries with a positive image in their gallery (0.0 without any)."""
    metrics = {}
    for view, galleries in variants.items():
        positives = np.zeros(galleries.masks.shape, dtype=bool)
        positives[galleries.pos_query, galleries.pos_image] = True
        retrieval = gfn_retrieval(image_scores, positives, galleries.masks)
        valid = ~np.isnan(retrieval.ap)
        metrics[f'gfn_mAP{view}'] = (
            float(retrieval.ap[valid].mean()) if valid.any() else 0.0)
        metrics[f'gfn_top1{view}'] = (
            float(retrieval.top1[valid].mean()) if valid.any() else 0.0)
    return metrics


def _split_records(results: List[dict]) -> Tuple[List[dict], List[dict]]:
    """Gallery records in arrival order and query records by query index,
    each sample once."""
    gallery: Dict[str, dict] = {}
    queries: Dict[int, dict] = {}
    for record in results:
        if record['sample_type'] == 'gallery':
            gallery.setdefault(record['img_name'], record)
        else:
            queries.setdefault(record['query_index'], record)
    return list(gallery.values()), [queries[i] for i in sorted(queries)]


def _meta(sample: dict, key: str) -> Any:
    """A required meta key of a data sample."""
    if key not in sample:
        raise KeyError(
            f'PersonSearchMetric: data sample '
            f"({sample.get('img_name', sample.get('img_path'))}) lacks the "
            f"meta key '{key}' (docs/data_flow.md)")
    return sample[key]


def _instances(sample: dict, field: str,
               keys: Sequence[str]) -> Dict[str, np.ndarray]:
    """Required fields of a sample's instances as CPU numpy arrays."""
    instances = sample.get(field)
    missing = [k for k in keys if instances is None or k not in instances]
    if missing:
        raise KeyError(
            f'PersonSearchMetric: data sample '
            f"({sample.get('img_name', sample.get('img_path'))}) lacks "
            f'{field}.{missing} (docs/data_flow.md)')
    return {k: _to_numpy(instances[k]) for k in keys}


def _gfn_field(sample: dict, key: str, ndim: int) -> np.ndarray:
    """A sample's finite float32 GFN output (``scene_embedding`` (D,) or
    ``gfn_filter`` (3, D)), required with ``gfn=True``."""
    name = sample.get('img_name', sample.get('img_path'))
    if key not in sample:
        raise KeyError(
            f'PersonSearchMetric(gfn=True): {sample.get("sample_type")} '
            f"sample ({name}) lacks '{key}'; the model needs a Gallery "
            'Filter Network (roi_head.gfn_head)')
    value = _to_numpy(sample[key]).astype(np.float32)
    if value.ndim != ndim or not np.isfinite(value).all():
        raise ValueError(
            f'PersonSearchMetric: {key} of sample ({name}) must be finite '
            f"with {ndim} dimension(s), got shape {value.shape}")
    return value


def _finite_embeddings(sample: dict, embeddings: np.ndarray) -> np.ndarray:
    """float32 embeddings, rejecting NaN/inf (they would silently drop
    out of every ranking)."""
    embeddings = embeddings.astype(np.float32)
    if not np.isfinite(embeddings).all():
        raise ValueError(
            f'PersonSearchMetric: {sample.get("sample_type")} sample '
            f"({sample.get('img_name', sample.get('img_path'))}) has "
            'non-finite pred_instances.embeddings')
    return embeddings


def _to_numpy(value: Any) -> np.ndarray:
    """Tensor, mmdet boxes or array-like to a CPU numpy array."""
    value = getattr(value, 'tensor', value)  # mmdet BaseBoxes
    if isinstance(value, torch.Tensor):
        return value.numpy(force=True)  # detached, on the CPU
    return np.asarray(value)
