"""Indexed gallery images: their sources (images, video frames) and the
detections and embeddings a person-search model gave them.

A gallery is stored either as one ``.npz`` file (read whole into memory) or as
a gallery directory, whose arrays are memory-mapped when opened::

    <gallery>/manifest.json     format, version, sizes, the arrays' shapes
    <gallery>/sources.json      the sources, one per gallery image
    <gallery>/<array>.npy       image_ids, bboxes, scores, embeddings and the
                                optional scene_embeddings and track_ids

``tools/index_gallery.py`` writes such a directory shard by shard (see
:class:`~mmseqnet.apis.sharded_gallery.ShardedGallery`); its manifest also
records the model and the shards.
"""
import functools
import json
import os
import os.path as osp
import threading
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Union

import mmcv
import numpy as np

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.mpg', '.mpeg')
FRAME_SEPARATOR = '#frame='
IMAGE_LIST_EXTENSION = '.txt'

GALLERY_FORMAT = 'mmseqnet-gallery'
GALLERY_FORMAT_VERSION = 1
MANIFEST_FILE = 'manifest.json'
SOURCES_FILE = 'sources.json'

# Every gallery array: its dtype and its shape, 'N' standing for the number
# of detections and 'M' for the number of sources.
_ARRAY_LAYOUT = dict(
    image_ids=(np.int64, ('N', )),
    bboxes=(np.float32, ('N', 4)),
    scores=(np.float32, ('N', )),
    embeddings=(np.float32, ('N', None)),
    scene_embeddings=(np.float32, ('M', None)),
    track_ids=(np.int64, ('N', )))
_OPTIONAL_ARRAYS = ('scene_embeddings', 'track_ids')


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
        track_ids (np.ndarray, optional): (N,) int64 the track of each
            detection across consecutive video frames, -1 for none; None
            when the gallery's tracks were not linked.

    Opened from a gallery directory, the arrays are read-only
    ``np.memmap``: ``embeddings @ query`` streams them from disk.
    """
    sources: List[str]
    image_ids: np.ndarray
    bboxes: np.ndarray
    scores: np.ndarray
    embeddings: np.ndarray
    scene_embeddings: Optional[np.ndarray] = None
    track_ids: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return len(self.scores)

    def arrays(self) -> Dict[str, np.ndarray]:
        """The gallery's arrays by name (the optional ones when present)."""
        return {
            name: getattr(self, name)
            for name in _ARRAY_LAYOUT if getattr(self, name) is not None
        }

    def save(self, path: str) -> None:
        """Write the gallery (no pickle inside).

        Args:
            path (str): A path ending in ``.npz`` gets one compressed
                ``.npz`` file; any other path a gallery directory (see the
                module's docstring), which :meth:`load` memory-maps. Arrays
                of a directory are replaced file by file, so a gallery
                loaded from it stays readable while it is saved again.
        """
        arrays = _gallery_arrays(self.arrays(), len(self.sources), path)
        if path.endswith('.npz'):
            os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
            np.savez_compressed(
                path, sources=np.array(json.dumps(self.sources)), **arrays)
            return
        if osp.exists(path) and not osp.isdir(path):
            raise FileExistsError(
                f'{path} is a file: a gallery is saved to a directory, or '
                'to a path ending in .npz.')
        os.makedirs(path, exist_ok=True)
        write_json(osp.join(path, SOURCES_FILE), self.sources)
        _write_arrays(path, arrays)
        write_manifest(path, gallery_manifest(self.sources, arrays))

    def save_arrays(self, path: str, names: Sequence[str]) -> None:
        """Write only some arrays of the gallery into its directory.

        For what is added to a gallery after indexing (e.g. its
        ``track_ids``): the other arrays, the embeddings among them, are
        neither read nor rewritten, and the manifest keeps its other
        entries (what indexed the gallery).

        Args:
            path (str): The gallery's directory (written by :meth:`save`
                or ``tools/index_gallery.py``) or ``.npz`` file, which is
                rewritten whole.
            names (Sequence[str]): The arrays to write.
        """
        if path.endswith('.npz'):
            self.save(path)
            return
        manifest = read_manifest(path)
        if manifest['num_sources'] != len(self.sources) or \
                manifest.get('num_detections') != len(self):
            raise ValueError(
                f'{path} holds another gallery ({manifest["num_sources"]} '
                f'sources, {manifest.get("num_detections")} detections) '
                f'than this one ({len(self.sources)}, {len(self)}).')
        # The scores give the number of detections the others are checked
        # against.
        checked = _gallery_arrays(
            dict(scores=self.scores, **{
                name: getattr(self, name)
                for name in names
            }), len(self.sources), path)
        _write_arrays(path, {name: checked[name] for name in names})
        manifest['arrays'].update(
            gallery_manifest(self.sources, self.arrays())['arrays'])
        write_manifest(path, manifest)

    @classmethod
    def load(cls, path: str) -> 'Gallery':
        """Read a gallery written by :meth:`save` or
        ``tools/index_gallery.py``.

        Args:
            path (str): An ``.npz`` file (read into memory) or a gallery
                directory (arrays opened with ``mmap_mode='r'``).

        Returns:
            Gallery: The gallery.
        """
        if osp.isdir(path):
            return cls._load_directory(path)
        if not osp.isfile(path):
            raise FileNotFoundError(
                f'Gallery {path} does not exist (an .npz file or a gallery '
                'directory was expected).')
        with np.load(path, allow_pickle=False) as data:
            missing = {'sources', 'image_ids', 'bboxes', 'scores',
                       'embeddings'} - set(data.files)
            if missing:
                raise ValueError(
                    f'{path} is not a gallery file written by '
                    f'Gallery.save: missing {sorted(missing)}')
            arrays = {
                name: data[name]
                for name in _ARRAY_LAYOUT if name in data.files
            }
            sources = json.loads(str(data['sources']))
        return cls(
            sources=sources, **_gallery_arrays(arrays, len(sources), path))

    @classmethod
    def _load_directory(cls, path: str) -> 'Gallery':
        manifest = read_manifest(path)
        if manifest['status'] != 'complete':
            done = sum(shard['status'] != 'pending'
                       for shard in manifest.get('shards', []))
            raise ValueError(
                f'{path} is a gallery still being indexed (status '
                f"{manifest['status']!r}, {done} of "
                f"{len(manifest.get('shards', []))} shards recorded done): "
                'run tools/index_gallery.py on it again to finish it.')
        sources = read_json(osp.join(path, manifest['sources_file']))
        if not isinstance(sources, list) or len(sources) != \
                manifest['num_sources']:
            raise ValueError(
                f"{osp.join(path, manifest['sources_file'])} should list "
                f"{manifest['num_sources']} sources (manifest.json).")
        arrays = {}
        for name, info in manifest['arrays'].items():
            file = osp.join(path, info['file'])
            if not osp.isfile(file):
                raise FileNotFoundError(
                    f'{file} is missing: {path}/{MANIFEST_FILE} lists it as '
                    f"the gallery's {name} {tuple(info['shape'])}.")
            try:
                array = np.load(file, mmap_mode='r', allow_pickle=False)
            except ValueError as error:
                raise ValueError(f'{file} is not a .npy array file: '
                                 f'{error}') from error
            if list(array.shape) != info['shape'] or \
                    array.dtype != np.dtype(info['dtype']):
                raise ValueError(
                    f"{file} holds {array.dtype} {array.shape}; "
                    f"{path}/{MANIFEST_FILE} expects {info['dtype']} "
                    f"{tuple(info['shape'])}.")
            arrays[name] = array
        return cls(
            sources=sources, **_gallery_arrays(arrays, len(sources), path))


def gallery_manifest(sources: Sequence[str], arrays: Dict[str, np.ndarray],
                     **extra) -> dict:
    """The manifest of a complete gallery directory.

    Args:
        sources (Sequence[str]): The gallery's sources.
        arrays (dict[str, np.ndarray]): Its arrays by name, in the
            gallery's dtypes (only their dtypes and shapes are read).
        **extra: Further manifest entries (e.g. what indexed it).

    Returns:
        dict: The manifest.
    """
    return dict(
        format=GALLERY_FORMAT,
        version=GALLERY_FORMAT_VERSION,
        status='complete',
        num_sources=len(sources),
        num_detections=int(arrays['scores'].shape[0]),
        embedding_dim=int(arrays['embeddings'].shape[1]),
        sources_file=SOURCES_FILE,
        arrays={
            name: dict(
                file=f'{name}.npy',
                dtype=array.dtype.name,
                shape=list(array.shape))
            for name, array in arrays.items()
        },
        **extra)


def read_manifest(path: str) -> dict:
    """Read and check the manifest of a gallery directory.

    Args:
        path (str): The gallery directory.

    Returns:
        dict: The manifest.
    """
    file = osp.join(path, MANIFEST_FILE)
    if not osp.isfile(file):
        raise FileNotFoundError(
            f'{file} does not exist: {path} is not a gallery directory '
            '(written by Gallery.save or tools/index_gallery.py).')
    manifest = read_json(file)
    if not isinstance(manifest, dict) or \
            manifest.get('format') != GALLERY_FORMAT:
        raise ValueError(f'{file} is not a gallery manifest: a JSON object '
                         f'with "format": "{GALLERY_FORMAT}" was expected.')
    if manifest.get('version') != GALLERY_FORMAT_VERSION:
        raise ValueError(
            f"{file} has format version {manifest.get('version')}; this "
            f'mmseqnet reads version {GALLERY_FORMAT_VERSION}.')
    required = {'status', 'num_sources', 'sources_file'}
    if manifest.get('status') == 'complete':
        required |= {'num_detections', 'embedding_dim', 'arrays'}
    missing = required - set(manifest)
    if missing:
        raise ValueError(f'{file} lacks the entries {sorted(missing)}.')
    if manifest['status'] == 'complete':
        names = set(manifest['arrays'])
        required_arrays = set(_ARRAY_LAYOUT) - set(_OPTIONAL_ARRAYS)
        if not required_arrays <= names <= set(_ARRAY_LAYOUT):
            raise ValueError(
                f'{file} lists the arrays {sorted(names)}; expected '
                f'{sorted(required_arrays)} and optionally '
                f'{list(_OPTIONAL_ARRAYS)}.')
    return manifest


def write_manifest(path: str, manifest: dict) -> None:
    """Write a gallery directory's manifest atomically (a reader sees the
    old one or the new one, never a part)."""
    write_json(osp.join(path, MANIFEST_FILE), manifest)


def read_json(file: str):
    """Read a JSON file; an unreadable one raises naming the file."""
    try:
        with open(file, encoding='utf-8') as f:
            return json.load(f)
    except json.JSONDecodeError as error:
        raise ValueError(f'{file} is not valid JSON: {error}') from error


def write_json(file: str, content) -> None:
    """Write a JSON file atomically (through a temporary file)."""
    temporary = f'{file}.tmp'
    with open(temporary, 'w', encoding='utf-8') as f:
        json.dump(content, f, indent=1)
    os.replace(temporary, file)


def _write_arrays(path: str, arrays: Dict[str, np.ndarray]) -> None:
    """Write arrays into a gallery directory, each replaced atomically (a
    gallery opened from it keeps reading the old files)."""
    for name, array in arrays.items():
        # np.save appends .npy to a name without it.
        temporary = osp.join(path, f'.{name}.tmp.npy')
        np.save(temporary, np.ascontiguousarray(array))
        os.replace(temporary, osp.join(path, f'{name}.npy'))


def _gallery_arrays(arrays: Dict[str, np.ndarray], num_sources: int,
                    path: str) -> Dict[str, np.ndarray]:
    """The arrays in the gallery's dtypes (the same objects when they have
    them: memory maps stay maps); raises naming ``path`` unless their kinds
    and shapes agree."""
    num_detections = np.shape(arrays['scores'])[0] \
        if np.ndim(arrays['scores']) else -1
    sizes = dict(N=num_detections, M=num_sources)
    checked = {}
    for name, array in arrays.items():
        dtype, shape = _ARRAY_LAYOUT[name]
        expected = tuple(sizes.get(size, size) for size in shape)
        if not np.can_cast(array.dtype, dtype, 'same_kind') or \
                array.ndim != len(shape) or any(
                    want is not None and want != got
                    for want, got in zip(expected, array.shape)):
            text = ', '.join('D' if s is None else str(s) for s in expected)
            raise ValueError(
                f'{path}: {name} is {array.dtype} {array.shape}; a gallery '
                f'of {num_sources} sources and {num_detections} detections '
                f'needs {np.dtype(dtype).name} ({text}).')
        checked[name] = array.astype(dtype, copy=False)
    return checked


def list_sources(sources: Union[str, Sequence[str]],
                 frame_step: int = 1) -> List[str]:
    """Expand folders, image lists and videos into gallery sources.

    Args:
        sources (str | Sequence[str]): An image, a folder of images (sorted,
            not recursive), an image list (a ``.txt`` file with one image
            path per line, relative paths from the list's folder; blank
            lines and lines starting with ``#`` skipped), a video file, or a
            list of any of these.
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
        elif source.lower().endswith(IMAGE_LIST_EXTENSION):
            expanded.extend(_read_image_list(source))
        elif source.lower().endswith(VIDEO_EXTENSIONS):
            with _VIDEO_LOCK:
                num_frames = len(_video_reader(source))
            expanded.extend(f'{source}{FRAME_SEPARATOR}{index}'
                            for index in range(0, num_frames, frame_step))
        elif osp.isfile(source):
            expanded.append(source)
        else:
            raise FileNotFoundError(
                f'Gallery source {source} is not an image, a folder of '
                'images, an image list (.txt) or a video file.')
    return expanded


def _read_image_list(file: str) -> List[str]:
    """The image paths listed in ``file`` (see :func:`list_sources`)."""
    if not osp.isfile(file):
        raise FileNotFoundError(f'Image list {file} does not exist.')
    folder = osp.dirname(file)
    paths = []
    with open(file, encoding='utf-8') as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith('#'):
                continue
            path = osp.join(folder, line)
            if not osp.isfile(path):
                raise FileNotFoundError(
                    f'{file}, line {number}: image {path} does not exist.')
            paths.append(path)
    return paths


def read_source(source: str) -> np.ndarray:
    """Read one gallery source (image path or video frame) as BGR uint8."""
    if FRAME_SEPARATOR in source:
        path, index = source.rsplit(FRAME_SEPARATOR, 1)
        # The reader is shared and seeks: one frame at a time (threads of a
        # web page or a data loader read sources too).
        with _VIDEO_LOCK:
            frame = _video_reader(path).get_frame(int(index))
        if frame is None:
            raise ValueError(f'Cannot read frame {index} of {path}.')
        return frame
    if not osp.isfile(source):
        raise FileNotFoundError(f'Image {source} does not exist.')
    image = mmcv.imread(source)
    if image is None:
        raise ValueError(f'{source} is not a readable image.')
    return image


def _video_reader(path: str) -> mmcv.VideoReader:
    """An open reader of the video, reused while the file is unchanged:
    reading frames in order through one reader costs 0.5 ms per 480x270
    frame, opening a reader per frame 16 ms (measured on 300 mp4v frames)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'Video {path} does not exist.')
    stat = os.stat(path)
    return _open_video(path, stat.st_mtime_ns, stat.st_size)


_VIDEO_LOCK = threading.Lock()


@functools.lru_cache(maxsize=4)
def _open_video(path: str, mtime_ns: int, size: int) -> mmcv.VideoReader:
    return mmcv.VideoReader(path)
