"""tools/index_gallery.py: two gloo processes, and a killed run resumed,
give the gallery that PersonSearcher.index gives in one process."""
import glob
import os
import os.path as osp
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

from mmseqnet.apis import Gallery, GalleryIndex, PersonSearcher, link_tracks
from mmseqnet.testing import REPO_ROOT, load_tool, tiny_seqnet_cfg

TOOL = str(REPO_ROOT / 'tools' / 'index_gallery.py')
NUM_IMAGES = 8
# Shards of 2 images in batches of 2: every run forms the same batches.
OPTIONS = ['--shard-size', '2', '--batch-size', '2', '--score-thr', '0']


@pytest.fixture(scope='module')
def model_files(synthetic_prw_root, tmp_path_factory):
    """A tiny random SeqNet (config, checkpoint) and an image list."""
    if not osp.isfile(TOOL):
        pytest.skip(f'{TOOL} not found')
    folder = tmp_path_factory.mktemp('index_gallery')
    cfg = Config.fromfile(
        str(REPO_ROOT / 'configs' / 'seqnet_light_synthetic_prw.py'))
    cfg.model = tiny_seqnet_cfg()
    cfg.test_dataloader.dataset.pipeline = [
        dict(type='LoadCheckedImageFromFile'),
        dict(type='Resize', scale=(240, 135), keep_ratio=True),
        dict(type='PackPersonSearchInputs')
    ]
    config = str(folder / 'tiny.py')
    cfg.dump(config)
    # Module-scoped: before the autouse fixture that sets mmdet's scope.
    init_default_scope('mmdet')
    torch.manual_seed(0)
    checkpoint = str(folder / 'tiny.pth')
    torch.save({
        'state_dict': MODELS.build(cfg.model).state_dict(),
        'meta': {}
    }, checkpoint)
    frames = sorted(glob.glob(osp.join(synthetic_prw_root, 'frames',
                                       '*.jpg')))[:NUM_IMAGES]
    image_list = str(folder / 'images.txt')
    with open(image_list, 'w') as f:
        f.write('\n'.join(frames) + '\n')
    return config, checkpoint, image_list


@pytest.fixture(scope='module')
def reference(model_files):
    """The gallery of PersonSearcher.index, in this process."""
    config, checkpoint, image_list = model_files
    searcher = PersonSearcher.from_config(
        config, checkpoint, batch_size=2, score_thr=0.0)
    return searcher.index(image_list, show_progress=False)


def assert_same_gallery(gallery: Gallery, expected: Gallery) -> None:
    assert gallery.sources == expected.sources
    assert isinstance(gallery.embeddings, np.memmap)
    assert len(gallery) == len(expected) > 0
    np.testing.assert_array_equal(gallery.image_ids, expected.image_ids)
    np.testing.assert_allclose(gallery.bboxes, expected.bboxes, atol=1e-3)
    np.testing.assert_allclose(gallery.scores, expected.scores, atol=1e-5)
    np.testing.assert_allclose(
        gallery.embeddings, expected.embeddings, atol=1e-5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def tool_env() -> dict:
    return dict(os.environ, OMP_NUM_THREADS='1', PYTHONUNBUFFERED='1')


def run_in_process(monkeypatch, *args) -> None:
    """Run the tool's main() here (one process, no launcher)."""
    tool = load_tool('index_gallery.py')
    monkeypatch.setenv('LOCAL_RANK', '0')
    monkeypatch.setattr(sys, 'argv', ['index_gallery.py', *args])
    tool.main()


def test_two_gloo_processes_give_the_single_process_gallery(
        model_files, reference, tmp_path):
    config, checkpoint, image_list = model_files
    out = str(tmp_path / 'gallery')
    result = subprocess.run(
        [
            sys.executable, '-m', 'torch.distributed.run',
            '--nproc_per_node', '2', '--master_addr', '127.0.0.1',
            '--master_port',
            str(free_port()), TOOL, config, checkpoint, '--sources',
            image_list, '--out', out, '--launcher', 'pytorch', *OPTIONS
        ],
        cwd=REPO_ROOT,
        env=tool_env(),
        capture_output=True,
        text=True,
        timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    printed = result.stdout + result.stderr
    # Each rank indexes every second shard and says so.
    for rank, shards in ((0, (0, 2)), (1, (1, 3))):
        for shard in shards:
            assert f'[rank {rank}/2] shard {shard} ' in printed, printed
    assert len(glob.glob(osp.join(out, 'logs', '*rank1.log'))) == 1
    assert_same_gallery(Gallery.load(out), reference)


def test_killed_run_resumes_without_redoing_shards(model_files, reference,
                                                   tmp_path, monkeypatch,
                                                   capsys):
    config, checkpoint, image_list = model_files
    out = str(tmp_path / 'gallery')
    process = subprocess.Popen(
        [
            sys.executable, TOOL, config, checkpoint, '--sources', image_list,
            '--out', out, *OPTIONS
        ],
        cwd=REPO_ROOT,
        env=tool_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True)
    first_shard = osp.join(out, 'shards', '000000', 'manifest.json')
    deadline = time.time() + 600
    while process.poll() is None and not osp.isfile(first_shard) and \
            time.time() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, process.stderr.read()[-3000:]
    process.send_signal(signal.SIGKILL)
    process.wait()
    process.stderr.close()

    shards = osp.join(out, 'shards')
    done = sorted(int(name) for name in os.listdir(shards)
                  if not name.startswith('.'))
    assert 0 in done and len(done) < NUM_IMAGES // 2
    written = {
        index: os.stat(osp.join(shards, f'{index:06d}', 'embeddings.npy'))
        for index in done
    }
    other = str(tmp_path / 'other.pth')
    torch.save({'state_dict': {}, 'meta': {}}, other)
    with pytest.raises(ValueError, match='indexed with another model'):
        run_in_process(monkeypatch, config, other, '--sources', image_list,
                       '--out', out, *OPTIONS)
    # Nothing was touched by the refused run.
    for index, stat in written.items():
        assert os.stat(osp.join(shards, f'{index:06d}',
                                'embeddings.npy')).st_mtime_ns == \
            stat.st_mtime_ns

    capsys.readouterr()
    run_in_process(monkeypatch, config, checkpoint, '--sources', image_list,
                   '--out', out, *OPTIONS)
    printed = capsys.readouterr().out
    assert f'{len(done)} of {NUM_IMAGES // 2} shards already done' in printed
    for index in range(NUM_IMAGES // 2):
        assert (f'shard {index} ' in printed) == (index not in done), printed
    assert_same_gallery(Gallery.load(out), reference)

    run_in_process(monkeypatch, config, checkpoint, '--sources', image_list,
                   '--out', out, *OPTIONS)
    assert 'is complete already' in capsys.readouterr().out


def test_video_sources_get_person_tracks(model_files, tmp_path, monkeypatch,
                                         capsys):
    """Once merged, the detections of a video gallery are linked into person
    tracks (a track may cross shards) and stored beside the gallery, with
    the nearest-neighbour index asked for."""
    pytest.importorskip('trackers')
    from mmseqnet.datasets.synthetic import generate_videos
    config, checkpoint, _ = model_files
    video = generate_videos(
        str(tmp_path / 'video'),
        seed=0,
        num_videos=1,
        num_identities=2,
        num_passersby=0,
        num_frames=8,
        frame_size=(256, 144))['videos'][0]['video']
    out = str(tmp_path / 'gallery')
    pytest.importorskip('faiss')
    run_in_process(monkeypatch, config, checkpoint, '--sources', video,
                   '--out', out, '--ann-index', *OPTIONS)
    assert 'person tracks' in capsys.readouterr().out
    index = GalleryIndex.load(osp.join(out, 'index.faiss'))
    gallery = Gallery.load(out)
    assert len(gallery.sources) == 8 and len(gallery) > 0
    assert isinstance(gallery.track_ids, np.memmap)
    assert gallery.track_ids.shape == (len(gallery), )
    # The random model's boxes hardly form tracks: compare with linking
    # the merged gallery here.
    np.testing.assert_array_equal(gallery.track_ids, link_tracks(gallery))
    assert index.exact and len(index) == len(gallery)
