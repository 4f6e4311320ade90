"""GalleryIndex (faiss) and PersonSearcher.rank over its candidates."""
import sys
from importlib.util import find_spec

import numpy as np
import pytest
import torch

from mmseqnet.apis import Gallery, GalleryIndex
from mmseqnet.testing import synthetic_gallery, tiny_person_searcher

needs_faiss = pytest.mark.skipif(
    find_spec('faiss') is None,
    reason='faiss is an optional extra: pip install mmseqnet[search]')


def exact_top(embeddings: np.ndarray, queries: np.ndarray,
              k: int) -> np.ndarray:
    sims = queries @ embeddings.T
    return np.argsort(-sims, axis=1, kind='stable')[:, :k]


def recall(found: np.ndarray, exact: np.ndarray) -> float:
    return float(
        np.mean([len(np.intersect1d(f, e)) / len(e)
                 for f, e in zip(found, exact)]))


@pytest.fixture(scope='module')
def identities():
    """20k 64-d detections of 320 identities and distractors, 50 queries."""
    return synthetic_gallery(
        20000, dim=64, num_queries=50, chunk_size=3000, seed=3)


def approximate(**kwargs) -> GalleryIndex:
    """An IVF-PQ index sized for the 20k test gallery."""
    return GalleryIndex(**dict(
        dict(exact_below=0, nlist=64, pq_m=16, nprobe=8, train_size=8192),
        **kwargs))


def test_missing_faiss_says_how_to_install(monkeypatch):
    # A None entry makes ``import faiss`` raise ImportError.
    monkeypatch.setitem(sys.modules, 'faiss', None)
    index = GalleryIndex()
    with pytest.raises(ImportError, match=r'pip install mmseqnet\[search\]'):
        index.build(np.eye(4, dtype=np.float32))
    with pytest.raises(ImportError, match=r'mmseqnet\[search\]'):
        GalleryIndex.load('any.faiss')


@needs_faiss
def test_exact_below_the_threshold(identities):
    index = GalleryIndex(exact_below=len(identities.embeddings) + 1)
    index.build(identities.embeddings)
    assert index.exact and index.kind == 'Flat'
    assert len(index) == len(identities.embeddings)
    scores, ids = index.search(identities.queries, 10)
    assert scores.shape == ids.shape == (50, 10)
    exact = exact_top(identities.embeddings, identities.queries, 10)
    assert recall(ids, exact) == 1.0
    np.testing.assert_allclose(
        scores,
        np.take_along_axis(identities.queries @ identities.embeddings.T, ids,
                           1),
        rtol=1e-5,
        atol=1e-6)
    with pytest.raises(ValueError, match=r'queries must be \(Q, 64\)'):
        index.search(identities.queries[:, :32], 10)
    # One query as (D,), more neighbours than the gallery holds.
    scores, ids = index.search(identities.queries[0], 5)
    assert ids.shape == (1, 5)
    small = GalleryIndex().build(identities.embeddings[:3])
    scores, ids = small.search(identities.queries[0], 5)
    assert (ids[0, 3:] == -1).all() and np.isneginf(scores[0, 3:]).all()
    assert sorted(ids[0, :3]) == [0, 1, 2]


@needs_faiss
def test_approximate_above_the_threshold(identities):
    index = approximate().build(identities.embeddings)
    assert not index.exact and index.kind == 'IVF64,PQ16x4fs'
    exact = exact_top(identities.embeddings, identities.queries, 10)
    _, raw = index.search(identities.queries, 10)
    scores, rescored = index.search(
        identities.queries, 10, identities.embeddings, num_candidates=200)
    # Re-scoring the candidates with the embeddings gives exact scores and
    # finds (nearly) every exact neighbour; the quantised scores alone
    # miss some of the near-ties within an identity.
    assert recall(rescored, exact) >= 0.95
    assert recall(rescored, exact) >= recall(raw, exact)
    np.testing.assert_allclose(
        scores,
        np.take_along_axis(identities.queries @ identities.embeddings.T,
                           rescored, 1),
        rtol=1e-5)
    assert (np.diff(scores, axis=1) <= 0).all()
    # nprobe is the speed / recall knob: one list finds less.
    index.nprobe = 1
    _, one_list = index.search(
        identities.queries, 10, identities.embeddings, num_candidates=200)
    assert recall(one_list, exact) < recall(rescored, exact)


@needs_faiss
def test_build_from_a_memory_map_in_chunks(identities, tmp_path):
    path = str(tmp_path / 'embeddings.npy')
    mapped = synthetic_gallery(
        20000, dim=64, num_queries=50, chunk_size=3000, path=path, seed=3)
    # Written through a memory map or in memory, the same gallery; opening
    # it again reads the file.
    np.testing.assert_array_equal(mapped.embeddings, identities.embeddings)
    assert isinstance(mapped.embeddings, np.memmap)
    reopened = synthetic_gallery(
        20000, dim=64, num_queries=50, path=path, seed=3)
    np.testing.assert_array_equal(reopened.queries, identities.queries)
    with pytest.raises(ValueError, match='not \\(100, 64\\)'):
        synthetic_gallery(100, dim=64, path=path)

    # The gallery reaches faiss 6000 rows at a time.
    faiss = pytest.importorskip('faiss')
    added = []
    add = faiss.IndexIVFPQFastScan.add

    def watched_add(self, x):
        added.append(len(x))
        return add(self, x)

    index = approximate(chunk_size=6000)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(faiss.IndexIVFPQFastScan, 'add', watched_add)
        index.build(mapped.embeddings)
    assert added == [6000, 6000, 6000, 2000]
    in_memory = approximate().build(np.array(identities.embeddings))
    np.testing.assert_array_equal(
        index.search(identities.queries, 10)[1],
        in_memory.search(identities.queries, 10)[1])


@needs_faiss
@pytest.mark.parametrize('exact', [True, False])
def test_save_load(identities, tmp_path, exact):
    index = (GalleryIndex() if exact else approximate(nprobe=4)).build(
        identities.embeddings)
    path = str(tmp_path / 'gallery.faiss')
    index.save(path)
    loaded = GalleryIndex.load(path, gallery_size=20000)
    assert loaded.kind == index.kind and loaded.nprobe == index.nprobe
    assert loaded.settings() == index.settings()
    for a, b in zip(index.search(identities.queries, 10),
                    loaded.search(identities.queries, 10)):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match='built for a gallery of 20000 '
                       'detections, this gallery has 19999'):
        GalleryIndex.load(path, gallery_size=19999)
    with pytest.raises(FileNotFoundError, match='other.faiss does not'):
        GalleryIndex.load(str(tmp_path / 'other.faiss'))
    with pytest.raises(RuntimeError, match='before build'):
        GalleryIndex().search(identities.queries, 10)


@needs_faiss
def test_threads_follow_torch(identities):
    import faiss
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        GalleryIndex().build(identities.embeddings[:100])
        assert faiss.omp_get_max_threads() == 1
        GalleryIndex(threads=2).build(identities.embeddings[:100])
        assert faiss.omp_get_max_threads() == 2
    finally:
        torch.set_num_threads(threads)


@pytest.fixture
def searcher():
    """rank() needs no detector: the tiny stand-in, CBGM k1=4, k2=2."""
    return tiny_person_searcher(k1=4, k2=2)


def small_gallery(seed: int) -> Gallery:
    """60 detections in 20 images of 1 to 5 detections, with scenes."""
    rng = np.random.default_rng(seed)
    image_ids = np.sort(
        np.concatenate([np.arange(20),
                        rng.integers(0, 20, 40)])).astype(np.int64)
    embeddings = rng.standard_normal((60, 16)).astype(np.float32)
    embeddings /= np.linalg.norm(embeddings, axis=1, keepdims=True)
    return Gallery(
        sources=[f'{i}.jpg' for i in range(20)],
        image_ids=image_ids,
        bboxes=rng.uniform(0, 100, (60, 4)).astype(np.float32),
        scores=rng.uniform(0.5, 1, 60).astype(np.float32),
        embeddings=embeddings,
        scene_embeddings=rng.standard_normal((20, 16)).astype(np.float32))


@needs_faiss
@pytest.mark.parametrize('use_cbgm', [False, True])
@pytest.mark.parametrize('use_gfn', [False, True])
@pytest.mark.parametrize('num_candidates', [None, 12])
def test_rank_with_an_exact_index_is_rank(searcher, use_cbgm, use_gfn,
                                          num_candidates):
    gallery = small_gallery(0)
    index = GalleryIndex().build(gallery.embeddings)
    rng = np.random.default_rng(1)
    query = gallery.embeddings[7]
    context = gallery.embeddings[[7, 30, 41]]
    gfn_filter = rng.standard_normal((3, 16)).astype(np.float32) \
        if use_gfn else None
    plain = searcher.rank(gallery, query, context, 10, use_cbgm, gfn_filter)
    ranked = searcher.rank(gallery, query, context, 10, use_cbgm,
                           gfn_filter, index=index,
                           num_candidates=num_candidates)
    if num_candidates is None or not use_gfn:
        # Every detection retrieved, or the k1 and top 10 best among the
        # candidates: the same matches and values.
        assert [(m.rank, m.source, m.bbox, m.score)
                for m in ranked.matches] == [(m.rank, m.source, m.bbox,
                                              m.score)
                                             for m in plain.matches]
        np.testing.assert_allclose([m.similarity for m in ranked.matches],
                                   [m.similarity for m in plain.matches],
                                   rtol=1e-6)
    retrieved = np.isfinite(ranked.similarities)
    assert ranked.similarities.shape == (60, )
    if num_candidates is None:
        assert retrieved.all()
    else:
        # The 12 candidates, and for CBGM the other detections of the
        # images of the k1 best.
        assert 12 <= retrieved.sum() < 60
        assert use_cbgm or retrieved.sum() == 12
    if not (use_cbgm and use_gfn and num_candidates):
        # (GFN may move other images into CBGM's k1 best than the
        # candidates hold.)
        np.testing.assert_allclose(ranked.similarities[retrieved],
                                   plain.similarities[retrieved],
                                   rtol=1e-6)


@needs_faiss
def test_rank_with_an_approximate_index(searcher, identities):
    gallery = Gallery(
        sources=[f'{i}.jpg' for i in range(5000)],
        image_ids=np.arange(20000) // 4,
        # Each detection's row in its box, to read it back from a match.
        bboxes=np.repeat(np.arange(20000, dtype=np.float32)[:, None], 4, 1),
        scores=np.ones(20000, np.float32),
        embeddings=identities.embeddings)
    index = approximate().build(gallery.embeddings)
    exact = exact_top(gallery.embeddings, identities.queries, 10)
    found = [[
        int(m.bbox[0]) for m in searcher.rank(
            gallery, query, topk=10, index=index,
            num_candidates=200).matches
    ] for query in identities.queries]
    assert recall(np.array(found), exact) >= 0.95
    with pytest.raises(ValueError, match='The index holds 100 detections, '
                       'the gallery 20000'):
        searcher.rank(gallery, identities.queries[0],
                      index=GalleryIndex().build(gallery.embeddings[:100]))


@needs_faiss
def test_index_beside_a_memory_mapped_gallery(searcher, tmp_path):
    small_gallery(2).save(str(tmp_path / 'gallery'))
    gallery = Gallery.load(str(tmp_path / 'gallery'))
    assert isinstance(gallery.embeddings, np.memmap)
    path = str(tmp_path / 'gallery' / 'index.faiss')
    GalleryIndex().build(gallery.embeddings).save(path)
    index = GalleryIndex.load(path, gallery_size=len(gallery))
    query, context = gallery.embeddings[5], gallery.embeddings[[5, 9]]
    plain = searcher.rank(gallery, query, context, 5, use_cbgm=True)
    ranked = searcher.rank(gallery, query, context, 5, use_cbgm=True,
                           index=index, num_candidates=8)
    assert [m.bbox for m in ranked.matches] == [m.bbox for m in plain.matches]
