"""A config's test pipeline, taking image paths and arrays at inference.

mmdet's ``DetInferencer`` feeds paths and arrays to the test pipeline after
swapping its ``LoadImageFromFile`` for mmdet's ``InferencerLoader``, and
raises ``ValueError: LoadImageFromFile is not found in the test pipeline``
for any other loader. mmseqnet's configs load with
:class:`~mmseqnet.datasets.transforms.LoadCheckedImageFromFile`, which
takes paths and arrays itself. Importing this module (``import mmseqnet``
does) lets ``DetInferencer`` keep that loader; every pipeline it accepted
before is built as before.
"""
import copy

from mmdet.apis import DetInferencer
from mmdet.utils import get_test_pipeline_cfg
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import DefaultScope

# mmcv's loader, which DetInferencer swaps for mmdet's InferencerLoader.
_MMCV_LOADER = 'LoadImageFromFile'
_CHECKED_LOADER = 'LoadCheckedImageFromFile'


def _type_name(transform: dict) -> str:
    """The registered name of a transform config, without its scope."""
    kind = transform['type']
    return kind.split('.')[-1] if isinstance(kind, str) else kind.__name__


def build_inference_pipeline(cfg: Config) -> Compose:
    """The test pipeline of ``cfg``, loading image paths and BGR arrays.

    Its first item may be an image path, a BGR array, or a dict with
    ``img_path`` or ``img`` (plus meta keys such as ``sample_type``).
    mmcv's ``LoadImageFromFile`` is replaced by mmdet's ``InferencerLoader``
    as ``DetInferencer`` does; ``LoadCheckedImageFromFile`` stays. (A
    pipeline without a loader is kept as it is: its items must hold
    ``img``.) The transforms are built in the config's ``default_scope``
    ('mmdet' when unset).

    Args:
        cfg (Config): A model config with a ``test_dataloader``.

    Returns:
        Compose: The pipeline.
    """
    pipeline = copy.deepcopy(get_test_pipeline_cfg(cfg))
    names = [_type_name(transform) for transform in pipeline]
    if _MMCV_LOADER in names:
        index = names.index(_MMCV_LOADER)
        pipeline[index] = dict(pipeline[index], type='mmdet.InferencerLoader')
    with DefaultScope.overwrite_default_scope(
            cfg.get('default_scope', 'mmdet')):
        return Compose(pipeline)


# Listed with mmseqnet's other changes to its stack: mmseqnet/utils/compat.py
_det_inferencer_init_pipeline = DetInferencer._init_pipeline


def _init_pipeline(self: DetInferencer, cfg: Config) -> Compose:
    """``DetInferencer._init_pipeline``, and for a pipeline that loads with
    ``LoadCheckedImageFromFile`` (mmdet raises there) that pipeline."""
    names = [_type_name(t) for t in get_test_pipeline_cfg(cfg)]
    if _MMCV_LOADER not in names and _CHECKED_LOADER in names:
        return build_inference_pipeline(cfg)
    return _det_inferencer_init_pipeline(self, cfg)


DetInferencer._init_pipeline = _init_pipeline
