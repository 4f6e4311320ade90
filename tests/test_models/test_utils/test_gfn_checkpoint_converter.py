"""GFN checkpoint conversion: key layout, aliases, shapes, errors."""
import re

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config

from mmseqnet.models.utils import (convert_gfn_checkpoint,
                                   convert_gfn_state_dict)
from mmseqnet.testing import REPO_ROOT, reference_path, skip_without_reference

KEYS = reference_path('seqnext_official', 'state_dict_keys.txt')


def fake_state_dict(path):
    """Random tensors with the keys and shapes of a GFN key listing, the
    shared modules holding the same tensors under all their names."""
    shared = {}
    state_dict = {}
    for line in path.read_text().splitlines():
        if line.startswith('#'):
            continue
        key, shape, dtype, _ = line.split('\t')
        shape = tuple(int(s) for s in re.findall(r'\d+', shape))
        canonical = re.sub(
            r'^(roi_heads\.gfn\.|gfn\.)query_reid_head\.'
            r'|^roi_heads\.box_head\.', 'roi_heads.reid_head.', key)
        canonical = re.sub(r'^roi_heads\.gfn\.', 'gfn.', canonical)
        canonical = re.sub(r'^gfn\.query_emb_head\.',
                           'roi_heads.embedding_head.', canonical)
        canonical = re.sub(r'^gfn\.reid_loss\.', 'roi_heads.reid_loss.',
                           canonical)
        if canonical not in shared:
            shared[canonical] = torch.randint(0, 5, shape) \
                if dtype == 'int64' else torch.randn(shape).half()
        state_dict[key] = shared[canonical]
    return state_dict


@skip_without_reference('seqnext_official', 'state_dict_keys.txt')
def test_narrow_reference_layout_fills_the_narrow_config():
    state_dict = fake_state_dict(KEYS)
    converted = convert_gfn_checkpoint({'model': state_dict, 'epoch': 3})
    cfg = Config.fromfile(
        str(REPO_ROOT / 'configs/seqnext/seqnext_gfn_prw_narrow.py')).model
    cfg.roi_head.embedding_head.loss_reid.num_person_ids = 482
    model = MODELS.build(cfg)
    expected = {
        k: v.shape
        for k, v in model.state_dict().items()
        if not k.startswith('roi_head.gfn_head.memory.')
    }
    assert {k: v.shape for k, v in converted['state_dict'].items()} == expected
    assert converted['meta']['epoch'] == 3
    sd = converted['state_dict']
    assert sd['backbone.stages.2.1.gamma'].dtype == torch.float32
    torch.testing.assert_close(
        sd['backbone.stages.2.1.gamma'],
        state_dict['backbone.body.5.1.layer_scale'].float().flatten())
    torch.testing.assert_close(
        sd['roi_head.box_head.stages.3.0.pointwise_conv2.weight'],
        state_dict['roi_heads.prop_head.head.1.0.block.5.weight'].float())
    # torchvision (background, person) -> mmdet (person, background).
    torch.testing.assert_close(
        sd['roi_head.bbox_head.fc_cls.weight'],
        state_dict['roi_heads.faster_rcnn_predictor.cls_score.weight'].float()[
            [1, 0]])
    assert model.load_state_dict(sd, strict=False).unexpected_keys == []


def test_aliases_once_or_several_times():
    w = torch.randn(4, 8)
    one = convert_gfn_state_dict(
        {'gfn.query_emb_head.projectors.'
         'feat_res4.0.weight': w})
    both = convert_gfn_state_dict({
        'roi_heads.embedding_head.projectors.feat_res4.0.weight':
        w,
        'roi_heads.gfn.query_emb_head.projectors.feat_res4.0.weight':
        w
    })
    assert list(one) == list(both) == [
        'roi_head.embedding_head.projectors.0.0.weight'
    ]
    with pytest.raises(ValueError, match='differs'):
        convert_gfn_state_dict({
            'roi_heads.embedding_head.projectors.feat_res4.0.weight':
            w,
            'gfn.query_emb_head.projectors.feat_res4.0.weight':
            w + 1
        })


def test_unknown_keys_and_bad_layer_scale():
    with pytest.raises(KeyError, match='roi_heads.rescaler.weight'):
        convert_gfn_state_dict({'roi_heads.rescaler.weight': torch.ones(1)})
    with pytest.raises(ValueError, match='layer_scale'):
        convert_gfn_state_dict(
            {'backbone.body.1.0.layer_scale': torch.ones(4, 2, 1)})
