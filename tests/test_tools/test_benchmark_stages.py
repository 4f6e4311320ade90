"""tools/analysis_tools/benchmark_stages.py on the tiny SeqNet."""
import sys

import cv2
import numpy as np
import pytest
import torch
from mmdet.apis import init_detector
from mmengine.config import Config
from torch.utils.flop_counter import FlopCounterMode

# tests/ is on sys.path: the model tests' tiny config.
from mmseqnet.testing import load_tool, tiny_seqnet_cfg

GALLERY_STAGES = [
    'data preprocessor', 'backbone', 'RPN: conv head',
    'RPN: proposals (decode, NMS)', 'first head: RoIAlign',
    'first head: res5', 'first head: predictor', 'inter-stage NMS',
    'second head: RoIAlign', 'second head: res5', 'embedding (NAE)',
    'second head: box regressor', 'final NMS and outputs',
    'other (between the stages)'
]
QUERY_STAGES = [
    'data preprocessor', 'backbone',
    'second head: RoIAlign', 'second head: res5', 'embedding (NAE)',
    'final NMS and outputs', 'other (between the stages)'
]


@pytest.fixture(scope='module')
def tiny_files(tmp_path_factory):
    root = tmp_path_factory.mktemp('stages')
    config = root / 'tiny_seqnet.py'
    # init_detector reads the test dataset's metainfo.
    dataset = dict(type='PRWDataset', metainfo=dict(classes=('person', )))
    Config(
        dict(
            model=tiny_seqnet_cfg(),
            default_scope='mmdet',
            test_dataloader=dict(dataset=dataset))).dump(config)
    image = root / 'frame.png'
    rng = np.random.default_rng(0)
    cv2.imwrite(str(image), rng.integers(0, 256, (96, 160, 3), np.uint8))
    return str(config), str(image)


def test_stages_of_each_path(tiny_files):
    tool = load_tool('analysis_tools/benchmark_stages.py')
    config, image = tiny_files
    torch.manual_seed(0)
    model = init_detector(config, device='cpu')
    frame = cv2.imread(image)
    timer = tool.StageTimer(model, tool.HOOKED)

    class Args:
        warmup, repeats = 1, 3

    data = tool.make_data(frame, 'gallery', [40, 10, 80, 90])
    seconds, total, flops, output = tool.time_path(model, timer, data, Args)
    assert list(seconds) == GALLERY_STAGES
    assert all(s >= 0 for s in seconds.values())
    assert sum(seconds.values()) == pytest.approx(total, rel=0.5)
    assert len(output[0].pred_instances) > 0
    # The stages' FLOPs are those of the modules run on their own.
    with torch.no_grad():
        batch = model.data_preprocessor(
            tool.make_data(frame, 'gallery', [40, 10, 80, 90]), False)
        counter = FlopCounterMode(display=False)
        with counter:
            model.backbone(batch['inputs'])
    assert flops['backbone'] == counter.get_total_flops() > 0
    assert flops['first head: res5'] > 0 and flops['second head: res5'] > 0
    assert flops['inter-stage NMS'] == 0

    model.test_cfg['query_context'] = False
    data = tool.make_data(frame, 'query', [40, 10, 80, 90])
    seconds, _, flops, output = tool.time_path(model, timer, data, Args)
    assert list(seconds) == QUERY_STAGES
    assert len(output[0].pred_instances) == 1
    # The hooks are gone after each run.
    assert not model.backbone._forward_hooks
    assert not model.backbone._forward_pre_hooks


@pytest.mark.parametrize('fusion', [['--unfused'], [],
                                    ['--skip', 'channels_last']])
def test_main_prints_a_table_per_path(tiny_files, capsys, monkeypatch,
                                      fusion):
    tool = load_tool('analysis_tools/benchmark_stages.py')
    config, image = tiny_files
    monkeypatch.setattr(sys, 'argv', [
        'benchmark_stages.py', config, '--image', image, '--threads', '1',
        '--repeats', '1', '--warmup', '0', '--paths', 'gallery', 'query',
        'query_context'
    ] + fusion)
    tool.main()
    out = capsys.readouterr().out
    assert 'float32 peak (torch.mm 2048x2048)' in out
    assert ('unfused' in out) == ('--unfused' in fusion)
    for path in ('gallery path', 'query path', 'query_context path'):
        assert path in out
    assert out.count('second head: res5') == 3
    assert out.count('first head: res5') == 2  # not in the plain query
    assert out.count('total (median of sums)') == 3
