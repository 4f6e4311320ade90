"""Conversion of original SeqNet checkpoints to mmseqnet's key layout."""
import os.path as osp
from collections import OrderedDict
from typing import Callable, Dict, List, Mapping, Tuple

import torch
from torch import Tensor

from mmseqnet.utils.safe_loading import load_checkpoint_file

OIM_PREFIX = 'roi_head.embedding_head.loss_reid.'


def _person_first(t: Tensor) -> Tensor:
    """torchvision orders the classes (background, person); mmdet's
    ``BBoxHead`` (person, background)."""
    if t.size(0) != 2:
        raise ValueError(f'expected 2 class rows, got shape {tuple(t.shape)}')
    return t[[1, 0]]


def _person_rows(t: Tensor) -> Tensor:
    """Keep the person's 4 of the 8 class-specific regression rows.

    The original regresses background and person; mmdet's single-class
    ``BBoxHead`` only the person. BatchNorm is per channel, so its rows are
    cut alike; ``num_batches_tracked`` (0-d) stays as it is.
    """
    if t.dim() == 0:
        return t
    if t.size(0) != 8:
        raise ValueError(f'expected 8 regression rows, got shape '
                         f'{tuple(t.shape)}')
    return t[4:]


def _same(t: Tensor) -> Tensor:
    return t


# (original prefix, mmseqnet prefix, transform), first match wins.
RULES: List[Tuple[str, str, Callable[[Tensor], Tensor]]] = [
    ('backbone.conv1.', 'backbone.conv1.', _same),
    ('backbone.bn1.', 'backbone.bn1.', _same),
    ('backbone.layer1.', 'backbone.layer1.', _same),
    ('backbone.layer2.', 'backbone.layer2.', _same),
    ('backbone.layer3.', 'backbone.layer3.', _same),
    # torchvision >= 0.13 wraps the RPN conv; older files name it directly.
    ('rpn.head.conv.0.0.', 'rpn_head.rpn_conv.', _same),
    ('rpn.head.conv.', 'rpn_head.rpn_conv.', _same),
    ('rpn.head.cls_logits.', 'rpn_head.rpn_cls.', _same),
    ('rpn.head.bbox_pred.', 'rpn_head.rpn_reg.', _same),
    ('roi_heads.box_head.layer4.', 'roi_head.box_head.layer4.', _same),
    ('roi_heads.reid_head.layer4.', 'roi_head.reid_head.layer4.', _same),
    ('roi_heads.faster_rcnn_predictor.cls_score.',
     'roi_head.bbox_head.fc_cls.', _person_first),
    ('roi_heads.faster_rcnn_predictor.bbox_pred.',
     'roi_head.bbox_head.fc_reg.', _person_rows),
    ('roi_heads.box_predictor.bbox_pred.0.',
     'roi_head.reid_bbox_head.fc_reg.fc.', _person_rows),
    ('roi_heads.box_predictor.bbox_pred.1.',
     'roi_head.reid_bbox_head.fc_reg.bn.', _person_rows),
    ('roi_heads.embedding_head.projectors.feat_res4.',
     'roi_head.embedding_head.projectors.0.', _same),
    ('roi_heads.embedding_head.projectors.feat_res5.',
     'roi_head.embedding_head.projectors.1.', _same),
    ('roi_heads.embedding_head.rescaler.',
     'roi_head.embedding_head.rescaler.', _same),
    ('roi_heads.reid_loss.lut', OIM_PREFIX + 'lut', _same),
    ('roi_heads.reid_loss.cq', OIM_PREFIX + 'cq', _same),
]


def extract_seqnet_state_dict(checkpoint: Mapping) -> Mapping[str, Tensor]:
    """The model ``state_dict`` of an original SeqNet checkpoint.

    Args:
        checkpoint (Mapping): Either a released file's dict (``model``,
            ``optimizer``, ``lr_scheduler``, ``epoch``) or a bare
            ``state_dict``.

    Returns:
        Mapping[str, Tensor]: The original model's ``state_dict``.
    """
    state_dict = checkpoint.get('model', checkpoint)
    if not isinstance(state_dict, Mapping) or not all(
            isinstance(v, Tensor) for v in state_dict.values()):
        raise ValueError('not a SeqNet checkpoint: expected a state_dict of '
                         'tensors or a dict with one under "model"')
    return state_dict


def convert_seqnet_state_dict(
        state_dict: Mapping[str, Tensor]) -> 'OrderedDict[str, Tensor]':
    """Rename and reshape an original SeqNet ``state_dict`` for mmseqnet.

    Floating tensors become float32 (released weights may be float16). The
    classifier rows are put person-first, the regressors keep their person
    rows, and the OIM queue gets a pointer (``cq_ptr``, 0: the original
    does not save its own).

    Args:
        state_dict (Mapping[str, Tensor]): Original SeqNet weights
            (``seqnet_official/state_dict_keys.txt`` layout).

    Returns:
        OrderedDict[str, Tensor]: Weights for mmseqnet's ``SeqNet``.

    Raises:
        KeyError: If a key matches no rule, naming every such key.
    """
    converted = OrderedDict()
    unknown = []
    for key, value in state_dict.items():
        for src, dst, transform in RULES:
            if key.startswith(src):
                if value.is_floating_point():
                    value = value.float()
                try:
                    converted[dst + key[len(src):]] = transform(value)
                except ValueError as err:
                    raise ValueError(f'{key}: {err}') from err
                break
        else:
            unknown.append(key)
    if unknown:
        raise KeyError('not SeqNet weights, no rule for: ' +
                       ', '.join(unknown))
    if OIM_PREFIX + 'lut' in converted:
        converted[OIM_PREFIX + 'cq_ptr'] = torch.zeros((), dtype=torch.long)
    return converted


def convert_seqnet_checkpoint(checkpoint: Mapping,
                              source: str = '') -> Dict[str, dict]:
    """An mmseqnet checkpoint (``state_dict`` and ``meta``) from an original.

    Args:
        checkpoint (Mapping): Original checkpoint, see
            :func:`extract_seqnet_state_dict`.
        source (str): Where it came from, recorded in ``meta``.
            Defaults to ''.

    Returns:
        dict: ``state_dict`` and ``meta`` (``dataset_meta`` with the person
        class, so ``init_detector`` does not fall back to COCO's).
    """
    state_dict = convert_seqnet_state_dict(
        extract_seqnet_state_dict(checkpoint))
    meta = dict(
        dataset_meta=dict(classes=('person', )), converted_from=source)
    if 'epoch' in checkpoint:
        meta['epoch'] = checkpoint['epoch']
    return dict(state_dict=state_dict, meta=meta)


def convert_checkpoint_file(src: str, dst: str,
                            convert: Callable[..., Dict[str, dict]]) -> int:
    """Read a checkpoint weights-only, convert it and save the result.

    Args:
        src (str): The original checkpoint; refused files name themselves
            (``MMSEQNET_UNSAFE_LOAD=1`` for a trusted file that needs more).
        dst (str): Where the mmseqnet checkpoint goes.
        convert (Callable): ``convert_seqnet_checkpoint`` or
            ``convert_gfn_checkpoint``.

    Returns:
        int: The number of converted tensors.
    """
    converted = convert(
        load_checkpoint_file(src, map_location='cpu'),
        source=osp.basename(src))
    torch.save(converted, dst)
    return len(converted['state_dict'])
