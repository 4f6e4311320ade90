"""Time each stage of SeqNet inference on one frame, against the CPU's peak.

The model runs its own ``test_step`` (data preprocessor, then ``predict``);
forward hooks on its modules mark where each stage starts and ends, so the
tool times the code that inference runs, not a copy of it. Stages between
two hooked modules are the post-processing that runs there: the RPN's
decoding and NMS, the inter-stage NMS, the final NMS and outputs.

Paths: ``gallery`` (detect and embed every person), ``query`` (embed a
given box only) and ``query_context`` (the query with the CBGM context: the
gallery path with the box forced in).

Each stage's floating-point work is counted once with
:class:`torch.utils.flop_counter.FlopCounterMode` (convolutions and matrix
products; RoIAlign and NMS count as none) and divided by its median time;
the peak is what this process gets from a large float32 matrix product
(``torch.mm`` of 2048x2048 matrices) with the same threads.

Example::

    python tools/analysis_tools/benchmark_stages.py configs/seqnet_prw.py \\
        --checkpoint model.pth --threads 1 --repeats 5
"""
import argparse
import statistics
import time
from collections import defaultdict
from contextlib import contextmanager
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
from mmdet.apis import init_detector
from mmdet.structures import DetDataSample
from mmengine.config import DictAction
from torch.utils.flop_counter import FlopCounterMode

from mmseqnet.testing import reference_path
from mmseqnet.utils.machine import cpu_name

PATHS = ('gallery', 'query', 'query_context')
FUSION_STEPS = ('fold_bn', 'sparse_roi_align', 'channels_last')
# Modules whose calls delimit the stages, in the order inference calls them.
HOOKED = ('data_preprocessor', 'backbone', 'neck', 'rpn_head',
          'roi_head.bbox_roi_extractor', 'roi_head.box_head',
          'roi_head.bbox_head', 'roi_head.reid_head',
          'roi_head.embedding_head', 'roi_head.reid_bbox_head')
MODULE_STAGES = {
    'data_preprocessor': 'data preprocessor',
    'backbone': 'backbone',
    'neck': 'neck',
    'rpn_head': 'RPN: conv head',
    'roi_head.box_head': 'first head: res5',
    'roi_head.bbox_head': 'first head: predictor',
    'roi_head.reid_head': 'second head: res5',
    'roi_head.embedding_head': 'embedding (NAE)',
    'roi_head.reid_bbox_head': 'second head: box regressor',
}
# What runs between the end of a hooked module and the next hooked call.
AFTER_STAGES = {
    'rpn_head': 'RPN: proposals (decode, NMS)',
    'roi_head.bbox_head': 'inter-stage NMS',
}
# The RoI extractor belongs to the head whose res5 stage it feeds.
EXTRACTOR_STAGES = {
    'roi_head.box_head': 'first head: RoIAlign',
    'roi_head.reid_head': 'second head: RoIAlign',
}
LAST_STAGE = 'final NMS and outputs'
OTHER = 'other (between the stages)'


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Time each stage of SeqNet inference on one frame')
    parser.add_argument('config')
    parser.add_argument('--checkpoint', help='weights (default: random)')
    parser.add_argument(
        '--image',
        help='BGR image file (default: the reference image if present, '
        'else a random frame of --size)')
    parser.add_argument('--size', nargs=2, type=int, default=(900, 1500),
                        metavar=('H', 'W'), help='random frame size')
    parser.add_argument(
        '--query-bbox', nargs=4, type=float, metavar=('X1', 'Y1', 'X2', 'Y2'),
        help='query box in image pixels (default: a person-sized box in '
        'the middle of the frame)')
    parser.add_argument('--paths', nargs='+', choices=PATHS,
                        default=['gallery', 'query'])
    parser.add_argument('--threads', type=int,
                        help='torch CPU threads (default: torch\'s)')
    parser.add_argument('--repeats', type=int, default=5,
                        help='timed runs per path (the median is shown)')
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument(
        '--unfused', action='store_true',
        help='run the model as built, without fuse_for_inference()')
    parser.add_argument(
        '--skip', nargs='+', choices=FUSION_STEPS, default=[],
        help='steps of fuse_for_inference() to leave out')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, as tools/test.py')
    return parser.parse_args()


class StageTimer:
    """Records when each hooked module starts and ends.

    Args:
        model (torch.nn.Module): The detector.
        names (Sequence[str]): Dotted names of the modules to hook; absent
            ones are skipped.
    """

    def __init__(self, model: torch.nn.Module, names: Sequence[str]) -> None:
        modules = dict(model.named_modules())
        self.modules = {n: modules[n] for n in names if n in modules}
        self.events: List[Tuple[str, str, float, float]] = []
        self.flop_counter: Optional[FlopCounterMode] = None
        self._depth = 0

    def _flops(self) -> float:
        return 0.0 if self.flop_counter is None else float(
            self.flop_counter.get_total_flops())

    def _mark(self, kind: str, name: str) -> None:
        self.events.append((kind, name, time.perf_counter(), self._flops()))

    @contextmanager
    def hooked(self):
        """Hook the modules for the duration of the block."""

        def pre_hook(name):

            def hook(module, args):
                # Only the outermost hooked call delimits a stage.
                if self._depth == 0:
                    self._mark('start', name)
                self._depth += 1

            return hook

        def post_hook(name):

            def hook(module, args, output):
                self._depth -= 1
                if self._depth == 0:
                    self._mark('end', name)

            return hook

        handles = []
        for name, module in self.modules.items():
            handles.append(module.register_forward_pre_hook(pre_hook(name)))
            handles.append(module.register_forward_hook(post_hook(name)))
        try:
            yield self
        finally:
            for handle in handles:
                handle.remove()

    def run(self, fn) -> Tuple[Dict[str, float], Dict[str, float], object]:
        """Run ``fn()`` once; seconds and FLOPs of each stage, and its output.
        """
        self.events = []
        self._depth = 0
        with self.hooked():
            self._mark('start', None)
            output = fn()
            self._mark('end', None)
        return (*self._stages(), output)

    def _stages(self) -> Tuple[Dict[str, float], Dict[str, float]]:
        seconds, flops = defaultdict(float), defaultdict(float)
        for i, (kind, name, t, f) in enumerate(self.events[:-1]):
            _, next_name, next_t, next_f = self.events[i + 1]
            if kind == 'start' and name == 'roi_head.bbox_roi_extractor':
                fed = next((e[1] for e in self.events[i + 2:]
                            if e[0] == 'start'), None)
                stage = EXTRACTOR_STAGES.get(fed, 'RoIAlign')
            elif kind == 'start' and name is not None:
                stage = MODULE_STAGES[name]
            elif next_name is None:
                stage = LAST_STAGE
            else:
                stage = AFTER_STAGES.get(name, OTHER)
            seconds[stage] += next_t - t
            flops[stage] += next_f - f
        # The glue between modules (argument packing, splits) goes last.
        for table in (seconds, flops):
            if OTHER in table:
                table[OTHER] = table.pop(OTHER)
        return dict(seconds), dict(flops)


def peak_gflops(repeats: int = 5, size: int = 2048) -> float:
    """Best float32 GFLOP/s of ``torch.mm`` on square matrices."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    torch.mm(a, b)
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def load_frame(args) -> Tuple[np.ndarray, str]:
    """The BGR frame to time and a description of it."""
    path = args.image
    if path is None:
        candidate = reference_path('seqnet_official', 'image.png')
        path = str(candidate) if candidate.is_file() else None
    if path is None:
        rng = np.random.default_rng(0)
        return rng.integers(0, 256, (*args.size, 3),
                            dtype=np.uint8), 'random frame'
    frame = cv2.imread(path)
    if frame is None:
        raise FileNotFoundError(f'--image {path}: not a readable image')
    return frame, path


def make_data(frame: np.ndarray, path: str,
              query_bbox: Sequence[float]) -> dict:
    """``test_step`` input for one path, as ``PackDetInputs`` packs it."""
    h, w = frame.shape[:2]
    meta = dict(img_id=0, img_path=None, ori_shape=(h, w), img_shape=(h, w),
                scale_factor=(1.0, 1.0))
    if path != 'gallery':
        meta.update(sample_type='query',
                    query_bbox=np.asarray(query_bbox, np.float32))
    inputs = torch.from_numpy(np.ascontiguousarray(frame.transpose(2, 0, 1)))
    return dict(inputs=[inputs], data_samples=[DetDataSample(metainfo=meta)])


def time_path(model, timer: StageTimer, data: dict, args):
    """Median seconds per stage, FLOPs per stage and the output of a path."""

    def step():
        with torch.no_grad():
            return model.test_step(data)

    for _ in range(args.warmup):
        step()
    runs = [timer.run(step) for _ in range(args.repeats)]
    timer.flop_counter = FlopCounterMode(display=False)
    with timer.flop_counter:
        _, flops, output = timer.run(step)
    timer.flop_counter = None
    stages = list(runs[0][0])
    seconds = {
        s: statistics.median(run[0].get(s, 0.0) for run in runs)
        for s in stages
    }
    total = statistics.median(sum(run[0].values()) for run in runs)
    return seconds, total, flops, output


def print_table(title: str, seconds: Dict[str, float], total: float,
                flops: Dict[str, float], peak: float) -> None:
    print(title)
    print(f'{"stage":32s} {"ms":>9s} {"%":>6s} {"GFLOP":>8s} '
          f'{"GFLOP/s":>8s} {"% peak":>7s}')
    for stage, secs in seconds.items():
        gflop = flops.get(stage, 0.0) / 1e9
        rate = gflop / secs if secs > 0 and gflop > 0 else None
        print(f'{stage:32s} {secs * 1000:9.1f} {100 * secs / total:6.1f} '
              f'{gflop:8.2f} '
              + (f'{rate:8.1f} {100 * rate / peak:7.1f}' if rate else
                 f'{"-":>8s} {"-":>7s}'))
    gflop = sum(flops.values()) / 1e9
    print(f'{"total (median of sums)":32s} {total * 1000:9.1f} {100:6.1f} '
          f'{gflop:8.2f} {gflop / total:8.1f} '
          f'{100 * gflop / total / peak:7.1f}')


def main():
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    model = init_detector(
        args.config, args.checkpoint, device='cpu',
        cfg_options=args.cfg_options)
    if args.unfused:
        fusion = 'unfused'
    else:
        model.fuse_for_inference(**{step: False for step in args.skip})
        fusion = 'fuse_for_inference(' + ', '.join(
            f'{step}={step not in args.skip}' for step in FUSION_STEPS) + ')'
    frame, source = load_frame(args)
    h, w = frame.shape[:2]
    query_bbox = args.query_bbox or [w * 0.4, h * 0.2, w * 0.5, h * 0.7]
    peak = peak_gflops()
    print(f'config {args.config} | {source} {h}x{w} | CPU {cpu_name()}, '
          f'{torch.get_num_threads()} threads | torch {torch.__version__} | '
          f'{fusion}')
    print(f'float32 peak (torch.mm 2048x2048): {peak:.1f} GFLOP/s')
    timer = StageTimer(model, HOOKED)
    saved_context = model.test_cfg.get('query_context', False)
    try:
        for path in args.paths:
            model.test_cfg['query_context'] = path == 'query_context'
            seconds, total, flops, output = time_path(
                model, timer, make_data(frame, path, query_bbox), args)
            print()
            print_table(
                f'{path} path: {len(output[0].pred_instances)} output boxes, '
                f'median of {args.repeats} runs', seconds, total, flops, peak)
    finally:
        model.test_cfg['query_context'] = saved_context


if __name__ == '__main__':
    main()
