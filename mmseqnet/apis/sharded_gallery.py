"""A gallery directory indexed shard by shard by one or many processes."""
import os
import os.path as osp
import shutil
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .gallery import (GALLERY_FORMAT, GALLERY_FORMAT_VERSION, MANIFEST_FILE,
                      SOURCES_FILE, Gallery, gallery_manifest, read_json,
                      read_manifest, write_json, write_manifest)

SHARDS_DIR = 'shards'
# Rows of each array that count per source rather than per detection.
_PER_SOURCE_ARRAYS = ('scene_embeddings', )


class ShardedGallery:
    """A gallery directory that processes index shard by shard, then merge
    into one memory-mappable gallery (:meth:`Gallery.load` opens it).

    :meth:`prepare` writes the sources (``sources.json``) and a manifest with
    status ``'indexing'``, the shard size, each shard's source range and a
    fingerprint of what determines the detections (model, checkpoint,
    settings); a later run must bring the same sources, shard size and
    fingerprint. A shard is a gallery directory of its own under
    ``shards/`` (image ids counted from its first source), written to a
    temporary folder and renamed into place: a shard folder that exists is
    complete, so a killed run loses only the shards it was writing. The
    manifest's shard statuses are refreshed when a run starts and when the
    shards are merged. :meth:`merge` streams the shards, one at a time, into
    one ``.npy`` file per array, marks the manifest complete and removes
    the shards.

    Args:
        path (str): A gallery directory that :meth:`prepare` started.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.manifest = read_manifest(path)
        missing = {'shard_size', 'shards', 'fingerprint'} - set(self.manifest)
        if missing:
            raise ValueError(
                f'{osp.join(path, MANIFEST_FILE)} lacks {sorted(missing)}: '
                'it is not a gallery that tools/index_gallery.py writes.')
        sources_file = osp.join(path, self.manifest['sources_file'])
        if not osp.isfile(sources_file):
            raise FileNotFoundError(
                f'{sources_file} is missing: {path}/{MANIFEST_FILE} lists '
                f"{self.manifest['num_sources']} sources in it.")
        self.sources: List[str] = read_json(sources_file)
        if not isinstance(self.sources, list) or len(
                self.sources) != self.manifest['num_sources']:
            raise ValueError(
                f'{sources_file} should list '
                f"{self.manifest['num_sources']} sources ({MANIFEST_FILE}).")

    @classmethod
    def prepare(cls,
                path: str,
                sources: Sequence[str],
                shard_size: int,
                fingerprint: dict,
                info: Optional[dict] = None) -> 'ShardedGallery':
        """Start a gallery directory, or check that a run may resume it.

        Resuming removes the temporary folders of shards a killed run was
        writing and records which shards are done.

        Args:
            path (str): The gallery directory: new, empty, or started by
                an earlier run.
            sources (Sequence[str]): The sources to index, in order.
            shard_size (int): Sources per shard.
            fingerprint (dict): JSON values that determine the detections
                (model, checkpoint, settings); must equal the recorded ones
                to resume.
            info (dict, optional): Recorded, not compared (e.g. the paths
                of the config and checkpoint). Defaults to None.

        Returns:
            ShardedGallery: The gallery directory.
        """
        if osp.isfile(osp.join(path, MANIFEST_FILE)):
            gallery = cls(path)
            gallery._check_same_run(sources, shard_size, fingerprint)
            if gallery.complete:
                # Left by a run killed right after its merge.
                shutil.rmtree(
                    osp.join(path, SHARDS_DIR), ignore_errors=True)
            else:
                gallery._remove_temporaries()
                gallery._record_statuses()
            return gallery
        if osp.isdir(path) and os.listdir(path):
            raise FileExistsError(
                f'{path} holds files but no {MANIFEST_FILE}: index into a new '
                'or empty directory.')
        if shard_size < 1:
            raise ValueError(f'shard_size must be positive, got {shard_size}.')
        if not sources:
            raise ValueError(f'No gallery sources to index into {path}.')
        os.makedirs(osp.join(path, SHARDS_DIR), exist_ok=True)
        write_json(osp.join(path, SOURCES_FILE), list(sources))
        starts = range(0, len(sources), shard_size)
        write_manifest(
            path,
            dict(
                format=GALLERY_FORMAT,
                version=GALLERY_FORMAT_VERSION,
                status='indexing',
                num_sources=len(sources),
                sources_file=SOURCES_FILE,
                shard_size=shard_size,
                shards=[
                    dict(
                        start=start,
                        end=min(start + shard_size, len(sources)),
                        status='pending') for start in starts
                ],
                fingerprint=fingerprint,
                info=info or {}))
        return cls(path)

    @property
    def complete(self) -> bool:
        """Whether the shards are merged into the gallery."""
        return self.manifest['status'] == 'complete'

    @property
    def num_shards(self) -> int:
        return len(self.manifest['shards'])

    def shard_range(self, index: int) -> Tuple[int, int]:
        """The sources ``[start, end)`` of shard ``index``."""
        shard = self.manifest['shards'][index]
        return shard['start'], shard['end']

    def shard_path(self, index: int) -> str:
        return osp.join(self.path, SHARDS_DIR, f'{index:06d}')

    def is_done(self, index: int) -> bool:
        """Whether shard ``index`` is written (or already merged)."""
        return self.complete or osp.isfile(
            osp.join(self.shard_path(index), MANIFEST_FILE))

    def write_shard(self, index: int, part: Gallery) -> None:
        """Write the gallery of shard ``index`` atomically.

        Args:
            index (int): The shard.
            part (Gallery): Its sources' detections, image ids counted from
                the shard's first source.
        """
        start, end = self.shard_range(index)
        if part.sources != self.sources[start:end]:
            raise ValueError(
                f'Shard {index} indexes sources {start}-{end - 1} of '
                f'{self.path}; the gallery given holds other sources.')
        final = self.shard_path(index)
        temporary = osp.join(
            osp.dirname(final), f'.{osp.basename(final)}.{os.getpid()}.tmp')
        part.save(temporary)
        try:
            os.replace(temporary, final)
        except OSError:
            # Another process wrote the shard first: keep its copy.
            if not self.is_done(index):
                raise
            shutil.rmtree(temporary)

    def merge(self) -> Gallery:
        """Stream the shards into the gallery's arrays (one shard in memory
        at a time), mark the manifest complete and remove the shards.

        Returns:
            Gallery: The merged gallery, memory-mapped.
        """
        pending = [i for i in range(self.num_shards) if not self.is_done(i)]
        if pending:
            raise RuntimeError(
                f'{len(pending)} of {self.num_shards} shards of {self.path} '
                f'are not indexed (first: {self.shard_path(pending[0])}): run '
                'the indexing again to finish them.')
        layout, rows = self._merged_layout()
        merging = osp.join(self.path, '.merging')
        shutil.rmtree(merging, ignore_errors=True)
        os.makedirs(merging)
        merged = {
            name: np.lib.format.open_memmap(
                osp.join(merging, f'{name}.npy'),
                mode='w+',
                dtype=dtype,
                shape=(rows[name], ) + shape)
            for name, (dtype, shape) in layout.items()
        }
        offset = 0
        for index in range(self.num_shards):
            start, end = self.shard_range(index)
            part = Gallery.load(self.shard_path(index))
            if part.sources != self.sources[start:end]:
                raise ValueError(
                    f'{self.shard_path(index)} indexes other sources than '
                    f'sources {start}-{end - 1} of {self.path}.')
            for name, array in part.arrays().items():
                if name in _PER_SOURCE_ARRAYS:
                    merged[name][start:end] = array
                elif name == 'image_ids':
                    merged[name][offset:offset + len(part)] = array + start
                else:
                    merged[name][offset:offset + len(part)] = array
            offset += len(part)
        for array in merged.values():
            array.flush()
        manifest = gallery_manifest(
            self.sources,
            merged,
            shard_size=self.manifest['shard_size'],
            shards=[
                dict(shard, status='merged')
                for shard in self.manifest['shards']
            ],
            fingerprint=self.manifest['fingerprint'],
            info=self.manifest.get('info', {}))
        del merged
        for name in layout:
            os.replace(
                osp.join(merging, f'{name}.npy'),
                osp.join(self.path, f'{name}.npy'))
        os.rmdir(merging)
        write_manifest(self.path, manifest)
        self.manifest = manifest
        shutil.rmtree(osp.join(self.path, SHARDS_DIR))
        return Gallery.load(self.path)

    def _merged_layout(self) -> tuple:
        """Each merged array's dtype and row shape, and its number of rows,
        from the shards' manifests (every shard must hold the same
        arrays)."""
        layout, rows = None, {}
        for index in range(self.num_shards):
            manifest = read_manifest(self.shard_path(index))
            shard_layout = {
                name: (info['dtype'], tuple(info['shape'][1:]))
                for name, info in manifest['arrays'].items()
            }
            if layout is None:
                layout = shard_layout
            elif shard_layout != layout:
                raise ValueError(
                    f'{self.shard_path(index)} holds the arrays '
                    f'{shard_layout}; shard 0 holds {layout}.')
            for name, info in manifest['arrays'].items():
                rows[name] = rows.get(name, 0) + info['shape'][0]
        return layout, rows

    def _check_same_run(self, sources: Sequence[str], shard_size: int,
                        fingerprint: dict) -> None:
        manifest_file = osp.join(self.path, MANIFEST_FILE)
        if self.manifest['fingerprint'] != fingerprint:
            recorded = self.manifest['fingerprint']
            changed = sorted(
                key for key in set(recorded) | set(fingerprint)
                if recorded.get(key) != fingerprint.get(key))
            details = '; '.join(f'{key}: {recorded.get(key)!r} recorded, '
                                f'{fingerprint.get(key)!r} now'
                                for key in changed)
            raise ValueError(
                f'{manifest_file} was indexed with another model or '
                f'settings ({details}). Resume with the same ones, or '
                'index into another directory.')
        if self.manifest['shard_size'] != shard_size:
            raise ValueError(
                f"{manifest_file} was started with shard size "
                f"{self.manifest['shard_size']}, not {shard_size}: resume "
                'with the same one.')
        if self.sources != list(sources):
            differ = next((i for i, (a, b) in enumerate(
                zip(self.sources, sources)) if a != b),
                          min(len(self.sources), len(sources)))
            raise ValueError(
                f'The sources differ from those of {self.path} '
                f'({SOURCES_FILE}: {len(self.sources)} sources, now '
                f'{len(sources)}; first difference at #{differ}). Index '
                'new sources into another directory.')

    def _remove_temporaries(self) -> None:
        shards = osp.join(self.path, SHARDS_DIR)
        os.makedirs(shards, exist_ok=True)
        for name in os.listdir(shards):
            if name.startswith('.') and name.endswith('.tmp'):
                shutil.rmtree(osp.join(shards, name))
        shutil.rmtree(osp.join(self.path, '.merging'), ignore_errors=True)

    def _record_statuses(self) -> None:
        for index, shard in enumerate(self.manifest['shards']):
            shard['status'] = 'done' if self.is_done(index) else 'pending'
        write_manifest(self.path, self.manifest)
