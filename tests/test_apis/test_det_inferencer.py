"""mmdet's DetInferencer and the inference pipeline on mmseqnet configs."""
import os.path as osp

import mmcv
import numpy as np
import pytest
import torch
from mmdet.apis import DetInferencer, init_detector
from mmengine.config import Config

from mmseqnet.apis import build_inference_pipeline
from mmseqnet.testing import REPO_ROOT

LIGHT_CONFIG = osp.join(REPO_ROOT, 'configs', 'seqnet_light_synthetic_prw.py')


@pytest.fixture(scope='module')
def image(tmp_path_factory):
    """A 480x270 BGR frame with two dark figures, and its path."""
    img = np.full((270, 480, 3), 170, np.uint8)
    img[60:220, 100:150] = (40, 60, 90)
    img[50:230, 300:360] = (90, 30, 30)
    path = str(tmp_path_factory.mktemp('frames') / 'frame.jpg')
    mmcv.imwrite(img, path)
    return img, path


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory):
    """Random weights of the light config, as a user's checkpoint."""
    torch.manual_seed(0)
    model = init_detector(LIGHT_CONFIG, checkpoint=None, device='cpu')
    model.init_weights()
    path = str(tmp_path_factory.mktemp('weights') / 'light.pth')
    torch.save({
        'state_dict': model.state_dict(),
        'meta': {'dataset_meta': {'classes': ('person', )}}
    }, path)
    return path


def test_det_inferencer_on_the_light_config(checkpoint, image):
    _, path = image
    img = mmcv.imread(path)  # the file's pixels, as an array
    inferencer = DetInferencer(
        model=LIGHT_CONFIG, weights=checkpoint, device='cpu')
    # Random weights score low: keep every detection.
    inferencer.model.roi_head.test_cfg.score_thr = 0.0

    results = inferencer([path, img], return_datasamples=True)
    from_file, from_array = results['predictions']
    for sample in (from_file, from_array):
        pred = sample.pred_instances
        assert len(pred) > 0
        assert pred.bboxes.shape == (len(pred), 4)
        assert pred.scores.shape == (len(pred), )
        assert pred.embeddings.shape == (len(pred), 128)
        assert sample.ori_shape == (270, 480)
    # Same pixels through the path and the array loaders: same output.
    for key in ('bboxes', 'scores', 'embeddings'):
        torch.testing.assert_close(from_file.pred_instances[key],
                                   from_array.pred_instances[key])

    plain = inferencer(path)['predictions'][0]
    assert len(plain['bboxes']) == len(plain['scores']) > 0


def test_inference_pipeline_takes_paths_arrays_and_dicts(image):
    img, path = image
    pipeline = build_inference_pipeline(Config.fromfile(LIGHT_CONFIG))
    for item in (path, img, dict(img_path=path), dict(img=img)):
        sample = pipeline(item)['data_samples']
        assert sample.ori_shape == (270, 480)
        # The config's Resize to 720x405 ran.
        assert sample.img_shape == (405, 720)


def test_inference_pipeline_loaders():
    def config(*pipeline):
        return Config(
            dict(test_dataloader=dict(dataset=dict(pipeline=list(pipeline)))))

    pipeline = build_inference_pipeline(
        config(dict(type='LoadImageFromFile'), dict(type='PackDetInputs')))
    assert type(pipeline.transforms[0]).__name__ == 'InferencerLoader'
    pipeline = build_inference_pipeline(
        config(dict(type='LoadCheckedImageFromFile', verify=False)))
    assert type(pipeline.transforms[0]).__name__ == \
        'LoadCheckedImageFromFile'
    # No loader: items already hold the image.
    pipeline = build_inference_pipeline(config(dict(type='PackDetInputs')))
    img = np.zeros((20, 30, 3), np.uint8)
    sample = pipeline(dict(img=img, img_shape=(20, 30)))['data_samples']
    assert sample.img_shape == (20, 30)
