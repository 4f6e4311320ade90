"""GalleryFilterHead: its pairs and GFN's three modes (scores, filters,
loss, training step)."""
import copy
import math

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config

from mmseqnet.evaluation.functional import gfn_scores
from mmseqnet.models.roi_heads import GalleryFilterHead
from mmseqnet.testing import REPO_ROOT

MODES = ('combined', 'separate', 'image')
TEMPERATURE = 0.1  # NT-Xent's, the default of NTXentLoss


def test_pairs_by_hand():
    """Image 0 holds id 5 and an unlabeled person; image 1 ids 5 and 7."""
    image_inds = torch.tensor([0, 0, 1, 1])
    person_ids = torch.tensor([5, -1, 5, 7])
    known = [{5}, {5, 7}]
    head = GalleryFilterHead.__new__(GalleryFilterHead)
    head.filter_negatives = True
    pos, neg = GalleryFilterHead._pairs(head, image_inds, person_ids, known)
    assert pos.tolist() == [[True, True], [True, False], [True, True],
                            [False, True]]
    # The unlabeled person's image 1 shares id 5 with its image: not a
    # negative; id 7 is not in image 0: a negative.
    assert neg.tolist() == [[False, False], [False, False], [False, False],
                            [True, False]]
    head.filter_negatives = False
    _, neg = GalleryFilterHead._pairs(head, image_inds, person_ids, known)
    assert neg.tolist() == [[False, False], [False, True], [False, False],
                            [True, False]]


@pytest.fixture(scope='module')
def narrow_gfn_cfg():
    """The GFN head of configs/seqnext/seqnext_gfn_prw_narrow.py."""
    return Config.fromfile(
        str(REPO_ROOT / 'configs/seqnext/seqnext_gfn_prw_narrow.py')
    ).model.roi_head.gfn_head


def build_head(cfg, mode, dim, memory=None):
    """The narrow head with ``dim``-d embeddings and an 8x8 scene pool."""
    cfg = copy.deepcopy(cfg)
    cfg.scene_embedding_head.out_channels = dim
    cfg.fuser.num_features = dim
    cfg.memory = memory
    cfg.scene_pool_size = 8
    cfg.mode = mode
    torch.manual_seed(0)
    head = MODELS.build(cfg)
    head.init_weights()
    return head


def test_mode_is_checked_and_only_combined_fuses(narrow_gfn_cfg):
    with pytest.raises(ValueError, match="mode must be one of .*'scene'"):
        build_head(narrow_gfn_cfg, 'scene', 4)
    for mode in MODES:
        head = build_head(narrow_gfn_cfg, mode, 4)
        assert head.mode == mode
        # GFN builds no fuser for the other modes: no parameters that no
        # loss reaches (DDP would stop on them).
        has_fuser = any(k.startswith('fuser.') for k in head.state_dict())
        assert has_fuser == (mode == 'combined')


def sig(x):
    return 1 / (1 + math.exp(-x))


def cos(a, b):
    dot = sum(x * y for x, y in zip(a, b))
    return dot / math.hypot(*a) / math.hypot(*b)


R = 1 / math.sqrt(2)
# Two queries (from scenes (1, 0) and (0, 5)) against three gallery scenes.
QUERIES = torch.tensor([[3., 4.], [0., 1.]])
QUERY_SCENES = torch.tensor([[1., 0.], [0., 5.]])
SCENES = torch.tensor([[2., 0.], [0., 3.], [1., 1.]])

# 'combined' with the fuser's BatchNorm set to weight 1, bias (0, 0.5),
# running mean 0 and variance 1: z(q, s) = sigmoid(unit(q) / 0.2) * unit(s)
# + (0, 0.5). Gates of query 0 (unit (0.6, 0.8)): sigmoid(3), sigmoid(4);
# of query 1 (unit (0, 1)): 0.5, sigmoid(5).
G0, G1 = (sig(3), sig(4)), (0.5, sig(5))
# Per query: its own fused scene, then the fused gallery scenes (1, 0),
# (0, 1) and (R, R).
OWN_FUSED = [(G0[0], 0.5), (0, G1[1] + 0.5)]
GALLERY_FUSED = [
    [(G0[0], 0.5), (0, G0[1] + 0.5), (G0[0] * R, G0[1] * R + 0.5)],
    [(0.5, 0.5), (0, G1[1] + 0.5), (0.5 * R, G1[1] * R + 0.5)],
]
SCORES = dict(
    combined=[[sig(cos(own, z)) for z in gallery]
              for own, gallery in zip(OWN_FUSED, GALLERY_FUSED)],
    # cos(unit(q), unit(s)): q = (0.6, 0.8), then (0, 1).
    separate=[[sig(0.6), sig(0.8), sig(1.4 * R)],
              [sig(0), sig(1), sig(R)]],
    # cos(unit(s_A), unit(s)): s_A = (1, 0), then (0, 1).
    image=[[sig(1), sig(0), sig(R)], [sig(0), sig(1), sig(R)]])
# Rows anchor, gate, offset per query.
FILTERS = dict(
    combined=[[[x / math.hypot(*own) for x in own], gates, (0, 0.5)]
              for own, gates in zip(OWN_FUSED, (G0, G1))],
    separate=[[(0.6, 0.8), (1, 1), (0, 0)], [(0, 1), (1, 1), (0, 0)]],
    image=[[(1, 0), (1, 1), (0, 0)], [(0, 1), (1, 1), (0, 0)]])


def set_fuser_by_hand(head):
    norm = head.fuser.norm
    norm.weight.data.fill_(1)
    norm.bias.data = torch.tensor([0, 0.5])
    norm.running_mean.zero_()
    norm.running_var.fill_(1)


@pytest.mark.parametrize('mode', MODES)
def test_scores_and_filters_by_hand(narrow_gfn_cfg, mode):
    head = build_head(narrow_gfn_cfg, mode, 2).eval()
    if mode == 'combined':
        set_fuser_by_hand(head)
    with torch.no_grad():
        # BatchNorm's eps (1e-5) scales the fused features by 1 - 5e-6.
        torch.testing.assert_close(
            head.scores(QUERIES, QUERY_SCENES, SCENES),
            torch.tensor(SCORES[mode]),
            rtol=0,
            atol=1e-5)
        torch.testing.assert_close(
            head.query_filters(QUERIES, QUERY_SCENES),
            torch.tensor(FILTERS[mode], dtype=torch.float32),
            rtol=0,
            atol=1e-5)


@pytest.mark.parametrize('mode', MODES)
def test_metric_scores_equal_head_scores(narrow_gfn_cfg, mode):
    """``gfn_scores`` on ``query_filters`` (the metric's and the searcher's
    GFN scores) is the head's score, here on random features and fuser
    statistics."""
    dim = 16
    head = build_head(narrow_gfn_cfg, mode, dim).eval()
    if mode == 'combined':
        norm = head.fuser.norm
        norm.weight.data.uniform_(0.5, 2)
        norm.bias.data.normal_()
        norm.running_mean.normal_()
        norm.running_var.uniform_(0.5, 2)
    generator = torch.Generator().manual_seed(1)
    queries, query_scenes = torch.randn(2, 5, dim, generator=generator)
    scenes = torch.randn(7, dim, generator=generator)
    with torch.no_grad():
        expected = head.scores(queries, query_scenes, scenes).double()
        filters = head.query_filters(queries, query_scenes)
    actual = torch.from_numpy(gfn_scores(filters.numpy(), scenes.numpy()))
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-6)
    # Each query scores its own scene sigmoid(1) in 'combined' and 'image'.
    if mode != 'separate':
        own = torch.from_numpy(
            gfn_scores(filters.numpy(), query_scenes.numpy())).diagonal()
        torch.testing.assert_close(
            own, torch.full((5, ), sig(1), dtype=torch.float64))


def ntxent(terms):
    """Mean over (anchor, positive, negatives) of -log(e^(c+/t) / (e^(c+/t)
    + sum e^(c-/t))), c the cosine similarity."""
    losses = []
    for anchor, positive, negatives in terms:
        pos = math.exp(cos(anchor, positive) / TEMPERATURE)
        neg = sum(math.exp(cos(anchor, n) / TEMPERATURE) for n in negatives)
        losses.append(-math.log(pos / (pos + neg)))
    return sum(losses) / len(losses)


# Image 0 holds id 5 (person 0) and an unlabeled person (1); image 1 ids 5
# (2) and 7 (3); image 2 id 9 (4). Person 1's negatives skip image 1
# (which shares id 5 with image 0).
IMAGE_INDS = torch.tensor([0, 0, 1, 1, 2])
PERSON_IDS = torch.tensor([5, -1, 5, 7, 9])
# Directions a few degrees apart: cosines / 0.1 of order 1, no saturation.
PERSONS = torch.tensor([[1., .2], [.9, .5], [1., .1], [1., -.3], [1., .4]])
LOSS_SCENES = torch.tensor([[1., 0.], [1., .3], [1., -.2]])


def expected_loss(mode):
    q, s = PERSONS.tolist(), LOSS_SCENES.tolist()
    if mode == 'separate':
        # Per image: its positive persons, each against the persons the
        # image is negative for.
        pairs = {
            0: ([0, 1, 2], [3, 4]),
            1: ([0, 2, 3], [4]),
            2: ([4], [0, 1, 2, 3])
        }
        return ntxent([(s[i], q[p], [q[n] for n in neg])
                       for i, (pos, neg) in pairs.items() for p in pos])
    if mode == 'image':
        # Per image: itself and the images sharing an id with it, each
        # against the others.
        pairs = {0: ([0, 1], [2]), 1: ([0, 1], [2]), 2: ([2], [0, 1])}
        return ntxent([(s[i], s[p], [s[n] for n in neg])
                       for i, (pos, neg) in pairs.items() for p in pos])
    # Per person: its images, each against its negative images, all fused
    # with the person (running BatchNorm statistics 0 and 1: z = gate *
    # unit(s), up to a common scale).
    pairs = {
        0: ([0, 1], [2]),
        1: ([0], [2]),
        2: ([0, 1], [2]),
        3: ([1], [0, 2]),
        4: ([2], [0, 1])
    }
    own = IMAGE_INDS.tolist()

    def z(p, i):
        gates = [sig(x / math.hypot(*q[p]) / 0.2) for x in q[p]]
        return [g * x / math.hypot(*s[i]) for g, x in zip(gates, s[i])]

    return ntxent([(z(p, own[p]), z(p, i), [z(p, n) for n in neg])
                   for p, (pos, neg) in pairs.items() for i in pos])


@pytest.mark.parametrize('mode', MODES)
def test_loss_by_hand(narrow_gfn_cfg, mode):
    # Eval mode: the fuser's BatchNorm uses its running statistics.
    head = build_head(narrow_gfn_cfg, mode, 2).eval()
    loss = head.loss(PERSONS, IMAGE_INDS, PERSON_IDS, LOSS_SCENES,
                     [0, 1, 2])['loss_gfn']
    assert loss.item() == pytest.approx(expected_loss(mode), rel=1e-5)


@pytest.mark.parametrize('mode', MODES)
def test_training_steps(narrow_gfn_cfg, mode):
    """Two steps of the head with its memory: finite, non-zero losses; the
    gradients reach the scene branch, the query embeddings unless the mode
    ignores persons ('image'), and the fuser in 'combined'."""
    dim = 16
    head = build_head(
        narrow_gfn_cfg,
        mode,
        dim,
        memory=dict(
            type='SceneMemory', num_features=dim, num_images=6,
            num_persons=12)).train()
    # Stands in for the re-ID head and embedding head of the GT boxes.
    embedder = torch.nn.Linear(8, dim)
    params = list(head.parameters()) + list(embedder.parameters())
    optimizer = torch.optim.SGD(params, lr=0.01)
    # Images 0 and 1 share id 0; image 2 shares none.
    image_inds = torch.tensor([0, 0, 1, 1, 2, 2])
    person_ids = torch.tensor([0, -1, 0, 3, 5, -1])
    drawn = []
    sample = head.memory.sample
    head.memory.sample = lambda *args: drawn.append(sample(*args)) or drawn[-1]
    for image_ids in ([0, 1, 2], [3, 4, 5]):
        optimizer.zero_grad()
        scenes = head.scene_embeddings(torch.randn(3, 128, 10, 12))
        loss = head.loss(
            embedder(torch.randn(6, 8)), image_inds, person_ids, scenes,
            image_ids)['loss_gfn']
        assert torch.isfinite(loss) and loss > 0
        loss.backward()
        grads = {
            'scene': head.scene_embedding_head.projectors[0][0].weight.grad,
            'query': embedder.weight.grad
        }
        if mode == 'combined':
            grads['fuser'] = head.fuser.norm.weight.grad
        for name, grad in grads.items():
            reached = grad is not None and bool(grad.abs().sum() > 0)
            assert reached == (name != 'query' or mode != 'image'), name
        optimizer.step()
    # The second step also compared with the first step's images.
    assert drawn[0] == [] and len(drawn[1]) > 0
    assert sorted(head.memory.image_ids.tolist()) == list(range(6))
