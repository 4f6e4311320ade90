"""Write a synthetic person-search dataset in the CUHK-SYSU or PRW format,
or synthetic camera videos of people walking through (``--format video``).

Examples:
    python tools/misc/generate_synthetic_dataset.py --format prw \
        --out data/synthetic_prw --seed 0 --num-train-images 200 \
        --num-test-images 200 --num-identities 120
    python tools/misc/generate_synthetic_dataset.py --format video \
        --out data/synthetic_video --num-videos 2 --num-identities 3 \
        --num-frames 100
"""
import argparse

from mmseqnet.datasets.synthetic import (STANDARD_GALLERY_SIZES,
                                         generate_cuhk_sysu, generate_prw,
                                         generate_videos)

# --num-identities when not given: people in the datasets' images, people
# walking through every camera of the videos.
_DEFAULT_IDENTITIES = dict(prw=40, cuhk_sysu=40, video=3)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--format', required=True,
                        choices=['prw', 'cuhk_sysu', 'video'])
    parser.add_argument('--out', required=True, help='dataset root to write')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--num-train-images', type=int, default=40)
    parser.add_argument('--num-test-images', type=int, default=60)
    parser.add_argument(
        '--num-identities', type=int,
        help=f'labeled people (default: {_DEFAULT_IDENTITIES})')
    parser.add_argument(
        '--num-test-identities', type=int,
        help='prw only: how many of the identities are test identities '
        '(default: half)')
    parser.add_argument(
        '--gallery-sizes', type=int, nargs='+',
        help=f'cuhk_sysu only: TestG<N>.mat files, from '
        f'{STANDARD_GALLERY_SIZES} (default: every size that fits)')
    video = parser.add_argument_group(
        'video only', 'cam<k>.mp4 videos and cam<k>.json ground truth')
    video.add_argument('--num-videos', type=int, default=2,
                       help='cameras, one video each')
    video.add_argument('--num-passersby', type=int, default=1,
                       help='unlabeled people walking through each video')
    video.add_argument('--num-frames', type=int, default=100)
    video.add_argument('--fps', type=float, default=10.0)
    video.add_argument('--frame-size', type=int, nargs=2, default=(480, 270),
                       metavar=('WIDTH', 'HEIGHT'))
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    num_identities = args.num_identities
    if num_identities is None:
        num_identities = _DEFAULT_IDENTITIES[args.format]
    if args.format == 'video':
        for name in ('num_test_identities', 'gallery_sizes'):
            if getattr(args, name) is not None:
                raise SystemExit(
                    f'--{name.replace("_", "-")} does not apply to video')
        summary = generate_videos(
            args.out,
            seed=args.seed,
            num_videos=args.num_videos,
            num_identities=num_identities,
            num_passersby=args.num_passersby,
            num_frames=args.num_frames,
            fps=args.fps,
            frame_size=tuple(args.frame_size))
        for video in summary['videos']:
            walks = video['ground_truth']['walks']
            print(f'{video["video"]}: {args.num_frames} frames, '
                  f'{len(walks)} people walking through; ground truth '
                  f'{video["annotations"]}')
        return
    common = dict(
        seed=args.seed,
        num_train_images=args.num_train_images,
        num_test_images=args.num_test_images,
        num_identities=num_identities)
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
