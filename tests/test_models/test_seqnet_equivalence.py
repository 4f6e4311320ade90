"""mmseqnet reproduces the original SeqNet's outputs on the reference image.

The original model's weights (PRW config, float16, exactly representable)
are converted with the project's converter, loaded with ``init_detector``
into configs/seqnet_prw.py and run through mmdet's loading and packing and
the config's data preprocessor (which resizes as torchvision) on CPU in
float32. The reference image, 900x1500, needs no resize; the same image
enlarged to 1080x1800 must give what the model gives on torchvision's
transform of it (resized to 899x1499), mapped back as torchvision maps
boxes. Runs ResNet-50 at 900x1500 a few times: a few minutes on CPU.

Stage by stage, so that the float32 differences between CPU kinds do not
compound: the model's RPN is compared with the reference's proposals, and
the RoI heads run on the reference's proposals. Tolerances and their
measured basis: :mod:`mmseqnet.testing.equivalence`.
"""
import copy

import cv2
import pytest
import torch
from mmdet.apis import init_detector
from mmdet.structures import DetDataSample
from mmengine.dataset import Compose, pseudo_collate

from mmseqnet.models.utils import convert_seqnet_checkpoint
from mmseqnet.testing import REPO_ROOT, reference_path, skip_without_reference
from mmseqnet.testing.equivalence import (EMBEDDING_ATOL,
                                          assert_detections_close,
                                          assert_proposals_close,
                                          assert_values_close, fixed_proposals)
from .test_data_preprocessors.torchvision_transform import (tv_resize_boxes,
                                                            tv_transform)

REFERENCE = reference_path('seqnet_official')

pytestmark = skip_without_reference('seqnet_official',
                                    'seqnet_official_fp16.pth')


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
        str(REPO_ROOT / 'configs/seqnet_prw.py'),
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


def run_reference_queries(model, reference):
    """Gallery, first query with its CBGM context in one batch, then the
    other queries without context; the RoI heads on the reference's
    proposals, the model's own proposals recorded."""
    query_boxes = reference['query_boxes']
    with fixed_proposals(model, reference['rpn_proposals']) as own, \
            torch.no_grad():
        model.test_cfg.query_context = True
        first = model.test_step(
            pseudo_collate(
                [load('gallery'),
                 load('query', query_boxes[0])]))
        model.test_cfg.query_context = False
        rest = model.test_step(
            pseudo_collate([load('query', box) for box in query_boxes[1:]]))
    return dict(
        proposals=own[0][0].bboxes,
        gallery=first[0].pred_instances,
        query_context=first[1].pred_instances,
        queries=[first[1].pred_instances[:1]] +
        [out.pred_instances for out in rest])


def assert_reference_outputs(outputs, reference):
    """Every output of :func:`run_reference_queries` against the reference:
    within the cross-CPU tolerances, exact where the result is given."""
    assert_proposals_close(outputs['proposals'], reference['rpn_proposals'])
    assert_detections_close(
        outputs['gallery'],
        reference['gallery_boxes'],
        reference['gallery_scores'],
        reference['gallery_embeddings'],
        name='gallery')
    context = outputs['query_context']
    # the forced query box is row 0, exactly, with score 1
    assert torch.equal(context.bboxes[0], reference['query_boxes'][0])
    assert context.scores[0].item() == 1.0
    assert_detections_close(
        context,
        reference['query_as_gallery_boxes'],
        reference['query_as_gallery_scores'],
        reference['query_as_gallery_embeddings'],
        name='query context')
    for i, pred in enumerate(outputs['queries']):
        # the given box and score come back exactly
        assert torch.equal(pred.bboxes, reference['query_boxes'][i:i + 1])
        assert pred.scores.tolist() == [1.0]
        assert_values_close(
            pred.embeddings,
            reference['query_embeddings'][i:i + 1],
            EMBEDDING_ATOL,
            name=f'query {i} embedding')


def test_reference_outputs(model, reference):
    assert_reference_outputs(run_reference_queries(model, reference),
                             reference)


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
        assert_detections_close(
            pred,
            tv_resize_boxes(tv_pred.bboxes, new_size, size),
            tv_pred.scores,
            tv_pred.embeddings,
            name='resized input')


def test_fused_for_inference(model, reference):
    """``fuse_for_inference`` (folded BatchNorm, sparse-matmul RoIAlign,
    channels-last) changes only float32 rounding: every output stays within
    the same tolerances."""
    fused = copy.deepcopy(model).fuse_for_inference()
    assert_reference_outputs(run_reference_queries(fused, reference),
                             reference)
