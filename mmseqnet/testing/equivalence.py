"""Comparing a model's outputs with reference outputs made on another CPU.

The reference outputs of the original implementations were computed in
float32 on one CPU. The same computation on another CPU kind runs other
kernels (AVX-512, AVX2 or SSE paths of oneDNN convolutions and BLAS
matrix products, other blocking and summation orders), so its float32
results differ in the last bits, and ResNet-50 with random weights and
BatchNorm statistics amplifies those bits layer by layer.

Measured spread, max abs difference from
``seqnet_official/expected_outputs.pth`` (900x1500 image, PRW config;
"AVX2" and "SSE": this Intel Xeon with AVX-512 made to run the AVX2 or
SSE kernels by ``ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2
MKL_ENABLE_INSTRUCTIONS=AVX2``, resp. ``default``/``SSE41``/``SSE4_2``):

=========================  =========  ========  ========  =========
output                     AMD EPYC   AVX2      SSE       AVX-512
                           (issue)
=========================  =========  ========  ========  =========
end to end
RPN proposals (px)         0.044      0.044     0.041     0
proposals / larger side               2.9e-5    9.2e-5    0
gallery/context boxes      0.50 px    0.50 px   0.36 px   0.0024 px
scores                     7e-5       6.7e-5    7.0e-5    3.6e-7
embeddings                 8e-5       1.05e-4   8.0e-5    6.4e-7
RoI heads on the reference's proposals
boxes (px)                            0.0052    0.0040    0.0024
boxes / larger box side               7.7e-6    6.1e-6    2.8e-6
scores                                9.5e-7    1.2e-6    3.6e-7
embeddings                            1.3e-6    1.2e-6    6.4e-7
=========================  =========  ========  ========  =========

Emulating AVX2 reproduces the AMD EPYC's differences to the digit; they
come from the proposals: 0.044 px on a 1500x380 proposal (3e-5 of its
side) moves the RoIs, and the heads' box regression amplifies that on
near-degenerate random boxes (0.50 px on a 1224x11 px box). Fed the
reference's own proposals, the heads differ by 100 times less. Hence the
stage-wise comparison (:func:`fixed_proposals`) and a box tolerance that
scales with the box, as float32 rounding and box regression do:
``atol + rtol * size`` per coordinate (:func:`box_tolerance`), size being
the larger side of the reference box (a coordinate's error follows the
box's size even along its short side, through the RoI features). The
defaults (1e-3 px + 1e-4 of the size for boxes, 3e-4 for proposals, whose
error follows the box before clipping to the image; 1e-5 for scores and
embeddings) hold the largest measured spread with a margin of 3x
(proposals) to 8x (heads), and each of these changes fails them: +1e-3 on
one weight of the first head's classifier, of the re-ID head's regressor,
of the embedding projector (embeddings off by 2.6e-5: a 1e-4 tolerance
would pass it), of the RPN's conv or of the backbone's first conv;
RoIAlign's sampling ratio 0 instead of 2, or ``aligned`` flipped. (A final
NMS threshold of 0.55 instead of 0.5 changes nothing on this image.)

Rows of equal score may come out in another order on another CPU;
:func:`match_rows` pairs them by box and lets only such near-ties swap.
Exact results (given query boxes, forced scores of 1) are compared
exactly, without these helpers.
"""
import contextlib
from typing import Iterator, List, Optional

import torch
from mmengine.structures import InstanceData
from torch import Tensor

# Box coordinates: absolute floor (px) and fraction of the box's size.
BOX_ATOL = 1e-3
BOX_RTOL = 1e-4
PROPOSAL_RTOL = 3e-4
# Scores in [0, 1] and unit (or score-weighted) embeddings, of heads fed
# with the reference's proposals.
SCORE_ATOL = 1e-5
EMBEDDING_ATOL = 1e-5


def box_tolerance(expected: Tensor,
                  atol: float = BOX_ATOL,
                  rtol: float = BOX_RTOL) -> Tensor:
    """Per-coordinate tolerance of boxes compared with ``expected``.

    Args:
        expected (Tensor): Reference xyxy boxes (N, 4).
        atol (float): Absolute part, pixels. Defaults to ``BOX_ATOL``.
        rtol (float): Part proportional to the larger side of each
            reference box. Defaults to ``BOX_RTOL``.

    Returns:
        Tensor: (N, 4) tolerances in pixels.
    """
    sides = (expected[:, 2:] - expected[:, :2]).abs()
    size = sides.max(dim=1, keepdim=True).values
    return (atol + rtol * size).expand(-1, 4)


def _worst(diff: Tensor, tol: Tensor) -> str:
    ratio = diff / tol
    row = int(ratio.flatten().argmax()) // ratio.shape[-1] \
        if ratio.dim() > 1 else int(ratio.argmax())
    return (f'worst row {row}: difference {diff[row].max().item():.3g} '
            f'vs tolerance {tol[row].min().item():.3g}')


def _nearest(boxes: Tensor, box: Tensor) -> str:
    """The row of ``boxes`` nearest to ``box``, for messages."""
    if not len(boxes):
        return 'none'
    diff = (boxes.float() - box).abs().max(dim=1).values
    j = int(diff.argmin())
    return f'{j} ({boxes[j].tolist()}, off by {diff[j].item():.3g} px)'


def assert_boxes_close(actual: Tensor,
                       expected: Tensor,
                       atol: float = BOX_ATOL,
                       rtol: float = BOX_RTOL,
                       name: str = 'boxes') -> None:
    """Assert boxes equal the reference within :func:`box_tolerance`.

    Args:
        actual (Tensor): Boxes (N, 4), xyxy, row for row with ``expected``.
        expected (Tensor): Reference boxes (N, 4).
        atol (float): See :func:`box_tolerance`. Defaults to ``BOX_ATOL``.
        rtol (float): See :func:`box_tolerance`. Defaults to ``BOX_RTOL``.
        name (str): What is compared, for the message. Defaults to 'boxes'.
    """
    assert actual.shape == expected.shape, \
        f'{name}: shape {tuple(actual.shape)} != {tuple(expected.shape)}'
    if not len(expected):
        return
    diff = (actual.float() - expected.float()).abs()
    tol = box_tolerance(expected.float(), atol, rtol)
    bad = diff > tol
    assert not bad.any(), (f'{name}: {int(bad.any(1).sum())} of '
                           f'{len(expected)} rows beyond tolerance; '
                           f'{_worst(diff, tol)}')


def assert_values_close(actual: Tensor,
                        expected: Tensor,
                        atol: float,
                        name: str = 'values') -> None:
    """Assert max abs difference <= ``atol`` (scores, embeddings).

    Args:
        actual (Tensor): Values (N, ...), row for row with ``expected``.
        expected (Tensor): Reference values of the same shape.
        atol (float): Largest allowed absolute difference.
        name (str): What is compared, for the message.
            Defaults to 'values'.
    """
    assert actual.shape == expected.shape, \
        f'{name}: shape {tuple(actual.shape)} != {tuple(expected.shape)}'
    if not expected.numel():
        return
    diff = (actual.float() - expected.float()).abs()
    worst = diff.max().item()
    row = int(diff.flatten().argmax()) // max(diff[0].numel(), 1)
    assert worst <= atol, (f'{name}: max abs difference {worst:.3g} > '
                           f'{atol:.3g} (row {row})')


def match_rows(actual_boxes: Tensor,
               expected_boxes: Tensor,
               actual_scores: Optional[Tensor] = None,
               expected_scores: Optional[Tensor] = None,
               atol: float = BOX_ATOL,
               rtol: float = BOX_RTOL,
               score_atol: float = SCORE_ATOL) -> Tensor:
    """Pair output rows with reference rows, allowing near-ties to swap.

    Each reference row is paired with the actual row of the same position
    if that row's box is within tolerance, else with another unpaired
    actual row whose box is; with scores given, a row may only move to a
    position whose reference score is within ``2 * score_atol`` of its own
    (rows sorted by score swap only when their scores tie within what the
    CPU changes).

    Args:
        actual_boxes (Tensor): Output boxes (N, 4).
        expected_boxes (Tensor): Reference boxes (N, 4).
        actual_scores (Tensor, optional): Output scores (N,).
            Defaults to None.
        expected_scores (Tensor, optional): Reference scores (N,).
            Defaults to None.
        atol (float): See :func:`box_tolerance`. Defaults to ``BOX_ATOL``.
        rtol (float): See :func:`box_tolerance`. Defaults to ``BOX_RTOL``.
        score_atol (float): Score tolerance. Defaults to ``SCORE_ATOL``.

    Returns:
        Tensor: (N,) long, ``order[i]`` the actual row of reference row
        ``i``; index the outputs with it before comparing them.
    """
    assert len(actual_boxes) == len(expected_boxes), (
        f'{len(actual_boxes)} output rows, {len(expected_boxes)} in the '
        'reference')
    expected = expected_boxes.float()
    tol = box_tolerance(expected, atol, rtol)
    # fits[i, j]: actual row j is within tolerance of reference row i
    box_fits = ((actual_boxes.float()[None] - expected[:, None]).abs() <=
                tol[:, None]).all(dim=2)
    fits = box_fits.clone()
    if expected_scores is not None:
        # actual row j may take reference row i's place only if their
        # reference scores tie within the tolerance
        near = (expected_scores.float()[:, None] -
                expected_scores.float()[None]).abs() <= 2 * score_atol
        fits &= near
    order = torch.full((len(expected), ), -1, dtype=torch.long)
    taken = torch.zeros(len(expected), dtype=torch.bool)
    for i in range(len(expected)):
        if fits[i, i] and not taken[i]:
            j = i
        else:
            candidates = (fits[i] & ~taken).nonzero().flatten()
            assert len(candidates), (
                f'reference row {i} ({expected[i].tolist()}) has no output '
                'row within the box tolerance' +
                (' at a score-tied position'
                 if box_fits[i].any() else '') +
                f'; nearest output row {_nearest(actual_boxes, expected[i])}')
            j = int(candidates[0])
        order[i] = j
        taken[j] = True
    return order


def assert_proposals_close(proposals: Tensor, expected: Tensor) -> None:
    """Assert RPN proposals equal the reference's, rows paired by
    :func:`match_rows`, within ``PROPOSAL_RTOL`` of each box's size.

    Args:
        proposals (Tensor): Output proposals (N, 4).
        expected (Tensor): Reference proposals (N, 4).
    """
    order = match_rows(proposals, expected, rtol=PROPOSAL_RTOL)
    assert_boxes_close(
        proposals[order], expected, rtol=PROPOSAL_RTOL, name='proposals')


def assert_detections_close(pred: InstanceData,
                            boxes: Tensor,
                            scores: Tensor,
                            embeddings: Optional[Tensor] = None,
                            name: str = 'detections') -> None:
    """Assert detections equal the reference, rows paired by
    :func:`match_rows`, with the default tolerances.

    Args:
        pred (InstanceData): Output with ``bboxes``, ``scores`` and
            (with ``embeddings`` given) ``embeddings``.
        boxes (Tensor): Reference boxes (N, 4).
        scores (Tensor): Reference scores (N,).
        embeddings (Tensor, optional): Reference embeddings (N, D).
            Defaults to None.
        name (str): What is compared, for the messages.
            Defaults to 'detections'.
    """
    order = match_rows(pred.bboxes, boxes, pred.scores, scores)
    assert_boxes_close(pred.bboxes[order], boxes, name=f'{name} boxes')
    assert_values_close(
        pred.scores[order], scores, SCORE_ATOL, name=f'{name} scores')
    if embeddings is not None:
        assert_values_close(
            pred.embeddings[order],
            embeddings,
            EMBEDDING_ATOL,
            name=f'{name} embeddings')


@contextlib.contextmanager
def fixed_proposals(model: torch.nn.Module,
                    proposals: Tensor) -> Iterator[List[InstanceData]]:
    """Make ``model.rpn_head.predict`` return ``proposals`` for every image.

    Feeds the reference's own proposals to the RoI heads, so that their
    outputs are compared without the RPN's differences compounding.

    Args:
        model (nn.Module): A two-stage detector with ``rpn_head``.
        proposals (Tensor): (P, 4) xyxy proposals in input pixels.

    Yields:
        list[InstanceData]: The model's own RPN results, one per call, so
        they can be compared as well.
    """
    own = []
    predict = model.rpn_head.predict

    def fixed(x, batch_data_samples, rescale=False):
        own.append(predict(x, batch_data_samples, rescale=rescale))
        return [
            InstanceData(
                bboxes=proposals.clone().to(x[0].device),
                scores=proposals.new_ones(len(proposals)).to(x[0].device))
            for _ in batch_data_samples
        ]

    model.rpn_head.predict = fixed
    try:
        yield own
    finally:
        del model.rpn_head.predict
