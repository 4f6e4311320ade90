import numpy as np
import pytest

from mmseqnet.evaluation.functional import cuhk_sysu_galleries, prw_galleries
from mmseqnet.testing import require_reference

NAN4 = [np.nan] * 4


def cuhk_list(entries, all_test_images=False):
    return dict(
        img_names=[name for name, _ in entries],
        bboxes=np.array([box for _, box in entries],
                        np.float32).reshape(-1, 4),
        all_test_images=all_test_images)


def test_cuhk_sysu_duplicates_and_first_entry():
    names = ['q.jpg', 'a.jpg', 'b.jpg', 'c.jpg', 'd.jpg']
    box_a, box_a2, box_b = [0, 0, 10, 20], [5, 5, 15, 25], [1, 1, 9, 9]
    galleries = cuhk_sysu_galleries(names, ['q.jpg'], [
        cuhk_list([('a.jpg', box_a), ('b.jpg', box_b), ('a.jpg', box_a2),
                   ('c.jpg', NAN4), ('c.jpg', NAN4)])
    ])
    # three listed entries with a box (duplicate of a.jpg included)
    assert galleries.count_gt.tolist() == [3]
    assert galleries.masks.tolist() == [[False, True, True, True, False]]
    # a.jpg is scored once, with its FIRST entry's box
    assert galleries.pos_query.tolist() == [0, 0]
    assert galleries.pos_image.tolist() == [1, 2]
    assert galleries.pos_bboxes.tolist() == [box_a, box_b]


def test_cuhk_sysu_own_image_listed_and_all_test_images():
    names = ['q.jpg', 'a.jpg', 'b.jpg', 'c.jpg']
    listed = cuhk_list([('q.jpg', [0, 0, 4, 4]), ('a.jpg', NAN4)])
    galleries = cuhk_sysu_galleries(names, ['q.jpg'], [listed])
    # a query image listed in its own gallery is scored like any other
    assert galleries.masks.tolist() == [[True, True, False, False]]
    assert galleries.pos_image.tolist() == [0]

    full = cuhk_list([('a.jpg', [0, 0, 4, 4]), ('b.jpg', NAN4)], True)
    galleries = cuhk_sysu_galleries(
        names, ['q.jpg', 'q.jpg'], [full, listed | dict(all_test_images=True)])
    # every test image once except the query's own, unless it is listed
    assert galleries.masks.tolist() == [[False, True, True, True],
                                        [True, True, True, True]]
    assert galleries.count_gt.tolist() == [1, 1]
    assert galleries.pos_query.tolist() == [0, 1]
    assert galleries.pos_image.tolist() == [1, 0]


def test_cuhk_sysu_bad_input():
    with pytest.raises(KeyError, match='not among'):
        cuhk_sysu_galleries(['a.jpg'], ['a.jpg'],
                            [cuhk_list([('z.jpg', NAN4)])])
    with pytest.raises(ValueError, match=r'\(1, 4\)'):
        cuhk_sysu_galleries(
            ['a.jpg'], ['a.jpg'],
            [dict(img_names=['a.jpg'], bboxes=np.zeros((2, 4)))])
    with pytest.raises(ValueError, match='unique'):
        cuhk_sysu_galleries(['a.jpg', 'a.jpg'], [], [])


def test_prw_standard_and_multi_view():
    names = ['c1_q', 'c1_a', 'c2_b', 'c2_c', 'c3_d']
    cams = [1, 1, 2, 2, 3]
    boxes = [np.array([[0, 0, 10, 10], [20, 0, 30, 10]], np.float32)] * 5
    pids = [
        np.array([7, -1]),
        np.array([7, 3]),
        np.array([3, 7]),
        np.array([-1, -1]),
        np.array([7, 7])
    ]
    galleries = prw_galleries(names, cams, boxes, pids, ['c1_q'], [7], [1])
    assert galleries.masks.tolist() == [[False, True, True, True, True]]
    # frames with pid 7 except the query's own; first box of the pid per
    # frame
    assert galleries.count_gt.tolist() == [3]
    assert galleries.pos_image.tolist() == [1, 2, 4]
    assert galleries.pos_bboxes.tolist() == [[0, 0, 10, 10], [20, 0, 30, 10],
                                             [0, 0, 10, 10]]
    multi_view = prw_galleries(
        names, cams, boxes, pids, ['c1_q'], [7], [1], multi_view=True)
    assert multi_view.masks.tolist() == [[False, False, True, True, True]]
    assert multi_view.count_gt.tolist() == [2]
    assert multi_view.pos_image.tolist() == [2, 4]


def test_prw_query_without_gt_in_gallery():
    galleries = prw_galleries(['a', 'b'], [1, 2], [np.zeros((1, 4))] * 2,
                              [np.array([5]), np.array([6])], ['a'], [5], [1])
    assert galleries.count_gt.tolist() == [0]
    assert galleries.pos_image.size == 0


def test_cuhk_sysu_quirks_of_the_real_protocol():
    """TestG100.mat: the four queries listing a positive image twice and the
    two listing their own image come out as the protocol says."""
    path = require_reference('cuhk_sysu', 'TestG100.mat')
    from mmseqnet.datasets import read_cuhk_sysu_protocol
    queries = read_cuhk_sysu_protocol(str(path), 'TestG100', False)
    names = sorted({q.img_name
                    for q in queries}
                   | {n
                      for q in queries
                      for n in q.gallery['img_names']})
    galleries = cuhk_sysu_galleries(names, [q.img_name for q in queries],
                                    [q.gallery for q in queries])
    positive_images = np.bincount(galleries.pos_query, minlength=len(queries))
    assert np.flatnonzero(galleries.count_gt > positive_images).tolist() == [
        1250, 1633, 1997, 2561
    ]
    own = np.array([names.index(q.img_name) for q in queries])
    in_own_gallery = galleries.masks[np.arange(len(queries)), own]
    assert np.flatnonzero(in_own_gallery).tolist() == [493, 2132]
    # every gallery holds 100 images but the duplicated ones
    assert (galleries.masks.sum(1) == 100).sum() == len(queries) - 4
