"""ShardedGallery: shards written in any order, merged into one
memory-mapped gallery; resuming checks that nothing changed."""
import json
import os
import tracemalloc

import numpy as np
import pytest

from mmseqnet.apis import Gallery, ShardedGallery

FINGERPRINT = dict(checkpoint_sha256='abc', frame_step=1, score_thr=None)


def shard_part(sources, dim=8, scenes=True, seed=0) -> Gallery:
    """A shard's gallery: a varying number of detections per source (none
    for some), image ids counted from the shard's first source."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, 4, len(sources))
    n = int(counts.sum())
    return Gallery(
        sources=list(sources),
        image_ids=np.repeat(np.arange(len(sources)), counts),
        bboxes=rng.uniform(0, 100, (n, 4)).astype(np.float32),
        scores=rng.uniform(0, 1, n).astype(np.float32),
        embeddings=rng.normal(size=(n, dim)).astype(np.float32),
        scene_embeddings=rng.normal(size=(len(sources), dim)).astype(
            np.float32) if scenes else None)


def concatenate(parts, starts) -> Gallery:
    return Gallery(
        sources=[s for part in parts for s in part.sources],
        image_ids=np.concatenate(
            [part.image_ids + start for part, start in zip(parts, starts)]),
        bboxes=np.concatenate([part.bboxes for part in parts]),
        scores=np.concatenate([part.scores for part in parts]),
        embeddings=np.concatenate([part.embeddings for part in parts]),
        scene_embeddings=np.concatenate(
            [part.scene_embeddings for part in parts]))


@pytest.fixture
def sources():
    return [f'video.mp4#frame={i}' for i in range(10)]


def test_shards_merge_into_one_mapped_gallery(tmp_path, sources):
    path = str(tmp_path / 'gallery')
    sharded = ShardedGallery.prepare(path, sources, 4, FINGERPRINT,
                                     dict(config='a.py'))
    assert not sharded.complete
    assert [sharded.shard_range(i) for i in range(3)] == [(0, 4), (4, 8),
                                                          (8, 10)]
    with pytest.raises(ValueError, match='still being indexed'):
        Gallery.load(path)
    parts = [
        shard_part(sources[start:end], seed=start)
        for start, end in ((0, 4), (4, 8), (8, 10))
    ]
    for index in (2, 0, 1):  # as the ranks finish
        sharded.write_shard(index, parts[index])
        assert sharded.is_done(index)
    merged = sharded.merge()

    expected = concatenate(parts, (0, 4, 8))
    assert merged.sources == sources
    for name, array in expected.arrays().items():
        assert isinstance(getattr(merged, name), np.memmap), name
        np.testing.assert_array_equal(getattr(merged, name), array)
    assert not os.path.exists(os.path.join(path, 'shards'))
    manifest = json.loads(open(os.path.join(path, 'manifest.json')).read())
    assert manifest['status'] == 'complete'
    assert manifest['fingerprint'] == FINGERPRINT
    assert manifest['info'] == dict(config='a.py')
    assert [s['status'] for s in manifest['shards']] == ['merged'] * 3

    again = ShardedGallery.prepare(path, sources, 4, FINGERPRINT)
    assert again.complete and again.is_done(1)


def test_resuming_checks_the_run_and_keeps_finished_shards(
        tmp_path, sources):
    path = str(tmp_path / 'gallery')
    sharded = ShardedGallery.prepare(path, sources, 4, FINGERPRINT)
    sharded.write_shard(1, shard_part(sources[4:8]))
    written = os.stat(os.path.join(sharded.shard_path(1), 'embeddings.npy'))
    # A killed run's half-written shard.
    os.makedirs(os.path.join(path, 'shards', '.000000.123.tmp'))

    with pytest.raises(ValueError, match=r"checkpoint_sha256: 'abc' "
                       r"recorded, 'def' now"):
        ShardedGallery.prepare(path, sources, 4,
                               dict(FINGERPRINT, checkpoint_sha256='def'))
    with pytest.raises(ValueError, match='shard size 4, not 5'):
        ShardedGallery.prepare(path, sources, 5, FINGERPRINT)
    with pytest.raises(ValueError, match='first difference at #3'):
        ShardedGallery.prepare(path, sources[:3] + ['x'] + sources[4:], 4,
                               FINGERPRINT)
    with pytest.raises(ValueError, match='10 sources, now 11'):
        ShardedGallery.prepare(path, sources + ['y'], 4, FINGERPRINT)
    with pytest.raises(RuntimeError, match='2 of 3 shards .* not indexed'):
        sharded.merge()

    resumed = ShardedGallery.prepare(path, sources, 4, FINGERPRINT)
    assert [resumed.is_done(i) for i in range(3)] == [False, True, False]
    assert os.listdir(os.path.join(path, 'shards')) == ['000001']
    assert [s['status'] for s in resumed.manifest['shards']
            ] == ['pending', 'done', 'pending']
    assert os.stat(os.path.join(resumed.shard_path(1),
                                'embeddings.npy')).st_mtime_ns == \
        written.st_mtime_ns
    with pytest.raises(ValueError, match='holds other sources'):
        resumed.write_shard(0, shard_part(sources[1:5]))


def test_prepare_refuses_bad_starts(tmp_path, sources):
    (tmp_path / 'used' / 'photos').mkdir(parents=True)
    with pytest.raises(FileExistsError, match='holds files but no manifest'):
        ShardedGallery.prepare(str(tmp_path / 'used'), sources, 4,
                               FINGERPRINT)
    with pytest.raises(ValueError, match='No gallery sources'):
        ShardedGallery.prepare(str(tmp_path / 'new'), [], 4, FINGERPRINT)
    with pytest.raises(ValueError, match='shard_size must be positive'):
        ShardedGallery.prepare(str(tmp_path / 'new'), sources, 0, FINGERPRINT)
    Gallery.save(shard_part(sources), str(tmp_path / 'saved'))
    with pytest.raises(ValueError, match='not a gallery that tools/index_'):
        ShardedGallery(str(tmp_path / 'saved'))


def test_shards_that_disagree_are_not_merged(tmp_path, sources):
    sharded = ShardedGallery.prepare(
        str(tmp_path / 'gallery'), sources, 5, FINGERPRINT)
    sharded.write_shard(0, shard_part(sources[:5]))
    sharded.write_shard(1, shard_part(sources[5:], scenes=False))
    with pytest.raises(ValueError, match='000001 holds the arrays'):
        sharded.merge()


def test_merge_holds_one_shard_in_memory(tmp_path):
    """20 shards of 1000 detections x 64 floats (256 KB of embeddings
    each): merging allocates about one shard, not the gallery."""
    sources = [f'frame_{i}.jpg' for i in range(200)]
    sharded = ShardedGallery.prepare(
        str(tmp_path / 'gallery'), sources, 10, FINGERPRINT)
    rng = np.random.default_rng(0)
    for index in range(20):
        n = 1000
        sharded.write_shard(
            index,
            Gallery(
                sources=sources[10 * index:10 * index + 10],
                image_ids=np.repeat(np.arange(10), n // 10),
                bboxes=rng.uniform(0, 9, (n, 4)).astype(np.float32),
                scores=np.ones(n, np.float32),
                embeddings=rng.normal(size=(n, 64)).astype(np.float32)))
    shard_bytes = 1000 * (64 * 4 + 4 * 4 + 4 + 8)
    tracemalloc.start()
    try:
        merged = sharded.merge()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(merged) == 20000
    assert merged.image_ids[-1] == 199
    assert peak < 2 * shard_bytes, peak
