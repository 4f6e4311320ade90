"""Conversion of GFN (SeqNeXt) checkpoints to mmseqnet's key layout."""
import re
from collections import OrderedDict
from typing import Callable, Dict, List, Mapping, Tuple

import torch
from torch import Tensor

from .checkpoint_converter import (_person_first, _person_rows, _same,
                                   extract_seqnet_state_dict)

OIM_PREFIX = 'roi_head.embedding_head.loss_reid.'
GFN_PREFIX = 'roi_head.gfn_head.'

# GFN's state_dict lists shared modules under several names (the same
# tensors); each alias is read as its first name below.
ALIASES: List[Tuple[str, str]] = [
    ('roi_heads.gfn.', 'gfn.'),
    ('roi_heads.box_head.', 'roi_heads.reid_head.'),
    ('gfn.query_reid_head.', 'roi_heads.reid_head.'),
    ('gfn.query_emb_head.', 'roi_heads.embedding_head.'),
    ('gfn.reid_loss.', 'roi_heads.reid_loss.'),
]

# torchvision CNBlock ``block`` indices -> mmpretrain ConvNeXtBlock names.
BLOCK_LAYERS = {
    '0': 'depthwise_conv',
    '2': 'norm',
    '3': 'pointwise_conv1',
    '5': 'pointwise_conv2'
}


def _layer_scale(t: Tensor) -> Tensor:
    """torchvision's layer scale (C, 1, 1) is mmpretrain's ``gamma`` (C,)."""
    if t.dim() != 3 or t.shape[1:] != (1, 1):
        raise ValueError(f'expected a (C, 1, 1) layer scale, got shape '
                         f'{tuple(t.shape)}')
    return t.flatten()


def _convnext_block(key: str, prefix: str) -> Tuple[str, Callable]:
    """``k.layer_scale`` / ``k.block.i.*`` of a stage -> mmpretrain names."""
    match = re.fullmatch(r'(\d+)\.(layer_scale|block\.(\d+)\.(\w+))', key)
    if match is None or (match[3] is not None
                         and match[3] not in BLOCK_LAYERS):
        return None, None
    if match[2] == 'layer_scale':
        return f'{prefix}{match[1]}.gamma', _layer_scale
    return f'{prefix}{match[1]}.{BLOCK_LAYERS[match[3]]}.{match[4]}', _same


def _res5(key: str, prefix: str) -> Tuple[str, Callable]:
    """A res5 copy (``head.0`` downsampling, ``head.1`` blocks) ->
    ``PooledConvNeXtStage`` (stage 3)."""
    if key.startswith('head.0.'):
        return f'{prefix}downsample_layers.3.{key[len("head.0."):]}', _same
    if key.startswith('head.1.'):
        return _convnext_block(key[len('head.1.'):], f'{prefix}stages.3.')
    return None, None


def _backbone(key: str) -> Tuple[str, Callable]:
    """torchvision ``features[0..5]`` -> ``PartialConvNeXt``."""
    match = re.fullmatch(r'(\d+)\.(.+)', key)
    if match is None:
        return None, None
    index, rest = int(match[1]), match[2]
    if index % 2 == 0:  # stem (0) and downsampling layers (2, 4)
        return f'backbone.downsample_layers.{index // 2}.{rest}', _same
    return _convnext_block(rest, f'backbone.stages.{index // 2}.')


# (original prefix, converter of the rest of the key), first match wins.
RULES: List[Tuple[str, Callable[[str], Tuple[str, Callable]]]] = [
    ('backbone.body.', _backbone),
    ('rpn.head.conv.0.0.', lambda k: ('rpn_head.rpn_conv.' + k, _same)),
    ('rpn.head.cls_logits.', lambda k: ('rpn_head.rpn_cls.' + k, _same)),
    ('rpn.head.bbox_pred.', lambda k: ('rpn_head.rpn_reg.' + k, _same)),
    ('roi_heads.prop_head.', lambda k: _res5(k, 'roi_head.box_head.')),
    ('roi_heads.reid_head.', lambda k: _res5(k, 'roi_head.reid_head.')),
    ('roi_heads.faster_rcnn_predictor.cls_score.', lambda k:
     ('roi_head.bbox_head.fc_cls.' + k, _person_first)),
    ('roi_heads.faster_rcnn_predictor.bbox_pred.', lambda k:
     ('roi_head.bbox_head.fc_reg.' + k, _person_rows)),
    ('roi_heads.score_predictor.cls_score.', lambda k:
     ('roi_head.reid_bbox_head.fc_cls.' + k, _same)),
    ('roi_heads.score_predictor.bbox_pred.', lambda k:
     ('roi_head.reid_bbox_head.fc_reg.' + k, _same)),
    ('roi_heads.embedding_head.projectors.feat_res4.', lambda k:
     ('roi_head.embedding_head.projectors.0.' + k, _same)),
    ('roi_heads.embedding_head.projectors.feat_res5.', lambda k:
     ('roi_head.embedding_head.projectors.1.' + k, _same)),
    ('roi_heads.reid_loss.', lambda k: (OIM_PREFIX + k, _same)),
    ('gfn.head.image_reid_head.',
     lambda k: _res5(k, GFN_PREFIX + 'scene_reid_head.')),
    ('gfn.head.image_emb_head.projectors.feat_res4.', lambda k:
     (GFN_PREFIX + 'scene_embedding_head.projectors.0.' + k, _same)),
    ('gfn.head.image_emb_head.projectors.feat_res5.', lambda k:
     (GFN_PREFIX + 'scene_embedding_head.projectors.1.' + k, _same)),
    ('gfn.fuser.norm.norm.', lambda k:
     (GFN_PREFIX + 'fuser.norm.' + k, _same)),
]


def _canonical(key: str) -> str:
    """The first name of a tensor GFN lists under several."""
    for alias, name in ALIASES:
        if key.startswith(alias):
            return _canonical(name + key[len(alias):])
    return key


def convert_gfn_state_dict(
        state_dict: Mapping[str, Tensor]) -> 'OrderedDict[str, Tensor]':
    """Rename and reshape a GFN SeqNeXt(+GFN) ``state_dict`` for mmseqnet.

    Any ConvNeXt width and depth converts (the stage sizes come from the
    tensors). Shared modules may be listed under any of their names, once
    or several times. Floating tensors become float32; the first head's
    classifier rows are put person-first and its regressor keeps the person
    rows; layer scales become mmpretrain's ``gamma``; the OIM queue gets a
    pointer (0).

    Args:
        state_dict (Mapping[str, Tensor]): GFN weights
            (``seqnext_official/state_dict_keys*.txt`` layout).

    Returns:
        OrderedDict[str, Tensor]: Weights for mmseqnet's SeqNeXt configs
        (``roi_head.gfn_head`` only when the file has GFN weights).

    Raises:
        KeyError: If a key matches no rule, naming every such key.
        ValueError: If a shared tensor differs between its names, or a
            tensor has an unexpected shape.
    """
    converted = OrderedDict()
    unknown = []
    for key, value in state_dict.items():
        name = _canonical(key)
        for src, rule in RULES:
            if name.startswith(src):
                dst, transform = rule(name[len(src):])
                break
        else:
            dst = None
        if dst is None:
            unknown.append(key)
            continue
        if value.is_floating_point():
            value = value.float()
        try:
            value = transform(value)
        except ValueError as err:
            raise ValueError(f'{key}: {err}') from err
        if dst in converted:
            if not torch.equal(converted[dst], value):
                raise ValueError(f'{key}: differs from the other copy of '
                                 f'the same shared tensor ({dst})')
            continue
        converted[dst] = value
    if unknown:
        raise KeyError('not GFN SeqNeXt weights, no rule for: ' +
                       ', '.join(unknown))
    if OIM_PREFIX + 'lut' in converted:
        converted[OIM_PREFIX + 'cq_ptr'] = torch.zeros((), dtype=torch.long)
    return converted


def convert_gfn_checkpoint(checkpoint: Mapping,
                           source: str = '') -> Dict[str, dict]:
    """An mmseqnet checkpoint (``state_dict`` and ``meta``) from a GFN one.

    Args:
        checkpoint (Mapping): GFN checkpoint (``{'model': state_dict,
            'epoch', 'config', ...}``) or a bare ``state_dict``.
        source (str): Where it came from, recorded in ``meta``.
            Defaults to ''.

    Returns:
        dict: ``state_dict`` and ``meta`` (``dataset_meta`` with the person
        class).
    """
    state_dict = convert_gfn_state_dict(extract_seqnet_state_dict(checkpoint))
    meta = dict(dataset_meta=dict(classes=('person', )), converted_from=source)
    if 'epoch' in checkpoint:
        meta['epoch'] = checkpoint['epoch']
    return dict(state_dict=state_dict, meta=meta)
