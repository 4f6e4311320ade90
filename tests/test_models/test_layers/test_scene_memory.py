import random

import torch

from mmseqnet.models.layers import SceneMemory
from mmseqnet.models.layers.scene_memory import image_key


def write(memory, image_id, pids, value=1.0):
    memory.write([image_id], torch.full((1, 2), value),
                 [torch.full((len(pids), 2), value)], [torch.tensor(pids)])


def test_write_replace_and_rings():
    memory = SceneMemory(num_features=2, num_images=2, num_persons=4)
    memory.write([10, 11], torch.ones(2, 2),
                 [torch.ones(1, 2), 2 * torch.ones(2, 2)],
                 [torch.tensor([1]), torch.tensor([2, -1])])
    assert memory.image_ids.tolist() == [10, 11]
    assert memory.owners.tolist() == [0, 1, 1, -1]
    emb, ids, pos = memory.persons([1])
    assert ids.tolist() == [2, -1] and pos.tolist() == [0, 0]
    torch.testing.assert_close(emb, 2 * torch.ones(2, 2))
    # Seen again: replaced in place, its old persons freed.
    write(memory, 11, [], value=3.0)
    assert memory.image_ids.tolist() == [10, 11]
    assert memory.owners.tolist() == [0, -1, -1, -1]
    torch.testing.assert_close(memory.scenes[1], 3 * torch.ones(2))
    # New image 12 takes the oldest row (image 10's) ...
    write(memory, 12, [5, 6])
    assert memory.image_ids.tolist() == [12, 11]
    # ... and its persons the next places: slots 3 and 0.
    assert memory.owners.tolist() == [0, -1, -1, 0]
    write(memory, 13, [7, 8])
    assert memory.image_ids.tolist() == [12, 13]
    assert memory.owners.tolist() == [0, 1, 1, 0]
    # Image 14 takes row 0 (image 12 goes); its three persons take slots 3,
    # 0 and 1, one of image 13's, so image 13 goes whole too.
    write(memory, 14, [9, 10, 11])
    assert memory.image_ids.tolist() == [14, -1]
    assert memory.owners.tolist() == [0, 0, -1, 0]
    assert memory.persons([0])[1].tolist() == [10, 11, 9]


def test_sample_positive_and_hard_negative():
    memory = SceneMemory(num_features=2, num_images=4, num_persons=8)
    for image_id, pids in zip([20, 21, 22, 23], [[1, 2], [2, -1], [3], [1]]):
        write(memory, image_id, pids)
    for seed in range(4):
        random.seed(seed)
        # Batch image 30 holds ids 1 and 3; 23 is in the batch.
        rows = memory.sample([30, 23], [{1, 3}, set()])
        # id 1: positive 20 (23 is in the batch), hard negative 22 (holds
        # 3, not 1); id 3: its positive 22 and negative 20 are taken (or
        # the other way round).
        assert sorted(int(memory.image_ids[r]) for r in rows) == [20, 22]


def test_image_names_as_keys():
    memory = SceneMemory(num_features=2, num_images=2, num_persons=4)
    write(memory, 'c1s1_000151', [1])
    write(memory, 'c1s1_000151', [2])
    assert (memory.image_ids >= 0).sum() == 1
    assert memory.persons([0])[1].tolist() == [2]
    assert image_key('c1s1_000151') == image_key('c1s1_000151') >= 0
    assert image_key(7) == 7
