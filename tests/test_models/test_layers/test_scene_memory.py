import random

import torch

from mmseqnet.models.layers import SceneMemory


def test_write_replace_and_ring():
    memory = SceneMemory(num_features=2, num_images=2, max_persons=2)
    emb = [torch.ones(1, 2), torch.ones(2, 2)]
    memory.write([10, 11], torch.ones(2, 2), emb,
                 [torch.tensor([1]), torch.tensor([2, -1])])
    assert memory.image_ids.tolist() == [10, 11]
    assert memory.person_ids.tolist() == [[1, -2], [2, -1]]
    # Seen again: replaced in place; new: the oldest row goes.
    memory.write([11], 2 * torch.ones(1, 2), [torch.zeros(0, 2)],
                 [torch.zeros(0, dtype=torch.long)])
    assert memory.image_ids.tolist() == [10, 11]
    assert memory.person_ids[1].tolist() == [-2, -2]
    memory.write([12], torch.ones(1, 2), [torch.ones(1, 2)],
                 [torch.tensor([3])])
    assert memory.image_ids.tolist() == [12, 11]


def test_sample_positive_and_hard_negative():
    memory = SceneMemory(num_features=2, num_images=4, max_persons=2)
    ids = [[1, 2], [2, -1], [3, -2], [1, -2]]
    for image_id, pids in zip([20, 21, 22, 23], ids):
        memory.write([image_id], torch.ones(1, 2), [torch.ones(2, 2)],
                     [torch.tensor(pids)])
    random.seed(0)
    # Batch image 30 holds ids 1 and 3; 23 is in the batch.
    rows = memory.sample([30, 23], [{1, 3}, set()])
    chosen = {int(memory.image_ids[r]) for r in rows}
    # id 1: positive 20 (23 is in the batch); hard negative: holds 3, not 1
    # -> 22. id 3: positive 22 (taken) -> none; negative holding 1 -> 20
    # (taken) -> none.
    assert chosen == {20, 22}
    assert len(rows) == 2
