"""Write a synthetic person-search dataset in the CUHK-SYSU or PRW format.

Example:
    python tools/misc/generate_synthetic_dataset.py --format prw \
        --out data/synthetic_prw --seed 0 --num-train-images 200 \
        --num-test-images 200 --num-identities 120
"""
import argparse

from mmseqnet.datasets.synthetic import (STANDARD_GALLERY_SIZES,
                                         generate_cuhk_sysu, generate_prw)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--format', required=True,
                        choices=['prw', 'cuhk_sysu'])
    parser.add_argument('--out', required=True, help='dataset root to write')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-train-images', type=int, default=40)
    parser.add_argument('--num-test-images', type=int, default=60)
    parser.add_argument('--num-identities', type=int, default=40)
    parser.add_argument(
        '--num-test-identities', type=int,
        help='prw only: how many of the identities are test identities '
        '(default: half)')
    parser.add_argument(
        '--gallery-sizes', type=int, nargs='+',
        help=f'cuhk_sysu only: TestG<N>.mat files, from '
        f'{STANDARD_GALLERY_SIZES} (default: every size that fits)')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    common = dict(
        seed=args.seed,
        num_train_images=args.num_train_images,
        num_test_images=args.num_test_images,
        num_identities=args.num_identities)
    if args.format == 'cuhk_sysu':
        if args.num_test_identities is not None:
            raise SystemExit('--num-test-identities applies to prw only')
        summary = generate_cuhk_sysu(
            args.out, gallery_sizes=args.gallery_sizes, **common)
        print(f'{args.out}: {len(summary["train_images"])} train / '
              f'{len(summary["test_images"])} test images, '
              f'{summary["num_train_identities"]} train identities, '
              f'{len(summary["queries"])} queries, gallery sizes '
              f'{summary["gallery_sizes"]}')
    else:
        if args.gallery_sizes is not None:
            raise SystemExit('--gallery-sizes applies to cuhk_sysu only')
        summary = generate_prw(
            args.out, num_test_identities=args.num_test_identities, **common)
        print(f'{args.out}: {len(summary["train_frames"])} train / '
              f'{len(summary["test_frames"])} test frames, '
              f'{len(summary["train_ids"])} train identities, '
              f'{len(summary["queries"])} queries')


if __name__ == '__main__':
    main()
