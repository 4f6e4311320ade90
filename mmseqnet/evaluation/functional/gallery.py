"""Per-query galleries of the CUHK-SYSU and PRW search protocols.

Both builders return a :class:`~.search.QueryGalleries` over the M gallery
(test) images, in the order of ``img_names``. Pure numpy: usable without
mmengine.
"""
from typing import Dict, List, Sequence

import numpy as np

from .search import QueryGalleries


def cuhk_sysu_galleries(img_names: Sequence[str],
                        query_img_names: Sequence[str],
                        gallery_lists: Sequence[dict]) -> QueryGalleries:
    """Galleries given by the CUHK-SYSU ``TestG<N>`` lists.

    As the standard evaluation code does:

    - ``count_gt`` goes up once per LISTED entry that has a box, duplicates
      included: a positive image listed twice adds 2 to ``count_gt`` and can
      give at most 1 true positive;
    - only the first entry of an image is scored, with that entry's box as
      the ground truth (a later entry's box is never looked at);
    - a query image listed in its own gallery is scored like any other
      image; listed images without detections still count.

    Gallery size -1 (``all_test_images``): every test image except the
    query's own is in the gallery ONCE and the listed (TestG50) entries give
    the positives; a listed query image stays in. The original code adds the
    50 listed images a second time, as negatives, because it marks them as
    seen too late; that bug is not reproduced, so gallery-size -1 numbers
    are those of the intended protocol.

    Args:
        img_names (Sequence[str]): (M,) names of the test images.
        query_img_names (Sequence[str]): (Q,) each query's image name.
        gallery_lists (Sequence[dict]): (Q,) each query's
            ``metainfo['queries'][i]['gallery']``: ``img_names`` (list of
            str, in file order, duplicates kept), ``bboxes`` ((n, 4) xyxy,
            NaN rows for entries without the query person) and
            ``all_test_images`` (bool).

    Returns:
        QueryGalleries: The protocol over the M images.
    """
    index = _name_index(img_names)
    num_queries = len(query_img_names)
    if len(gallery_lists) != num_queries:
        raise ValueError(
            f'cuhk_sysu_galleries: got {len(gallery_lists)} gallery lists '
            f'for {num_queries} queries')
    masks = np.zeros((num_queries, len(index)), dtype=bool)
    count_gt = np.zeros(num_queries, dtype=np.int64)
    pos_query: List[np.ndarray] = []
    pos_image: List[np.ndarray] = []
    pos_bboxes: List[np.ndarray] = []
    for q, gallery in enumerate(gallery_lists):
        names = list(gallery['img_names'])
        bboxes = np.asarray(gallery['bboxes'], dtype=np.float64)
        if bboxes.shape != (len(names), 4):
            raise ValueError(
                f'cuhk_sysu_galleries: query {q}: gallery bboxes must be '
                f'({len(names)}, 4) for {len(names)} img_names, got '
                f'{bboxes.shape}')
        missing = [name for name in names if name not in index]
        if missing:
            raise KeyError(
                f'cuhk_sysu_galleries: query {q} lists {missing[:3]} '
                f'({len(missing)} images) that are not among the '
                f'{len(index)} evaluated test images')
        listed = np.array([index[name] for name in names], dtype=np.int64)
        has_box = ~np.isnan(bboxes).any(axis=1)
        count_gt[q] = int(has_box.sum())
        if gallery.get('all_test_images', False):
            masks[q] = True
            own = index.get(query_img_names[q])
            if own is not None:
                masks[q, own] = False
        masks[q, listed] = True
        images, first_entry = np.unique(listed, return_index=True)
        scored = has_box[first_entry]
        pos_query.append(np.full(int(scored.sum()), q, dtype=np.int64))
        pos_image.append(images[scored])
        pos_bboxes.append(bboxes[first_entry[scored]])
    return _galleries(masks, count_gt, pos_query, pos_image, pos_bboxes)


def prw_galleries(img_names: Sequence[str],
                  img_cam_ids: Sequence[int],
                  gt_bboxes: Sequence[np.ndarray],
                  gt_person_ids: Sequence[np.ndarray],
                  query_img_names: Sequence[str],
                  query_person_ids: Sequence[int],
                  query_cam_ids: Sequence[int],
                  multi_view: bool = False) -> QueryGalleries:
    """Galleries of the PRW protocol, derived from the test images.

    Standard: every test frame except the query's own (same-camera frames
    included, the paper-standard setting). Multi-view: also drop every
    frame of the query's camera. ``count_gt`` counts the gallery frames that
    contain the query identity, whether or not they have detections; the
    first box of that identity in a frame is its ground truth.

    Args:
        img_names (Sequence[str]): (M,) names of the test frames.
        img_cam_ids (Sequence[int]): (M,) camera of each frame.
        gt_bboxes (Sequence[np.ndarray]): (M,) per frame (g_i, 4) xyxy
            ground truth.
        gt_person_ids (Sequence[np.ndarray]): (M,) per frame (g_i,) person
            ids (-1: unknown).
        query_img_names (Sequence[str]): (Q,) each query's frame.
        query_person_ids (Sequence[int]): (Q,) each query's identity.
        query_cam_ids (Sequence[int]): (Q,) each query's camera.
        multi_view (bool): Cross-camera gallery. Defaults to False.

    Returns:
        QueryGalleries: The protocol over the M frames.
    """
    index = _name_index(img_names)
    num_queries = len(query_img_names)
    masks = np.ones((num_queries, len(index)), dtype=bool)
    own = np.array([index.get(name, -1) for name in query_img_names],
                   dtype=np.int64).reshape(-1)
    masks[np.flatnonzero(own >= 0), own[own >= 0]] = False
    if multi_view:
        masks &= (
            np.asarray(img_cam_ids).reshape(1, -1)
            != np.asarray(query_cam_ids).reshape(-1, 1))

    # Ground truth grouped by identity, first box of an identity per frame.
    gt_pid = np.concatenate(
        [np.asarray(p, np.int64).ravel()
         for p in gt_person_ids] + [np.zeros(0, np.int64)])
    gt_image = np.repeat(
        np.arange(len(gt_person_ids)),
        [np.asarray(p).size for p in gt_person_ids]).astype(np.int64)
    gt_box = np.concatenate(
        [np.asarray(b, np.float64).reshape(-1, 4)
         for b in gt_bboxes] + [np.zeros((0, 4))])
    order = np.lexsort((np.arange(gt_pid.size), gt_image, gt_pid))
    gt_image, gt_pid, gt_box = gt_image[order], gt_pid[order], gt_box[order]
    first = np.ones(gt_pid.size, dtype=bool)
    first[1:] = (gt_pid[1:] != gt_pid[:-1]) | (gt_image[1:] != gt_image[:-1])
    gt_image, gt_pid, gt_box = gt_image[first], gt_pid[first], gt_box[first]

    query_person_ids = np.asarray(query_person_ids, np.int64).reshape(-1)
    lo = np.searchsorted(gt_pid, query_person_ids, side='left')
    hi = np.searchsorted(gt_pid, query_person_ids, side='right')
    # every frame holding each query's identity, query by query
    counts = hi - lo
    pos_query = np.repeat(np.arange(num_queries), counts)
    entries = np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(
        counts.sum())
    in_gallery = masks[pos_query, gt_image[entries]]
    pos_query, entries = pos_query[in_gallery], entries[in_gallery]
    count_gt = np.bincount(pos_query, minlength=num_queries).astype(np.int64)
    return _galleries(masks, count_gt, [pos_query], [gt_image[entries]],
                      [gt_box[entries]])


def _name_index(img_names: Sequence[str]) -> Dict[str, int]:
    """Map image name -> position, rejecting duplicate names."""
    index = {name: i for i, name in enumerate(img_names)}
    if len(index) != len(img_names):
        raise ValueError('gallery image names must be unique, got '
                         f'{len(img_names) - len(index)} duplicates')
    return index


def _galleries(masks: np.ndarray, count_gt: np.ndarray,
               pos_query: List[np.ndarray], pos_image: List[np.ndarray],
               pos_bboxes: List[np.ndarray]) -> QueryGalleries:
    """Concatenate per-query positives into a QueryGalleries."""
    empty_int = np.zeros(0, np.int64)
    return QueryGalleries(
        masks=masks,
        count_gt=count_gt,
        pos_query=np.concatenate(pos_query + [empty_int]),
        pos_image=np.concatenate(pos_image + [empty_int]),
        pos_bboxes=np.concatenate(pos_bboxes + [np.zeros((0, 4))]))
