"""Starting torch.distributed for the tools that run without a Runner."""
import torch
from mmengine.dist import init_dist


def init_distributed(launcher: str, timeout: int) -> None:
    """MMEngine's ``init_dist``: NCCL with a GPU per rank, else gloo.

    MMEngine's launchers pin each rank to its CUDA device first, which a
    CPU-only torch cannot do (it has no ``torch._C._cuda_setDevice``); on
    CPU there is no device to pin, so the pinning is skipped for the
    duration of the call (only then: see :mod:`mmseqnet.utils.compat`).

    Args:
        launcher (str): ``'pytorch'`` (torchrun) or ``'slurm'``.
        timeout (int): Seconds a collective may wait for the other ranks.
    """
    if torch.cuda.is_available():
        init_dist(launcher, backend='nccl', timeout=timeout)
        return
    set_device = torch.cuda.set_device
    torch.cuda.set_device = lambda device: None
    try:
        init_dist(launcher, backend='gloo', timeout=timeout)
    finally:
        torch.cuda.set_device = set_device
