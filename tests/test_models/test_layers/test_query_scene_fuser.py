import math

import torch

from mmseqnet.models.layers import QuerySceneFuser


def test_fuser_by_hand():
    fuser = QuerySceneFuser(num_features=2, temperature=0.2).eval()
    z = fuser(torch.tensor([[3.0, 0.0]]), torch.tensor([[0.0, 2.0]]))
    # normalise(s) = (0, 1); gate = sigmoid((1, 0) / 0.2) = (s(5), 0.5).
    expected = torch.tensor([[0.0, 0.5]]) / math.sqrt(1 + 1e-5)
    torch.testing.assert_close(z, expected)


def test_folded_equals_forward_in_eval():
    torch.manual_seed(0)
    fuser = QuerySceneFuser(num_features=8)
    fuser.norm.running_mean.normal_()
    fuser.norm.running_var.uniform_(0.5, 2)
    fuser.norm.weight.data.normal_()
    fuser.norm.bias.data.normal_()
    fuser.eval()
    queries, scenes = torch.randn(3, 8), torch.randn(5, 8)
    gates, offsets = fuser.folded(queries)
    folded = gates[:, None] * torch.nn.functional.normalize(
        scenes, dim=-1)[None] + offsets[:, None]
    torch.testing.assert_close(folded, fuser(queries[:, None], scenes[None]))


def test_pairs_share_batch_statistics_in_training():
    fuser = QuerySceneFuser(num_features=4).train()
    z = fuser(torch.randn(3, 1, 4), torch.randn(1, 5, 4))
    assert z.shape == (3, 5, 4)
    torch.testing.assert_close(
        z.reshape(-1, 4).mean(0), torch.zeros(4), atol=1e-5, rtol=0)
