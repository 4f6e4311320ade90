"""mmseqnet reproduces the original SeqNet's outputs on the reference image.

The original model's weights (PRW config, float16, exactly representable)
are converted with the project's converter, loaded with ``init_detector``
into configs/seqnet_prw.py and run through mmdet's loading and packing and
the config's data preprocessor (which resizes as torchvision) on CPU in
float32. The reference image, 900x1500, needs no resize; the same image
enlarged to 1080x1800 must give what the model gives on torchvision's
transform of it (resized to 899x1499), mapped back as torchvision maps
boxes. Runs ResNet-50 at 900x1500 a few times: a few minutes on CPU.
"""
import copy
from pathlib import Path

import cv2
import pytest
import torch
from mmdet.apis import init_detector
from mmdet.structures import DetDataSample
from mmengine.dataset import Compose, pseudo_collate

from mmseqnet.models.utils import convert_seqnet_checkpoint
from .test_data_preprocessors.torchvision_transform import (tv_resize_boxes,
                                                            tv_transform)

REPO = Path(__file__).resolve().parents[2]
REFERENCE = REPO / '..' / 'shared' / 'reference' / 'seqnet_official'
BOX_TOL, SCORE_TOL, EMBEDDING_TOL = 1e-3, 1e-4, 1e-4

pytestmark = pytest.mark.skipif(
    not (REFERENCE / 'seqnet_official_fp16.pth').is_file(),
    reason=f'reference SeqNet outputs not found in {REFERENCE}')


@pytest.fixture(scope='module')
def reference():
    return torch.load(REFERENCE / 'expected_outputs.pth', map_location='cpu')


@pytest.fixture(scope='module')
def model(tmp_path_factory):
    checkpoint = torch.load(
        REFERENCE / 'seqnet_official_fp16.pth', map_location='cpu')
    converted = convert_seqnet_checkpoint(checkpoint, source='reference')
    path = tmp_path_factory.mktemp('seqnet') / 'seqnet_official.pth'
    torch.save(converted, path)
    lut, cq = (converted['state_dict'][
        f'roi_head.embedding_head.loss_reid.{name}'] for name in ('lut', 'cq'))
    model = init_detector(
        str(REPO / 'configs/seqnet_prw.py'),
        str(path),
        device='cpu',
        # The reference was made with the original's PRW table sizes.
        cfg_options={
            'model.roi_head.embedding_head.loss_reid.num_person_ids':
            len(lut),
            'model.roi_head.embedding_head.loss_reid.queue_size': len(cq)
        })
    # Every converted tensor has its place and nothing is left out.
    assert set(model.state_dict()) == set(converted['state_dict'])
    assert model.dataset_meta['classes'] == ('person', )
    return model


def load(sample_type, query_bbox=None, img_path=REFERENCE / 'image.png'):
    # No Resize: the config's data preprocessor resizes.
    pipeline = Compose([
        dict(type='LoadImageFromFile'),
        dict(
            type='PackDetInputs',
            meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                       'scale_factor', 'sample_type', 'query_bbox'))
    ])
    results = dict(img_path=str(img_path), img_id=0, sample_type=sample_type)
    if query_bbox is not None:
        results['query_bbox'] = query_bbox.numpy()
    return pipeline(results)


@pytest.fixture(scope='module')
def outputs(model, reference):
    """Gallery, first query with its CBGM context in one batch, then the
    other queries without context."""
    query_boxes = reference['query_boxes']
    proposals = []
    rpn_predict = model.rpn_head.predict

    def record(*args, **kwargs):
        results = rpn_predict(*args, **kwargs)
        proposals.append(copy.deepcopy(results))
        return results

    model.rpn_head.predict = record
    model.test_cfg.query_context = True
    with torch.no_grad():
        first = model.test_step(
            pseudo_collate(
                [load('gallery'),
                 load('query', query_boxes[0])]))
        model.test_cfg.query_context = False
        rest = model.test_step(
            pseudo_collate([load('query', box) for box in query_boxes[1:]]))
    del model.rpn_head.predict
    return dict(
        proposals=proposals[0][0].bboxes,
        gallery=first[0].pred_instances,
        query_context=first[1].pred_instances,
        queries=[first[1].pred_instances[:1]] +
        [out.pred_instances for out in rest])


def assert_close(actual, expected, tol):
    assert actual.shape == expected.shape
    diff = (actual - expected).abs().max().item() if actual.numel() else 0
    assert diff <= tol, f'max abs difference {diff} > {tol}'


def test_rpn_proposals(outputs, reference):
    assert_close(outputs['proposals'], reference['rpn_proposals'], BOX_TOL)


def test_gallery(outputs, reference):
    pred = outputs['gallery']
    assert_close(pred.bboxes, reference['gallery_boxes'], BOX_TOL)
    assert_close(pred.scores, reference['gallery_scores'], SCORE_TOL)
    assert_close(pred.embeddings, reference['gallery_embeddings'],
                 EMBEDDING_TOL)


def test_queries(outputs, reference):
    for i, pred in enumerate(outputs['queries']):
        assert_close(pred.bboxes, reference['query_boxes'][i:i + 1], BOX_TOL)
        assert pred.scores.tolist() == [1.0]
        assert_close(pred.embeddings, reference['query_embeddings'][i:i + 1],
                     EMBEDDING_TOL)


def test_query_context(outputs, reference):
    pred = outputs['query_context']
    assert_close(pred.bboxes, reference['query_as_gallery_boxes'], BOX_TOL)
    assert_close(pred.scores, reference['query_as_gallery_scores'], SCORE_TOL)
    assert_close(pred.embeddings, reference['query_as_gallery_embeddings'],
                 EMBEDDING_TOL)


@pytest.fixture(scope='module')
def enlarged_image(tmp_path_factory):
    """The reference image enlarged by cv2 to 1080x1800: an input the
    model resizes (to 899x1499: torchvision's float32 scale floors)."""
    image = cv2.imread(str(REFERENCE / 'image.png'))
    path = tmp_path_factory.mktemp('enlarged') / 'image_1080x1800.png'
    cv2.imwrite(str(path), cv2.resize(image, (1800, 1080)))
    return path


def test_resized_input_as_torchvision(model, reference, enlarged_image):
    """Gallery and query with CBGM context on the 1080x1800 image equal the
    model's outputs on torchvision's transform of that image (no resize in
    the model), mapped back to original pixels by ``resize_boxes``."""
    query_bbox = reference['query_boxes'][0] * 1.2
    data = pseudo_collate([
        load('gallery', img_path=enlarged_image),
        load('query', query_bbox, img_path=enlarged_image)
    ])
    size = tuple(data['inputs'][0].shape[-2:])
    assert size == (1080, 1800)
    inputs, (new_size, _) = tv_transform(data['inputs'])
    assert new_size == (899, 1499)
    # torchvision resizes the query box with the image.
    tv_query_bbox = tv_resize_boxes(query_bbox[None], size, new_size)[0]
    tv_samples = [
        DetDataSample(
            metainfo=dict(
                img_shape=new_size,
                ori_shape=new_size,
                scale_factor=(1.0, 1.0),
                pad_shape=tuple(inputs.shape[-2:]),
                batch_input_shape=tuple(inputs.shape[-2:]),
                **extra))
        for extra in (dict(sample_type='gallery'),
                      dict(sample_type='query',
                           query_bbox=tv_query_bbox.tolist()))
    ]
    model.test_cfg.query_context = True
    with torch.no_grad():
        preds = model.test_step(data)
        tv_preds = model.predict(inputs, tv_samples, rescale=False)
    for pred, tv_pred in zip(preds, tv_preds):
        pred, tv_pred = pred.pred_instances, tv_pred.pred_instances
        assert len(pred) > 1
        assert_close(pred.bboxes,
                     tv_resize_boxes(tv_pred.bboxes, new_size, size), BOX_TOL)
        assert_close(pred.scores, tv_pred.scores, SCORE_TOL)
        assert_close(pred.embeddings, tv_pred.embeddings, EMBEDDING_TOL)
