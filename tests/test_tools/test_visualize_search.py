"""tools/analysis_tools/visualize_search.py on a metric results file."""

import mmcv
import numpy as np
import pytest

from mmseqnet.evaluation import PersonSearchMetric
from mmseqnet.testing import load_tool
from mmseqnet.testing.metric_samples import (evaluate_metric, make_scene,
                                             scene_samples)
from mmseqnet.visualization import PALETTE


def test_visualize_search(tmp_path):
    tool = load_tool('analysis_tools/visualize_search.py')
    images, queries = make_scene('prw')
    img_dir = tmp_path / 'frames'
    img_dir.mkdir()
    for img in images:
        canvas = np.full((400, 800, 3), 90, np.uint8)
        for box, pid in zip(img['boxes'].astype(int), img['pids']):
            shade = 40 * (pid + 2) % 256
            canvas[box[1]:box[3], box[0]:box[2]] = (shade, 255 - shade, 128)
        mmcv.imwrite(canvas, str(img_dir / img['img_name']))
    results_file = str(tmp_path / 'search.json')
    # random features: a mix of correct and wrong matches
    evaluate_metric(
        PersonSearchMetric(results_file=results_file), 'prw', images, queries,
        scene_samples(images, queries, rng=np.random.default_rng(0)))

    written = tool.visualize(
        results_file,
        str(img_dir),
        str(tmp_path / 'vis'),
        topk=5,
        crop_height=64)
    assert len(written) == len(queries)
    picture = mmcv.imread(written[0], channel_order='rgb')
    assert picture.shape[0] == 64 + 12 + 28
    # The query's frame, then a correct or wrong frame per match.
    assert tuple(picture[0, 0]) == PALETTE.query
    border_colors = {
        tuple(c)
        for c in picture[0] if tuple(c) in (PALETTE.correct, PALETTE.wrong)
    }
    assert border_colors  # at least one match drawn

    wrong = tool.visualize(
        results_file,
        str(img_dir),
        str(tmp_path / 'wrong'),
        variant='search_cbgm',
        only_wrong=True,
        max_queries=2)
    assert 0 < len(wrong) <= 2
    with pytest.raises(KeyError, match='search_mv'):
        tool.visualize(
            results_file,
            str(img_dir),
            str(tmp_path / 'x'),
            variant='search_mv')
