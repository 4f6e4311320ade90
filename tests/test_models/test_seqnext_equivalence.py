"""mmseqnet reproduces GFN's SeqNeXt + GFN outputs on the reference images.

GFN's weights of a narrow SeqNeXt + GFN (ConvNeXt 32/64/128/256, depths
1/1/2/1, PRW config, float16, exactly representable) are converted with
the project's converter, loaded with ``init_detector`` into
configs/seqnext/seqnext_gfn_prw_narrow.py and run on CPU in float32 through
mmdet's loading, the config's window resize (a no-op for both images) and
the data preprocessor. Compared: RPN proposals, first-stage boxes and
scores, gallery boxes / SCS scores / weighted embeddings and scene
embeddings of both images, query embeddings and GFN scores.

Stage by stage, as tests/test_models/test_seqnet_equivalence.py, so that
the float32 differences between CPU kinds do not compound: the model's RPN
is compared with the reference's proposals of the first image, and its RoI
heads run on them; rows are paired by box where scores tie, and box
tolerances scale with the box (:mod:`mmseqnet.testing.equivalence`). The
second image has no reference proposals: it runs end to end, within the
issue's tolerances (1e-3 px + 1e-4 of the box size, 1e-4 for scores and
embeddings). Scene and query embeddings do not depend on proposals.
"""
import copy

import pytest
import torch
from mmdet.apis import init_detector
from mmengine.dataset import Compose, pseudo_collate

from mmseqnet.evaluation.functional import gfn_scores
from mmseqnet.models.utils import convert_gfn_checkpoint
from mmseqnet.testing import REPO_ROOT, reference_path, skip_without_reference
from mmseqnet.testing.equivalence import (EMBEDDING_ATOL, assert_boxes_close,
                                          assert_detections_close,
                                          assert_proposals_close,
                                          assert_values_close, fixed_proposals,
                                          match_rows)

REFERENCE = reference_path('seqnext_official')
CONFIG = REPO_ROOT / 'configs/seqnext/seqnext_gfn_prw_narrow.py'
# The second image, end to end (the tolerances), and GFN scores
# (sigmoids of cosines of embeddings within EMBEDDING_ATOL).
END_TO_END_ATOL, GFN_ATOL = 1e-4, 1e-6

pytestmark = skip_without_reference('seqnext_official', 'seqnext_gfn_fp16.pth')


@pytest.fixture(scope='module')
def reference():
    return torch.load(REFERENCE / 'expected_outputs.pth', map_location='cpu')


@pytest.fixture(scope='module')
def model(tmp_path_factory):
    checkpoint = torch.load(
        REFERENCE / 'seqnext_gfn_fp16.pth', map_location='cpu')
    converted = convert_gfn_checkpoint(checkpoint, source='reference')
    path = tmp_path_factory.mktemp('seqnext') / 'seqnext_gfn.pth'
    torch.save(converted, path)
    oim = 'roi_head.embedding_head.loss_reid.'
    model = init_detector(
        str(CONFIG),
        str(path),
        device='cpu',
        cfg_options={
            'model.roi_head.embedding_head.loss_reid.num_person_ids':
            len(converted['state_dict'][oim + 'lut']),
            'model.roi_head.embedding_head.loss_reid.queue_size':
            len(converted['state_dict'][oim + 'cq'])
        })
    # Every converted tensor has its place; only the GFN image memory
    # (training state GFN keeps outside its state_dict) is not in the file.
    missing = set(model.state_dict()) - set(converted['state_dict'])
    assert set(converted['state_dict']) <= set(model.state_dict())
    assert all(k.startswith('roi_head.gfn_head.memory.') for k in missing)
    return model


def load(img_name, sample_type='gallery', query_bbox=None):
    pipeline = Compose([
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(1500, 900), keep_ratio=True),
        dict(
            type='PackDetInputs',
            meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                       'scale_factor', 'sample_type', 'query_bbox'))
    ])
    results = dict(
        img_path=str(REFERENCE / img_name), img_id=0, sample_type=sample_type)
    if query_bbox is not None:
        results['query_bbox'] = query_bbox.numpy()
    return pipeline(results)


@pytest.fixture(scope='module')
def outputs(model, reference):
    """Both gallery images (the first on the reference's proposals), then
    the three queries of image 1."""
    records = dict(first_stage=[])
    postprocess = model.roi_head._postprocess

    def record_postprocess(results, nms_cfg, *args, **kwargs):
        kept = postprocess(results, nms_cfg, *args, **kwargs)
        if nms_cfg is model.roi_head.test_cfg['inter_stage_nms']:
            records['first_stage'].append(copy.deepcopy(kept))
        return kept

    model.roi_head._postprocess = record_postprocess
    try:
        with torch.no_grad():
            with fixed_proposals(model, reference['rpn_proposals']) as own:
                galleries = model.test_step(
                    pseudo_collate([load('image.png')]))
            galleries += model.test_step(pseudo_collate([load('image2.png')]))
            queries = model.test_step(
                pseudo_collate([
                    load('image.png', 'query', box)
                    for box in reference['query_boxes']
                ]))
    finally:
        del model.roi_head._postprocess
    return dict(
        galleries=galleries,
        queries=queries,
        proposals=own[0][0].bboxes,
        **records)


def test_rpn_proposals(outputs, reference):
    assert_proposals_close(outputs['proposals'], reference['rpn_proposals'])


def test_first_stage(outputs, reference):
    assert_detections_close(
        outputs['first_stage'][0],
        reference['first_stage_boxes'],
        reference['first_stage_scores'],
        name='first stage')


def test_gallery_on_reference_proposals(outputs, reference):
    pred = outputs['galleries'][0].pred_instances
    assert len(pred) > 0
    assert_detections_close(
        pred,
        reference['gallery_boxes'],
        reference['gallery_scores'],
        reference['gallery_embeddings'],
        name='gallery')


def test_second_gallery_end_to_end(outputs, reference):
    pred = outputs['galleries'][1].pred_instances
    assert len(pred) > 0
    order = match_rows(
        pred.bboxes,
        reference['gallery2_boxes'],
        pred.scores,
        reference['gallery2_scores'],
        score_atol=END_TO_END_ATOL)
    assert_boxes_close(
        pred.bboxes[order], reference['gallery2_boxes'], name='gallery2 boxes')
    assert_values_close(
        pred.scores[order],
        reference['gallery2_scores'],
        END_TO_END_ATOL,
        name='gallery2 scores')
    assert_values_close(
        pred.embeddings[order],
        reference['gallery2_embeddings'],
        END_TO_END_ATOL,
        name='gallery2 embeddings')


@pytest.mark.parametrize('index,key', [(0, 'scene_embedding'),
                                       (1, 'scene_embedding2')])
def test_scene_embeddings(outputs, reference, index, key):
    assert_values_close(
        outputs['galleries'][index].scene_embedding[None],
        reference[key],
        EMBEDDING_ATOL,
        name=key)


def test_queries(outputs, reference):
    for i, sample in enumerate(outputs['queries']):
        pred = sample.pred_instances
        # the given box comes back exactly
        assert torch.equal(pred.bboxes, reference['query_boxes'][i:i + 1])
        assert_values_close(
            pred.embeddings,
            reference['query_embeddings'][i:i + 1],
            EMBEDDING_ATOL,
            name=f'query {i} embedding')


def test_gfn_scores(model, outputs, reference):
    """GFN scores of the three queries for both scenes, from the model and
    from the queries' filters (what the metric uses)."""
    queries = torch.cat(
        [s.pred_instances.embeddings[:1] for s in outputs['queries']])
    query_scenes = torch.stack([s.scene_embedding for s in outputs['queries']])
    scenes = torch.stack([g.scene_embedding for g in outputs['galleries']])
    with torch.no_grad():
        scores = model.roi_head.gfn_head.scores(queries, query_scenes, scenes)
    assert_values_close(
        scores, reference['gfn_scores'], GFN_ATOL, name='GFN scores')
    filters = torch.stack([s.gfn_filter for s in outputs['queries']])
    assert_values_close(
        torch.from_numpy(gfn_scores(filters.numpy(), scenes.numpy())).float(),
        reference['gfn_scores'],
        GFN_ATOL,
        name='GFN scores from the filters')
