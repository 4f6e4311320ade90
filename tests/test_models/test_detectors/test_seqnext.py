"""SeqNeXt + GFN on a tiny ConvNeXt: training steps, memory, prediction."""
import copy
import math

import pytest
import torch
from mmdet.registry import MODELS

from mmseqnet.testing import tiny_seqnext_cfg

D = 2048


@pytest.fixture(scope='module')
def seqnext_cfg():
    return tiny_seqnext_cfg()


def build(cfg, seed=0):
    torch.manual_seed(seed)
    model = MODELS.build(copy.deepcopy(cfg))
    model.init_weights()
    return model


def batch(make_sample, img_ids):
    samples = [
        make_sample(img_id=i, person_ids=(0, -1, 3 + i % 2)) for i in img_ids
    ]
    return torch.rand(len(samples), 3, 128, 160), samples


def test_training_steps_finite_losses_and_memory(seqnext_cfg, make_sample):
    model = build(seqnext_cfg).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    for img_ids in ([0, 1], [2, 3], [0, 2]):
        inputs, samples = batch(make_sample, img_ids)
        losses = model.loss(inputs, samples)
        assert {
            'gfn.loss_gfn', 's1.loss_cls', 's1.loss_bbox', 's1.loss_oim',
            's0.loss_cls', 'loss_rpn_cls'
        } <= set(losses)
        total = 0
        for key, value in losses.items():
            value = sum(value) if isinstance(value, list) else value
            assert torch.isfinite(value).all(), key
            if 'loss' in key:
                total = total + value
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
    memory = model.roi_head.gfn_head.memory
    # A ring of 3: images 0, 1, 2 filled it, 3 replaced 0, then 0 replaced
    # 1 and 2 its own entry.
    assert sorted(memory.image_ids.tolist()) == [0, 2, 3]
    embeddings, person_ids, _ = memory.persons(
        [memory.image_ids.tolist().index(2)])
    assert person_ids.tolist() == [0, -1, 3]
    torch.testing.assert_close(embeddings.norm(dim=1), torch.ones(3))
    # Each image's three persons: image 1's went with image 1.
    assert (memory.owners >= 0).sum() == 9
    # The GFN loss reaches the scene branch.
    assert model.roi_head.gfn_head.scene_embedding_head.projectors[0][
        0].weight.grad.abs().sum() > 0


def test_memory_survives_checkpoint(seqnext_cfg, make_sample, tmp_path):
    model = build(seqnext_cfg).train()
    model.loss(*batch(make_sample, [4, 5]))
    path = tmp_path / 'ckpt.pth'
    torch.save({'state_dict': model.state_dict()}, path)
    resumed = build(seqnext_cfg, seed=1)
    state = torch.load(path, map_location='cpu', weights_only=True)
    resumed.load_state_dict(state['state_dict'])
    for name, buf in model.roi_head.gfn_head.memory.named_buffers():
        torch.testing.assert_close(
            getattr(resumed.roi_head.gfn_head.memory, name), buf)
    assert sorted(
        resumed.roi_head.gfn_head.memory.image_ids.tolist()) == [-1, 4, 5]


def test_predict_scene_embeddings_and_filters(seqnext_cfg, make_sample):
    model = build(seqnext_cfg).eval()
    gallery = make_sample(img_id=0)
    query = make_sample(
        img_id=0, sample_type='query', query_bbox=[10, 10, 50, 100])
    with torch.no_grad():
        outs = model.predict(torch.rand(2, 3, 128, 160), [gallery, query])
    assert outs[0].scene_embedding.shape == (D, )
    torch.testing.assert_close(outs[0].scene_embedding.norm(),
                               torch.tensor(1.0))
    assert 'gfn_filter' not in outs[0]
    assert outs[1].gfn_filter.shape == (3, D)
    pred = outs[0].pred_instances
    assert pred.embeddings.shape[1] == D
    assert ((pred.scores >= 0) & (pred.scores <= 1)).all()
    # The filter scores the query's own scene sigmoid(1), as GFN.
    from mmseqnet.evaluation.functional import gfn_scores
    score = gfn_scores(outs[1].gfn_filter[None].numpy(),
                       outs[1].scene_embedding[None].numpy())
    assert math.isclose(score.item(), 1 / (1 + math.exp(-1)), rel_tol=1e-5)
