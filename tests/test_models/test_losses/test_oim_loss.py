import math

import pytest
import torch
import torch.nn.functional as F

from mmseqnet.models.losses import OIMLoss


def unit(n, d=8, seed=0):
    """n random unit vectors of dimension d."""
    g = torch.Generator().manual_seed(seed)
    return F.normalize(torch.randn(n, d, generator=g), dim=1)


def test_fresh_loss_is_log_of_table_size():
    loss = OIMLoss(num_features=8, num_person_ids=5, queue_size=7)
    value = loss(unit(4), torch.tensor([0, 1, 4, -1]))
    assert value.item() == pytest.approx(math.log(5 + 7), rel=1e-6)


def test_buffers_are_saved():
    loss = OIMLoss(num_features=8, num_person_ids=5, queue_size=7)
    state = loss.state_dict()
    assert set(state) == {'lut', 'cq', 'cq_ptr'}
    assert state['lut'].shape == (5, 8) and state['cq'].shape == (7, 8)


def test_lut_momentum_update_and_renormalisation():
    loss = OIMLoss(num_features=8, num_person_ids=3, queue_size=4,
                   momentum=0.5)
    old = unit(1, seed=1)[0]
    loss.lut[1] = old
    x = unit(1, seed=2)
    loss(x, torch.tensor([1]))
    expected = F.normalize(0.5 * old + 0.5 * x[0], dim=0)
    torch.testing.assert_close(loss.lut[1], expected)
    assert loss.lut[1].norm().item() == pytest.approx(1.0, abs=1e-6)
    # Other rows and the queue are untouched.
    assert loss.lut[[0, 2]].abs().sum() == 0
    assert loss.cq.abs().sum() == 0 and loss.cq_ptr.item() == 0


def test_repeated_id_is_updated_sequentially():
    loss = OIMLoss(num_features=8, num_person_ids=2, queue_size=4,
                   momentum=0.5)
    x = unit(2, seed=3)
    loss.update(x, torch.tensor([0, 0]))
    # Zero row: the first update gives x0, the second mixes in x1.
    expected = F.normalize(0.5 * x[0] + 0.5 * x[1], dim=0)
    torch.testing.assert_close(loss.lut[0], expected)


def test_queue_is_fifo_and_wraps_around():
    loss = OIMLoss(num_features=8, num_person_ids=2, queue_size=3)
    x = unit(5, seed=4)
    loss.update(x[:2], torch.tensor([-1, -1]))
    torch.testing.assert_close(loss.cq[:2], x[:2])
    assert loss.cq_ptr.item() == 2
    loss.update(x[2:4], torch.tensor([-1, -1]))
    # Slot 2 then slot 0 (wrapped), slot 1 still holds x1.
    torch.testing.assert_close(loss.cq, torch.stack([x[3], x[1], x[2]]))
    assert loss.cq_ptr.item() == 1


def test_more_unlabeled_than_queue_keeps_newest():
    loss = OIMLoss(num_features=8, num_person_ids=2, queue_size=3)
    x = unit(5, seed=5)
    loss.update(x[:1], torch.tensor([-1]))
    loss.update(x[1:], torch.tensor([-1, -1, -1, -1]))
    # Sequential writes from slot 1: x1->1, x2->2, x3->0, x4->1.
    torch.testing.assert_close(loss.cq, torch.stack([x[3], x[4], x[2]]))
    assert loss.cq_ptr.item() == 5 % 3


def test_unlabeled_excluded_from_cross_entropy():
    loss = OIMLoss(num_features=8, num_person_ids=3, queue_size=2,
                   scalar=30.0)
    loss.lut.copy_(unit(3, seed=6))
    loss.cq.copy_(unit(2, seed=7))
    lut, cq = loss.lut.clone(), loss.cq.clone()
    x = unit(3, seed=8)
    ids = torch.tensor([2, -1, 0])
    value = loss(x, ids)
    logits = 30.0 * x @ torch.cat([lut, cq]).t()
    expected = F.cross_entropy(logits[[0, 2]], ids[[0, 2]])
    torch.testing.assert_close(value, expected)
    # The unlabeled embedding went into the queue.
    torch.testing.assert_close(loss.cq[0], x[1])


def test_only_unlabeled_gives_zero_loss_with_gradient():
    loss = OIMLoss(num_features=8, num_person_ids=3, queue_size=2)
    x = unit(2, seed=9).requires_grad_()
    value = loss(x, torch.tensor([-1, -1]))
    assert value.item() == 0
    value.backward()
    assert x.grad is not None


def test_empty_input():
    loss = OIMLoss(num_features=8, num_person_ids=3, queue_size=2)
    value = loss(torch.zeros(0, 8, requires_grad=True),
                 torch.zeros(0, dtype=torch.long))
    assert value.item() == 0 and torch.isfinite(value)


def test_gradient_uses_tables_before_update():
    loss = OIMLoss(num_features=8, num_person_ids=3, queue_size=2,
                   scalar=30.0, loss_weight=2.0)
    loss.lut.copy_(unit(3, seed=10))
    lut = loss.lut.clone()
    x = unit(2, seed=11).requires_grad_()
    loss(x, torch.tensor([0, 1])).backward()
    x_ref = x.detach().clone().requires_grad_()
    logits = 30.0 * x_ref @ torch.cat([lut, loss.cq * 0]).t()
    (2.0 * F.cross_entropy(logits, torch.tensor([0, 1]))).backward()
    torch.testing.assert_close(x.grad, x_ref.grad)


def test_no_update_in_eval_mode():
    loss = OIMLoss(num_features=8, num_person_ids=3, queue_size=2).eval()
    loss(unit(2), torch.tensor([0, -1]))
    assert loss.lut.abs().sum() == 0 and loss.cq.abs().sum() == 0


@pytest.mark.parametrize('bad_id', [3, -2])
def test_out_of_range_ids_raise(bad_id):
    loss = OIMLoss(num_features=8, num_person_ids=3, queue_size=2)
    with pytest.raises(ValueError, match='num_person_ids'):
        loss(unit(1), torch.tensor([bad_id]))


STEPS = 3
RANK_IDS = torch.tensor([0, -1, 2, 0, -1, -1])


def _update_on_rank(rank, init_file, results):
    """Rank ``rank`` of 2: a few OIM steps with its own (differently sized)
    share of each step's embeddings; puts its tables into ``results``."""
    import torch.distributed as dist
    dist.init_process_group(
        'gloo', init_method=f'file://{init_file}', rank=rank, world_size=2)
    loss = OIMLoss(num_features=8, num_person_ids=4, queue_size=5)
    mine = slice(0, 2) if rank == 0 else slice(2, 6)
    for step in range(STEPS):
        loss(unit(6, seed=20 + step)[mine], RANK_IDS[mine])
    results[rank] = (loss.lut.clone(), loss.cq.clone(), int(loss.cq_ptr))
    dist.destroy_process_group()


def test_tables_synchronised_across_ranks(tmp_path):
    import torch.multiprocessing as mp
    results = mp.Manager().dict()
    mp.spawn(
        _update_on_rank,
        args=(str(tmp_path / 'init'), results),
        nprocs=2,
        join=True)
    # Both ranks hold what one process gets from each step's six embeddings
    # in rank order.
    single = OIMLoss(num_features=8, num_person_ids=4, queue_size=5)
    for step in range(STEPS):
        single.update(unit(6, seed=20 + step), RANK_IDS)
    for rank in (0, 1):
        lut, cq, ptr = results[rank]
        torch.testing.assert_close(lut, single.lut)
        torch.testing.assert_close(cq, single.cq)
        assert ptr == int(single.cq_ptr) == (3 * STEPS) % 5


def test_float32_under_mixed_precision():
    # Under autocast the logits must still be float32: the loss equals the
    # float32 loss of the same (rounded) embeddings, tables included.
    x = unit(6, seed=3).bfloat16()
    ids = torch.tensor([0, 1, -1, 2, 3, 1])
    reference, mixed = (OIMLoss(num_features=8, num_person_ids=4,
                                queue_size=5) for _ in range(2))
    for oim in (reference, mixed):
        oim.update(unit(6, seed=4), ids)  # non-zero tables
    expected = reference(x.float(), ids)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        value = mixed(x, ids)
    assert value.dtype == torch.float32
    torch.testing.assert_close(value, expected, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(mixed.lut, reference.lut)


def test_gfn_variant_by_hand():
    """GFN's OIM: empty rows -1, an empty own row +1, sum over all fg."""
    loss_fn = OIMLoss(
        num_features=2, num_person_ids=2, queue_size=2, scalar=1.0,
        variant='gfn').eval()
    loss_fn.lut[0] = torch.tensor([1.0, 0.0])
    # Labeled id 0 at (0, 1): logits [0, -1 | -1, -1]; an unlabeled sample
    # adds no term but counts in the denominator.
    loss = loss_fn(
        torch.tensor([[0.0, 3.0], [1.0, 0.0]]), torch.tensor([0, -1]))
    assert math.isclose(loss.item(), math.log(1 + 3 * math.exp(-1)) / 2,
                        rel_tol=1e-6)
    # Id 1 (row still empty) at (1, 0): logits [1, +1 | -1, -1].
    loss = loss_fn(torch.tensor([[2.0, 0.0]]), torch.tensor([1]))
    expected = math.log(2 * math.e + 2 * math.exp(-1)) - 1
    assert math.isclose(loss.item(), expected, rel_tol=1e-6)


def test_unknown_variant():
    with pytest.raises(ValueError, match='variant'):
        OIMLoss(variant='other')
