"""Convert a GFN (SeqNeXt, SeqNeXt + GFN) checkpoint into an mmseqnet one.

Usage: python tools/model_converters/gfn_to_mmseqnet.py IN OUT

IN is a checkpoint of github.com/LukeJaffe/GFN (``{'model': state_dict,
'epoch', 'config', ...}`` or a bare ``state_dict``, float16 or float32, any
ConvNeXt width and depth); OUT loads with mmdet's ``init_detector`` and
``mim test`` using configs/seqnext/seqnext_{gfn_,}{prw,cuhk}.py. GFN's PRW
models have 482 OIM LUT rows where configs/seqnext/seqnext_prw.py has 483:
test them with ``--cfg-options
model.roi_head.embedding_head.loss_reid.num_person_ids=482``. The GFN
image memory is training state GFN does not save: it starts empty.
TorchScript releases are not read (convert the state_dict they were
scripted from).
"""
import argparse

from mmseqnet.models.utils import (convert_checkpoint_file,
                                   convert_gfn_checkpoint)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert a GFN SeqNeXt checkpoint to mmseqnet')
    parser.add_argument('src', help='GFN checkpoint')
    parser.add_argument('dst', help='output mmseqnet checkpoint')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    count = convert_checkpoint_file(args.src, args.dst, convert_gfn_checkpoint)
    print(f'{args.src} -> {args.dst}: {count} tensors')


if __name__ == '__main__':
    main()
