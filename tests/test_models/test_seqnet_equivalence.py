"""mmseqnet reproduces the original SeqNet's outputs on the reference image.

The original model's weights (PRW config, float16, exactly representable)
are converted with the project's converter, loaded with ``init_detector``
into configs/seqnet_prw.py and run through the real mmdet test pipeline and
data preprocessor on CPU in float32. Runs ResNet-50 at 900x1500 a few times:
about a minute on CPU.
"""
import copy
from pathlib import Path

import pytest
import torch
from mmdet.apis import init_detector
from mmengine.dataset import Compose, pseudo_collate

from mmseqnet.models.utils import convert_seqnet_checkpoint

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


def load(sample_type, query_bbox=None):
    pipeline = Compose([
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(1500, 900), keep_ratio=True),
        dict(
            type='PackDetInputs',
            meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                       'scale_factor', 'sample_type', 'query_bbox'))
    ])
    results = dict(
        img_path=str(REFERENCE / 'image.png'),
        img_id=0,
        sample_type=sample_type)
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
