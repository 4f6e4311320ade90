"""Convert an original SeqNet checkpoint into an mmseqnet checkpoint.

Usage: python tools/model_converters/seqnet_to_mmseqnet.py IN OUT

IN is a file of github.com/serend1p1ty/SeqNet (``{"model": state_dict, ...}``
or a bare ``state_dict``, float16 or float32); OUT loads with mmdet's
``init_detector`` and ``mim test`` using configs/seqnet_prw.py or
configs/seqnet_cuhk.py. The OIM tables (training only) keep the original's
sizes: its PRW models have 482 LUT rows where configs/seqnet_prw.py has 483,
so test them with ``--ignore-keys loss_reid`` (or set
``model.roi_head.embedding_head.loss_reid.num_person_ids=482``).
"""
import argparse

from mmseqnet.models.utils import (convert_checkpoint_file,
                                   convert_seqnet_checkpoint)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Convert an original SeqNet checkpoint to mmseqnet')
    parser.add_argument('src', help='original SeqNet checkpoint')
    parser.add_argument('dst', help='output mmseqnet checkpoint')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    count = convert_checkpoint_file(args.src, args.dst,
                                    convert_seqnet_checkpoint)
    print(f'{args.src} -> {args.dst}: {count} tensors')


if __name__ == '__main__':
    main()
