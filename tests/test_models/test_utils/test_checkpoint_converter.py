import subprocess
import sys

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.runner.checkpoint import _load_checkpoint

from mmseqnet.models.utils import (convert_seqnet_checkpoint,
                                   convert_seqnet_state_dict)
from mmseqnet.testing import REPO_ROOT, reference_path, skip_without_reference


def original_head_weights():
    """A few original keys with recognisable values."""
    return {
        'roi_heads.faster_rcnn_predictor.cls_score.weight':
        torch.arange(2.).view(2, 1).repeat(1, 3).half(),
        'roi_heads.faster_rcnn_predictor.bbox_pred.bias': torch.arange(8.),
        'roi_heads.box_predictor.bbox_pred.1.running_var': torch.arange(8.),
        'roi_heads.box_predictor.bbox_pred.1.num_batches_tracked':
        torch.tensor(7),
        'rpn.head.conv.weight': torch.zeros(2, 2, 3, 3),
        'roi_heads.reid_loss.lut': torch.ones(3, 4).half(),
    }


def test_rows_are_reordered_and_cast():
    out = convert_seqnet_state_dict(original_head_weights())
    cls = out['roi_head.bbox_head.fc_cls.weight']
    assert cls.dtype == torch.float32
    # Person first, background last.
    assert cls[:, 0].tolist() == [1.0, 0.0]
    assert out['roi_head.bbox_head.fc_reg.bias'].tolist() == [4, 5, 6, 7]
    assert out['roi_head.reid_bbox_head.fc_reg.bn.running_var'].tolist() == [
        4, 5, 6, 7
    ]
    assert out[
        'roi_head.reid_bbox_head.fc_reg.bn.num_batches_tracked'].item() == 7
    # Older torchvision RPN conv name.
    assert 'rpn_head.rpn_conv.weight' in out
    assert out['roi_head.embedding_head.loss_reid.cq_ptr'].item() == 0


def test_unknown_keys_are_named():
    weights = dict(original_head_weights(), **{'roi_heads.mask_head.w':
                                               torch.zeros(1)})
    with pytest.raises(KeyError, match='roi_heads.mask_head.w'):
        convert_seqnet_state_dict(weights)
    with pytest.raises(ValueError, match='cls_score.*2 class rows'):
        convert_seqnet_state_dict(
            {'roi_heads.faster_rcnn_predictor.cls_score.bias': torch.zeros(3)})
    with pytest.raises(ValueError, match='not a SeqNet checkpoint'):
        convert_seqnet_checkpoint({'model': {'a': 1}})


def test_released_checkpoint_layout():
    checkpoint = dict(
        model=original_head_weights(), optimizer={}, lr_scheduler={},
        epoch=17)
    out = convert_seqnet_checkpoint(checkpoint, source='epoch_17.pth')
    assert set(out) == {'state_dict', 'meta'}
    assert out['meta']['dataset_meta'] == dict(classes=('person', ))
    assert out['meta']['epoch'] == 17
    assert out['meta']['converted_from'] == 'epoch_17.pth'


@skip_without_reference('seqnet_official', 'state_dict_keys.txt')
def test_every_original_key_loads_strictly():
    keys_file = reference_path('seqnet_official', 'state_dict_keys.txt')
    state_dict = {}
    for line in keys_file.read_text().splitlines():
        if line.startswith('#'):
            continue
        key, shape, dtype, _ = line.split('\t')
        shape = tuple(int(s) for s in shape.strip('()').split(',') if s)
        state_dict[key] = torch.zeros(
            shape, dtype=torch.int64 if dtype == 'int64' else torch.float16)
    converted = convert_seqnet_state_dict(state_dict)
    cfg = Config.fromfile(
        str(REPO_ROOT / 'configs/_base_/models/seqnet_r50.py'))
    cfg.model.roi_head.embedding_head.loss_reid.update(
        num_person_ids=len(state_dict['roi_heads.reid_loss.lut']),
        queue_size=len(state_dict['roi_heads.reid_loss.cq']))
    model = MODELS.build(cfg.model)
    model.load_state_dict(converted, strict=True)


def test_command_line_tool(tmp_path):
    src, dst = tmp_path / 'seqnet.pth', tmp_path / 'mmseqnet.pth'
    torch.save(dict(model=original_head_weights(), epoch=3), src)
    subprocess.run([
        sys.executable,
        str(REPO_ROOT / 'tools/model_converters/seqnet_to_mmseqnet.py'),
        str(src),
        str(dst)
    ],
                   check=True,
                   cwd=REPO_ROOT,
                   env={'PYTHONPATH': str(REPO_ROOT)},
                   capture_output=True)
    # loads weights-only through mmengine, as init_detector loads it
    out = _load_checkpoint(str(dst), map_location='cpu')
    assert out['state_dict'].keys() == convert_seqnet_state_dict(
        original_head_weights()).keys()
    assert out['meta']['epoch'] == 3


class Payload:

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f'open({self.marker!r}, "w").close()', )


def test_command_line_tool_refuses_a_crafted_file(tmp_path):
    src, dst = tmp_path / 'seqnet.pth', tmp_path / 'mmseqnet.pth'
    marker = tmp_path / 'code_ran'
    torch.save(dict(model=original_head_weights(), epoch=Payload(marker)), src)
    run = subprocess.run([
        sys.executable,
        str(REPO_ROOT / 'tools/model_converters/seqnet_to_mmseqnet.py'),
        str(src),
        str(dst)
    ],
                         cwd=REPO_ROOT,
                         env={'PYTHONPATH': str(REPO_ROOT)},
                         capture_output=True,
                         text=True)
    assert run.returncode != 0
    assert f'Refused to load checkpoint {src}' in run.stderr
    assert not marker.exists() and not dst.exists()
